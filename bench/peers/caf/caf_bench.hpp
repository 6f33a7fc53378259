// bench/peers/caf/caf_bench.hpp — what the CAF peer benchmarks share. On top of
// the harness troupe's benchmarks use too (bench/harness.hpp: options, checks, completion,
// RSS readings), it adds the CAF actor system's configuration.
//
// Options (parsed and removed from argv before benchmark::Initialize sees them):
//   --workers=N    CAF scheduler threads ("scheduler.max-threads"). Default 0 = one per
//                  hardware thread, as troupe's default; CAF's own default would be
//                  max(hardware threads, 4), i.e. 4 threads on a 2-core machine.
//   --scale=F      multiplies every workload size (default 1); profiling only
//   --timeout=S    seconds a single iteration may take before the run is aborted (default 120)
//
// CAF is used with its defaults (work-stealing scheduler, unlimited max-throughput, default
// spawn flags, dynamically typed event-based actors); nothing is tuned for the benchmarks.
#pragma once

#include <atomic>
#include <caf/all.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "harness.hpp"

namespace caf_bench {

using namespace bench;  // the shared harness: opts(), scaled(), check(), completion, ...

/// The worker count every actor system gets: --workers, or one per hardware thread.
inline unsigned workers() {
  if (opts().workers != 0) return opts().workers;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw != 0 ? hw : 1;
}

/// The configuration every benchmark's actor system uses: CAF's defaults, plus workers()
/// as the scheduler's thread count. The config must outlive the actor_system built from it.
inline std::unique_ptr<caf::actor_system_config> config() {
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->set("scheduler.max-threads", static_cast<std::size_t>(workers()));
  return cfg;
}

/// One actor system plus the config it refers to, destroyed in the right order. Its
/// destructor is CAF's shutdown: it waits for every actor to terminate, then stops the
/// scheduler threads.
struct actor_world {
  std::unique_ptr<caf::actor_system_config> cfg = config();
  caf::actor_system sys{*cfg};
};

/// A counter that handlers on any thread bump without sharing a cache line: each thread
/// gets its own padded slot. CAF keeps no per-runtime "messages handled" statistics (troupe
/// does, in runtime_stats), so the benchmarks that verify a handled count use this instead.
class sharded_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    slots_[slot_index()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t sum() const noexcept {
    std::uint64_t s = 0;
    for (const auto& c : slots_) s += c.v.load(std::memory_order_relaxed);
    return s;
  }

 private:
  static constexpr unsigned kSlots = 64;
  static unsigned slot_index() noexcept {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned index = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return index;
  }
  struct alignas(64) padded {
    std::atomic<std::uint64_t> v{0};
  };
  padded slots_[kSlots];
};

}  // namespace caf_bench
