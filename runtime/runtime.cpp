// runtime/runtime.cpp — the public troupe::runtime, a thin owner of runtime_core.
#include "troupe/runtime.hpp"

#include <string>

#include "sched/runtime_core.hpp"
#include "troupe/error.hpp"

namespace troupe {

runtime::runtime() : runtime(runtime_config{}) {}

runtime::runtime(runtime_config config) : core_(new detail::runtime_core(std::move(config))) {
  core_->start();
}

runtime::~runtime() {
  try {
    core_->shutdown();
  } catch (const error&) {
    // Destroyed on one of its own workers: shutting down there would deadlock. The
    // workers keep the core alive; nothing sane is left but to report it.
    std::terminate();
  }
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
