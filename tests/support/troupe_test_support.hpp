// tests/support/troupe_test_support.hpp — helpers every actor-level test shares.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "troupe/troupe.hpp"

namespace troupe::test {

/// A runtime configuration with `n` workers (and, optionally, a per-turn batch).
inline runtime_config with_workers(unsigned n, unsigned batch = runtime_config{}.batch) {
  runtime_config c;
  c.workers = n;
  c.batch = batch;
  return c;
}

/// Shuts `rt` down and checks the accounting identity every run must keep:
/// sent == handled + dead_lettered, and every spawned actor stopped.
inline void shutdown_and_expect_accounting(runtime& rt) {
  rt.shutdown();
  const runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered)
      << "accounting identity broken: sent=" << s.sent << " handled=" << s.handled
      << " dead_lettered=" << s.dead_lettered;
  EXPECT_EQ(s.spawned, s.stopped) << "every spawned actor must have stopped after shutdown";
}

/// The base seed of a randomized test: TROUPE_TEST_SEED if set (to replay a failure), else
/// a fresh random one. Print it on failure with seed_trace().
inline std::uint64_t base_seed() {
  if (const char* s = std::getenv("TROUPE_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  return std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
}

/// "seed=<n> (rerun with TROUPE_TEST_SEED=<n>)", for SCOPED_TRACE.
inline std::string seed_trace(std::uint64_t seed) {
  return "seed=" + std::to_string(seed) + " (rerun with TROUPE_TEST_SEED=" + std::to_string(seed) +
         ")";
}

/// splitmix64: derives independent streams from one seed.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace troupe::test
