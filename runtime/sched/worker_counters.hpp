// runtime/sched/worker_counters.hpp — statistics a worker thread keeps about itself.
//
// Written only by the owning worker (load + store, no RMW: a plain add on x86), read by
// runtime::stats() from any thread with relaxed loads — a snapshot, exact once the worker
// has been joined (join() synchronizes).
#pragma once

#include <cstdint>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

struct alignas(cache_line) worker_counters {
  atomic<std::uint64_t> sent{0};
  atomic<std::uint64_t> handled{0};
  atomic<std::uint64_t> dead_lettered{0};
  atomic<std::uint64_t> steals{0};
  atomic<std::uint64_t> parks{0};

  /// Owner thread only. relaxed: single writer; readers want a snapshot, no ordering.
  static void add(atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(memory_order_relaxed) + n, memory_order_relaxed);
  }
};

}  // namespace troupe::detail
