// Timers under races (troupe/timer.hpp, runtime/timer/timer_service.hpp), seeded:
//   * cancel() racing with the firing of thousands of short send_after() timers, from
//     several threads: each timer is delivered exactly once or cancelled (cancel() returned
//     true), never both, never neither (INV-TIMER-5);
//   * cancel() racing with send_every() ticks: once cancel() has returned, no further tick
//     of that timer is sent (its per-timer copy count freezes), and every tick sent is handled;
//   * actors scheduling timers to each other from their handlers while outside threads
//     schedule and cancel: every message accounted for (sent == handled + dead_lettered).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::seed_trace;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kPerThread = 600;
#else
constexpr int kPerThread = 3000;
#endif
constexpr int kThreads = 3;

struct Hit {
  int index;
};
struct Counter : troupe::actor<Counter, Hit> {
  explicit Counter(std::vector<std::atomic<int>>* hits) : hits_(hits) {}
  void on(Hit h) { (*hits_)[static_cast<std::size_t>(h.index)].fetch_add(1); }
  std::vector<std::atomic<int>>* hits_;
};

class TimerStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(TimerStress, OneShotCancelRacingWithTheFireEndsExactlyOneWay) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int kTimers = kThreads * kPerThread;
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::atomic<int>> hits(kTimers);
  std::vector<std::atomic<int>> cancelled(kTimers);
  auto target = rt.spawn<Counter>(&hits);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      std::mt19937_64 rng(mix(seed + static_cast<std::uint64_t>(th)));
      // Batches of timers due within 0..1.5 ms (around tick boundaries), then a random
      // pause of the same order, then a cancel of each: about half fire first, and some
      // cancels land while their timer is being fired.
      constexpr int kBatch = 32;
      std::vector<std::pair<int, troupe::timer>> batch;
      for (int i = 0; i < kPerThread; i += kBatch) {
        batch.clear();
        for (int j = i; j < i + kBatch && j < kPerThread; ++j) {
          const int index = th * kPerThread + j;
          batch.emplace_back(
              index,
              troupe::send_after(target, std::chrono::microseconds(rng() % 1500), Hit{index}));
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1500));
        for (auto& [index, t] : batch) {
          if (t.cancel()) cancelled[static_cast<std::size_t>(index)] += 1;
          EXPECT_FALSE(t.active());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  target.close();
  target.join();
  int delivered = 0;
  int cancels = 0;
  for (int i = 0; i < kTimers; ++i) {
    const int h = hits[static_cast<std::size_t>(i)].load();
    const int c = cancelled[static_cast<std::size_t>(i)].load();
    ASSERT_EQ(h + c, 1) << "timer " << i << ": delivered " << h << " times, cancelled " << c;
    delivered += h;
    cancels += c;
  }
  std::printf("[timer_stress] %d timers: %d delivered, %d cancelled\n", kTimers, delivered,
              cancels);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, static_cast<std::uint64_t>(delivered));
}

// A tick that counts, per timer, how many copies (sends) were made of it.
struct Beat {
  std::atomic<int>* copies;
  int index;
  Beat(std::atomic<int>* c, int i) : copies(c), index(i) {}
  Beat(const Beat& o) : copies(o.copies), index(o.index) { copies->fetch_add(1); }
  Beat(Beat&&) noexcept = default;
};
struct BeatCounter : troupe::actor<BeatCounter, Beat> {
  explicit BeatCounter(std::vector<std::atomic<int>>* handled) : handled_(handled) {}
  void on(Beat b) { (*handled_)[static_cast<std::size_t>(b.index)].fetch_add(1); }
  std::vector<std::atomic<int>>* handled_;
};

TEST_P(TimerStress, PeriodicCancelRacingWithTicksStopsEverySendAtOnce) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kTimers = 100;
#else
  constexpr int kTimers = 400;
#endif
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::atomic<int>> copies(kTimers);
  std::vector<std::atomic<int>> handled(kTimers);
  std::vector<int> at_cancel(kTimers);
  auto target = rt.spawn<BeatCounter>(&handled);
  std::vector<troupe::timer> timers;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < kTimers; ++i) {
    timers.push_back(troupe::send_every(target, std::chrono::microseconds(500 + rng() % 1500),
                                        Beat(&copies[static_cast<std::size_t>(i)], i)));
  }
  for (int i = 0; i < kTimers; ++i) {
    if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
    EXPECT_TRUE(timers[static_cast<std::size_t>(i)].cancel());
    at_cancel[static_cast<std::size_t>(i)] = copies[static_cast<std::size_t>(i)].load();
  }
  std::this_thread::sleep_for(10ms);  // several periods: nothing may be sent in them
  target.close();
  target.join();
  for (int i = 0; i < kTimers; ++i) {
    const auto k = static_cast<std::size_t>(i);
    ASSERT_EQ(copies[k].load(), at_cancel[k]) << "timer " << i << " sent after cancel()";
    ASSERT_EQ(handled[k].load(), at_cancel[k]) << "timer " << i << ": a sent tick was lost";
  }
  shutdown_and_expect_accounting(rt);
}

// Each hop schedules the next one from the handler, to a random peer, with a random short
// delay; outside threads meanwhile schedule and cancel their own timers to the same actors.
struct Hop {
  int left;
};
struct Hopper : troupe::actor<Hopper, Hop> {
  Hopper(const std::vector<troupe::ref<Hop>>* peers, std::uint64_t seed, std::atomic<int>* finished)
      : peers_(peers), rng_(seed), finished_(finished) {}
  void on(Hop h) {
    if (h.left < 0) return;  // an outside thread's timer: no chain
    if (h.left == 0) {
      finished_->fetch_add(1);
      return;
    }
    const auto& next = (*peers_)[rng_() % peers_->size()];
    troupe::send_after(next, std::chrono::microseconds(rng_() % 1500), Hop{h.left - 1});
  }
  const std::vector<troupe::ref<Hop>>* peers_;
  std::mt19937_64 rng_;
  std::atomic<int>* finished_;
};

TEST_P(TimerStress, HandlersAndOutsideThreadsScheduleAndCancelConcurrentlyAndAllIsCounted) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int kActors = 8;
  constexpr int kChains = 16;
  constexpr int kHops = 30;
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> finished{0};
  std::vector<troupe::ref<Hop>> peers;
  for (int i = 0; i < kActors; ++i) {
    peers.push_back(rt.spawn<Hopper>(&peers, mix(seed + static_cast<std::uint64_t>(i)), &finished));
  }
  for (int c = 0; c < kChains; ++c) peers[static_cast<std::size_t>(c % kActors)].send(Hop{kHops});
  std::atomic<bool> stop{false};
  std::atomic<int> outside_cancelled{0};
  std::vector<std::thread> outside;
  for (int th = 0; th < 2; ++th) {
    outside.emplace_back([&, th] {
      std::mt19937_64 rng(mix(seed ^ (0xABCDull + static_cast<std::uint64_t>(th))));
      while (!stop.load()) {
        // Hop{-1}: handled and dropped, not part of any chain.
        troupe::timer t = troupe::send_after(peers[rng() % peers.size()],
                                             std::chrono::microseconds(rng() % 1000), Hop{-1});
        if (rng() % 2 == 0 && t.cancel()) outside_cancelled.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
      }
    });
  }
  while (finished.load() < kChains) std::this_thread::sleep_for(1ms);
  stop.store(true);
  for (auto& t : outside) t.join();
  shutdown_and_expect_accounting(rt);  // pending outside timers are discarded, not counted
  const troupe::runtime_stats s = rt.stats();
  EXPECT_GE(s.handled, static_cast<std::uint64_t>(kChains) * (kHops + 1));
}

INSTANTIATE_TEST_SUITE_P(Workers, TimerStress, ::testing::Values(1u, 2u),
                         [](const testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "worker" +
                                  (info.param == 1 ? "" : "s");
                         });

}  // namespace
