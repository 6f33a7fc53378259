// runtime/runtime.cpp — the public troupe::runtime, a thin owner of runtime_core.
#include "troupe/runtime.hpp"

#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "sched/runtime_core.hpp"
#include "troupe/error.hpp"

namespace troupe {
namespace {

// A shutdown(deadline) that gave up on a handler which never returned leaves the core to
// the threads that may still use it: it is never freed, and kept on this list so that it
// stays reachable (a leak checker does not report it; a debugger finds it).
void keep_abandoned(detail::runtime_core* core) {
  static std::mutex mu;
  static auto* list = new std::vector<detail::runtime_core*>;  // never freed, on purpose
  std::lock_guard lock(mu);
  list->push_back(core);
}

}  // namespace

runtime::runtime() : runtime(runtime_config{}) {}

runtime::runtime(runtime_config config) : core_(new detail::runtime_core(std::move(config))) {
  core_->start();
}

runtime::~runtime() {
  if (detail::current_worker_of(core_) != nullptr) {
    // Destroyed on one of its own workers: shutting down there would wait for this very
    // thread. Nothing sane is left but to say so and stop the process.
    std::fputs(
        "troupe: a runtime was destroyed inside one of its own handlers; it cannot shut "
        "down there (it would wait for the worker running that handler). Destroy it from a "
        "thread outside the runtime.\n",
        stderr);
    std::terminate();
  }
  core_->shutdown(std::nullopt);
  if (core_->abandoned()) {
    keep_abandoned(core_);
  } else {
    core_->release();
  }
}

void runtime::shutdown() { (void)core_->shutdown(std::nullopt); }

shutdown_report runtime::shutdown(std::chrono::milliseconds deadline) {
  return core_->shutdown(deadline);
}

runtime_stats runtime::stats() const { return core_->stats(); }

unsigned runtime::workers() const noexcept { return core_->worker_count(); }

bool runtime::unregister_name(std::string_view name) {
  return detail::unregister_name_on(core_, name);
}

namespace detail {
void throw_empty_ref(const char* operation) {
  throw error(std::string(operation) +
              "() through an empty troupe::ref (default-constructed or moved-from)");
}
}  // namespace detail

}  // namespace troupe
