// BM_Spawn — guards the cost of an actor, in time and in memory: spawning from outside the
// pool, the first message to a fresh actor (the idle→runnable transition through the
// injection queue), and closing, draining and reclaiming a million actors at shutdown.
// Its bytes_per_actor counter guards the memory claim "leanest per actor".
//
// Workload (all timed, per iteration): create a runtime; spawn 1,000,000 idle event actors
// with no fields of their own, send each one message through the handle spawn returned
// (then drop the handle, so only the runtime keeps the actor); shut the runtime down and
// destroy it. items = actors.
// bytes_per_actor = (peak RSS during the iteration − RSS before it) / actors, the peak read
// from VmHWM in /proc/self/status after resetting it (and trimming the heap) beforehand. It
// is the whole cost of an idle actor that has handled one message: the actor object, its
// allocator overhead, the runtime's bookkeeping and the message node the mailbox keeps as
// its dummy.
// Verified: after shutdown, stats show 1,000,000 spawned, stopped and handled, no dead
// letters.
//
// Baseline: CAF 0.17, 1,000,000 idle actors ≈ 1.3 GiB peak RSS ≈ 1.3 KB per actor (issue 3
// reference figure); target ≤ 64 bytes of runtime overhead per idle actor.
#include <cstdint>

#include "bench_options.hpp"

namespace {

struct Touch {};

struct Idle : troupe::actor<Idle, Touch> {
  void on(Touch) {}
};

void BM_Spawn(benchmark::State& state) {
  const std::uint64_t actors = bench::scaled(1'000'000);
  double bytes_per_actor_sum = 0;
  for (auto _ : state) {
    const std::uint64_t rss_before = bench::reset_peak_rss();
    troupe::runtime_stats s;

    const auto t0 = bench::steady::now();
    {
      troupe::runtime rt(bench::config());
      for (std::uint64_t i = 0; i < actors; ++i) rt.spawn<Idle>().send(Touch{});
      rt.shutdown();
      s = rt.stats();
    }
    state.SetIterationTime(bench::seconds_since(t0));

    const std::uint64_t peak = bench::proc_status_bytes("VmHWM");
    bytes_per_actor_sum +=
        peak > rss_before ? static_cast<double>(peak - rss_before) / static_cast<double>(actors)
                          : 0.0;
    if (!bench::check(state, peak != 0 && rss_before != 0,
                      "BM_Spawn: cannot read VmHWM/VmRSS from /proc/self/status") ||
        !bench::check(state, s.spawned == actors && s.stopped == actors,
                      "BM_Spawn: spawned " + std::to_string(s.spawned) + ", stopped " +
                          std::to_string(s.stopped) + ", expected " + std::to_string(actors)) ||
        !bench::check_stats(state, s, actors, "BM_Spawn")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * actors));
  state.counters["actors"] = static_cast<double>(actors);
  if (state.iterations() > 0) {
    state.counters["bytes_per_actor"] =
        bytes_per_actor_sum / static_cast<double>(state.iterations());
  }
}

}  // namespace

BENCHMARK(BM_Spawn)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
