// runtime/runtime.cpp — the public troupe::runtime, a thin owner of runtime_core.
#include "troupe/runtime.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include "sched/runtime_core.hpp"
#include "troupe/error.hpp"

namespace troupe {

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
  core_->shutdown();
  core_->release();
}

void runtime::shutdown() { core_->shutdown(); }

runtime_stats runtime::stats() const { return core_->stats(); }

unsigned runtime::workers() const noexcept { return core_->worker_count(); }

namespace detail {
void throw_empty_ref(const char* operation) {
  throw error(std::string(operation) +
              "() through an empty troupe::ref (default-constructed or moved-from)");
}
}  // namespace detail

}  // namespace troupe
