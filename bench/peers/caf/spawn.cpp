// BM_Spawn (CAF peer of bench/macro/spawn.cpp) — the cost of an actor, in time and memory.
//
// Workload (all timed, per iteration): create an actor system; spawn 1,000,000 idle
// event-based actors with no state of their own (function-based, CAF's default spawn),
// send each one message; shut down and destroy the system. items = actors.
// A CAF actor that nothing references is destroyed as soon as it is idle, whereas troupe's
// runtime keeps every spawned actor until shutdown. To measure the same thing — a million
// idle actors alive at once — the benchmark keeps each handle in a std::vector<caf::actor>
// (8 bytes per actor, counted in bytes_per_actor) and releases them all at shutdown, which
// is how CAF reclaims actors; the system's destructor then waits for all of them.
// bytes_per_actor = (peak RSS during the iteration − RSS before it) / actors, read from
// VmHWM exactly as troupe's BM_Spawn does.
// Verified: the registry counts 1,000,000 running actors after the spawns, every actor
// handled its message (a per-thread counter, since CAF keeps no such statistic), and none
// is running after shutdown.
#include <cstdint>
#include <vector>

#include "caf_bench.hpp"

namespace {

using touch_atom = caf::atom_constant<caf::atom("touch")>;

caf_bench::sharded_counter handled;

caf::behavior idle(caf::event_based_actor*) {
  return {
      [](touch_atom) { handled.add(); },
  };
}

void BM_Spawn(benchmark::State& state) {
  const std::uint64_t actors = caf_bench::scaled(1'000'000);
  double bytes_per_actor_sum = 0;
  for (auto _ : state) {
    const std::uint64_t handled_before = handled.sum();
    const std::uint64_t rss_before = caf_bench::reset_peak_rss();
    std::size_t running_after_spawn = 0, running_after_shutdown = 0;

    const auto t0 = caf_bench::steady::now();
    {
      caf_bench::actor_world w;
      std::vector<caf::actor> keep;
      keep.reserve(actors);
      for (std::uint64_t i = 0; i < actors; ++i) {
        keep.push_back(w.sys.spawn(idle));
        caf::anon_send(keep.back(), touch_atom::value);
      }
      running_after_spawn = w.sys.registry().running();
      keep.clear();
      keep.shrink_to_fit();
      w.sys.await_all_actors_done();
      running_after_shutdown = w.sys.registry().running();
    }
    state.SetIterationTime(caf_bench::seconds_since(t0));

    const std::uint64_t peak = caf_bench::proc_status_bytes("VmHWM");
    bytes_per_actor_sum +=
        peak > rss_before ? static_cast<double>(peak - rss_before) / static_cast<double>(actors)
                          : 0.0;
    const std::uint64_t handled_now = handled.sum() - handled_before;
    if (!caf_bench::check(state, peak != 0 && rss_before != 0,
                          "BM_Spawn: cannot read VmHWM/VmRSS from /proc/self/status") ||
        !caf_bench::check(state, running_after_spawn == actors && running_after_shutdown == 0,
                          "BM_Spawn: " + std::to_string(running_after_spawn) +
                              " running after spawning, " + std::to_string(running_after_shutdown) +
                              " after shutdown, expected " + std::to_string(actors) + " and 0") ||
        !caf_bench::check(state, handled_now == actors,
                          "BM_Spawn: handled " + std::to_string(handled_now) + ", expected " +
                              std::to_string(actors))) {
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
