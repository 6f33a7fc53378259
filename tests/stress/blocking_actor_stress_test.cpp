// Lifecycle races of blocking actors: close() racing with sends and with recv_for() timers,
// close before the fiber starts, joins from several threads, and shutdown while fibers are
// parked in recv(), recv_for() and selective receives. Each round is a fresh runtime with a
// seed derived from one base seed (printed on failure; rerun with TROUPE_TEST_SEED=<n>).
// Scaled down under the sanitizers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::seed_trace;

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

#if defined(__SANITIZE_THREAD__)
constexpr int kRounds = 6;
constexpr int kPerSender = 300;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kRounds = 10;
constexpr int kPerSender = 1'000;
#else
constexpr int kRounds = 30;
constexpr int kPerSender = 3'000;
#endif

struct Seq {
  int sender;
  int n;
};

// Receives with a mix of recv() and short recv_for() timeouts (chosen by its seed) and checks
// that each sender's messages arrive as a gap-free prefix 0, 1, 2, ...
struct PrefixChecker : troupe::blocking_actor<PrefixChecker, Seq> {
  PrefixChecker(int senders, std::uint64_t seed)
      : next_(static_cast<std::size_t>(senders), 0), rng_(seed) {}
  void run() {
    for (;;) {
      std::optional<Seq> m;
      if (rng_() % 3 == 0) {
        m = recv();
      } else {
        m = recv_for(std::chrono::microseconds(rng_() % 300));
        if (!m) continue;
      }
      int& want = next_[static_cast<std::size_t>(m->sender)];
      if (m->n != want) bad_.fetch_add(1, std::memory_order_relaxed);
      want = m->n + 1;
    }
  }
  static std::atomic<int> bad_;
  std::vector<int> next_;
  std::mt19937_64 rng_;
};
std::atomic<int> PrefixChecker::bad_{0};

class BlockingStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(BlockingStress, CloseRacingWithSendsAndTimeoutsKeepsAGapFreePrefixPerSender) {
  const std::uint64_t base = base_seed();
  SCOPED_TRACE(seed_trace(base));
  constexpr int kActors = 6;
  constexpr int kSenders = 3;
  PrefixChecker::bad_.store(0);
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t seed = base + static_cast<std::uint64_t>(round) * 0x9E3779B97F4A7C15ull;
    std::mt19937_64 rng(seed);
    troupe::runtime rt(with_workers(GetParam()));
    std::vector<PrefixChecker::handle> actors;
    for (int a = 0; a < kActors; ++a) actors.push_back(rt.spawn<PrefixChecker>(kSenders, rng()));
    std::vector<std::thread> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&actors, s] {
        for (int i = 0; i < kPerSender; ++i) {
          for (auto& a : actors) a.send(Seq{s, i});
        }
      });
    }
    // Close each actor at a random point while the senders are still going.
    std::thread closer([&actors, r = rng()]() mutable {
      std::mt19937_64 g(r);
      for (auto& a : actors) {
        std::this_thread::sleep_for(std::chrono::microseconds(g() % 2000));
        a.close();
      }
    });
    std::vector<std::thread> joiners;
    for (int j = 0; j < 2; ++j) {
      joiners.emplace_back([&actors] {
        for (auto& a : actors) a.join();
      });
    }
    for (auto& t : senders) t.join();
    closer.join();
    for (auto& t : joiners) t.join();
    for (auto& a : actors) EXPECT_TRUE(a.stopped());
    shutdown_and_expect_accounting(rt);
    const auto s = rt.stats();
    EXPECT_EQ(s.sent, std::uint64_t{kActors} * kSenders * kPerSender);
    EXPECT_EQ(s.failed, 0u);
    ASSERT_EQ(PrefixChecker::bad_.load(), 0) << "round " << round << ": a gap or a duplicate";
  }
}

struct Quick : troupe::blocking_actor<Quick, int> {
  explicit Quick(std::atomic<int>* exits) : exits_(exits) {}
  void run() {
    try {
      for (;;) (void)recv();
    } catch (const troupe::actor_exit&) {
      exits_->fetch_add(1, std::memory_order_relaxed);
      throw;
    }
  }
  std::atomic<int>* exits_;
};

TEST_P(BlockingStress, CloseRightAfterSpawnFromAnotherThreadStopsEveryActorOnce) {
#if defined(__SANITIZE_THREAD__)
  constexpr int kActors = 300;
#else
  constexpr int kActors = 3'000;
#endif
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> exits{0};
  std::vector<Quick::handle> actors(kActors);
  std::atomic<int> spawned{0};
  std::thread spawner([&] {
    for (int i = 0; i < kActors; ++i) {
      actors[static_cast<std::size_t>(i)] = rt.spawn<Quick>(&exits);
      spawned.store(i + 1, std::memory_order_release);
    }
  });
  // Close each one as soon as it exists, probably before its fiber has run at all.
  for (int i = 0; i < kActors; ++i) {
    while (spawned.load(std::memory_order_acquire) <= i) std::this_thread::yield();
    actors[static_cast<std::size_t>(i)].send(i);
    actors[static_cast<std::size_t>(i)].close();
  }
  spawner.join();
  for (auto& a : actors) a.join();
  EXPECT_EQ(exits.load(), kActors);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().handled, std::uint64_t{kActors});
  EXPECT_EQ(rt.stats().failed, 0u);
}

struct Job {
  int n;
};
struct Go {};

// Parks in one of the three waits, chosen by `kind`.
struct Parker : troupe::blocking_actor<Parker, Job, Go> {
  explicit Parker(int kind) : kind_(kind) {}
  void run() {
    for (;;) {
      switch (kind_) {
        case 0:
          (void)recv();
          break;
        case 1:
          (void)recv_for(1h);
          break;
        default:
          (void)recv<Go>();  // Jobs pile up in the stash
          break;
      }
    }
  }
  int kind_;
};

TEST_P(BlockingStress, ShutdownStopsFibersParkedInEveryKindOfReceive) {
  const std::uint64_t base = base_seed();
  SCOPED_TRACE(seed_trace(base));
  for (int round = 0; round < kRounds; ++round) {
    std::mt19937_64 rng(base + static_cast<std::uint64_t>(round));
    troupe::runtime rt(with_workers(GetParam()));
    std::vector<Parker::handle> actors;
    for (int a = 0; a < 30; ++a) actors.push_back(rt.spawn<Parker>(a % 3));
    std::thread sender([&actors, r = rng()] {
      std::mt19937_64 g(r);
      for (int i = 0; i < 200; ++i) {
        auto& a = actors[g() % actors.size()];
        if (g() % 4 == 0) {
          a.send(Go{});
        } else {
          a.send(Job{i});
        }
      }
    });
    if (rng() % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
    sender.join();
    shutdown_and_expect_accounting(rt);  // closes every actor wherever its fiber waits
    EXPECT_EQ(rt.stats().failed, 0u);
    for (auto& a : actors) EXPECT_TRUE(a.stopped());
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, BlockingStress, ::testing::Values(1u, 2u, 4u),
                         [](const auto& info) { return std::to_string(info.param) + "w"; });

}  // namespace
