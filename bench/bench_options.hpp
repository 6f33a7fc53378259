// bench/bench_options.hpp — what troupe's benchmarks add to the shared harness
// (bench/harness.hpp): the runtime configuration and the check of a runtime's counters.
// Only the public API (<troupe/troupe.hpp>) is used, so what is measured is a user's path.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <troupe/troupe.hpp>

#include "harness.hpp"

namespace bench {

/// The runtime configuration every macro benchmark uses: defaults, plus --workers.
inline troupe::runtime_config config() {
  troupe::runtime_config c;
  c.workers = opts().workers;
  return c;
}

/// Checks a runtime's counters after shutdown(): nothing lost (sent == handled +
/// dead_lettered), no dead letters, and exactly `handled` messages handled.
inline bool check_stats(benchmark::State& state, const troupe::runtime_stats& s,
                        std::uint64_t handled, const char* bench_name) {
  auto u = [](std::uint64_t v) { return std::to_string(v); };
  return check(state, s.sent == s.handled + s.dead_lettered,
               std::string(bench_name) + ": stats sent " + u(s.sent) + " != handled " +
                   u(s.handled) + " + dead_lettered " + u(s.dead_lettered)) &&
         check(state, s.dead_lettered == 0,
               std::string(bench_name) + ": " + u(s.dead_lettered) + " dead letters") &&
         check(
             state, s.handled == handled,
             std::string(bench_name) + ": handled " + u(s.handled) + ", expected " + u(handled)) &&
         check(state, s.failed == 0, std::string(bench_name) + ": an actor failed");
}

}  // namespace bench
