// runtime/sched/worker_counters.hpp — statistics a worker thread keeps about itself.
//
// Written only by the owning worker (load + store, no RMW: a plain add on x86), read by
// runtime::stats() from any thread with relaxed loads — a snapshot, exact once the worker
// has been joined (join() synchronizes) — and by shutdown's drain (runtime_core::
// in_flight()), which reads handled and dead_lettered with acquire, then sent.
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
  atomic<std::uint64_t> muted{0};  // actors muted on a full bounded mailbox
  // Messages moved into / out of an actor's stash (message_stash.hpp) on this worker.
  atomic<std::uint64_t> stashed{0};
  atomic<std::uint64_t> unstashed{0};

  /// Owner thread only. The load is relaxed: this thread is the only writer. The store is
  /// release (a plain store on x86): a drain that reads `handled` with acquire and sees a
  /// message counted then also sees its send counted, since the send's count came before
  /// its push, which the pop that led to the handling synchronized with.
  static void add(atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(memory_order_relaxed) + n, memory_order_release);
  }
};

}  // namespace troupe::detail
