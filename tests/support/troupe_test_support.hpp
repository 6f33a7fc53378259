// tests/support/troupe_test_support.hpp — helpers every actor-level test shares.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <utility>

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

/// Fails the current test because `what` did not happen within `limit`, then ends the
/// process: a hung runtime cannot be torn down (its destructor would wait for it too), and a
/// test that fails says more than one that hangs until ctest's timeout.
[[noreturn]] inline void watchdog_expired(const std::string& what, std::chrono::seconds limit) {
  ADD_FAILURE() << "watchdog: still waiting after " << limit.count() << " s for " << what
                << " (a deadlock?)";
  std::fflush(stdout);
  std::fprintf(stderr, "watchdog: still waiting after %lld s for %s; ending the test process\n",
               static_cast<long long>(limit.count()), what.c_str());
  std::_Exit(1);
}

/// Runs `fn` — a call that never returns if the runtime deadlocks, such as join() or
/// shutdown() — on a thread of its own and waits at most `limit` for it (wide on purpose: the
/// machine may be loaded; a watchdog, not a timing assertion). If it has not returned by then,
/// watchdog_expired(what). An exception from `fn` is rethrown here.
template <class Fn>
void returns_within(const std::string& what, Fn&& fn,
                    std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread runner([&fn, &done] {
    try {
      std::forward<Fn>(fn)();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  if (finished.wait_for(limit) != std::future_status::ready) watchdog_expired(what, limit);
  runner.join();
  finished.get();
}

/// Polls `done` until it returns true; if it still has not after `limit`,
/// watchdog_expired(what).
template <class Pred>
void wait_until(const std::string& what, Pred&& done,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) watchdog_expired(what, limit);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
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
