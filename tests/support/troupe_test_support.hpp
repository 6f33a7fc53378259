// tests/support/troupe_test_support.hpp — helpers every actor-level test shares.
#pragma once

#include <gtest/gtest.h>

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

}  // namespace troupe::test
