// The runtime's timer thread (runtime/timer/timer_service.hpp): every task gets exactly one
// fire() or discard() (INV-TIMER-1), deadlines fire in order, cancel() wins only before the
// fire, stop() discards what is pending (INV-TIMER-3), and an earlier timer wakes the
// sleeping thread (INV-TIMER-6).
#include "timer/timer_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using troupe::detail::timer_clock;
using troupe::detail::timer_service;
using troupe::detail::timer_task;

struct log {
  std::mutex mu;
  std::vector<int> fired;
  std::atomic<int> discarded{0};
};

struct recording_task final : timer_task {
  recording_task(log* l, int tag) : l_(l), tag_(tag) {}
  void fire() noexcept override {
    {
      std::lock_guard lock(l_->mu);
      l_->fired.push_back(tag_);
    }
    delete this;
  }
  void discard() noexcept override {
    l_->discarded.fetch_add(1);
    delete this;
  }
  log* l_;
  int tag_;
};

std::size_t fired_count(log& l) {
  std::lock_guard lock(l.mu);
  return l.fired.size();
}

TEST(TimerService, FiresInDeadlineOrderWhateverTheScheduleOrder) {
  log l;
  timer_service t;
  const auto now = timer_clock::now();
  // 100 ms apart: the three must all be scheduled before the earliest is due, which a
  // thread descheduled for tens of milliseconds (a loaded machine, ThreadSanitizer) missed
  // with 10 ms gaps.
  t.schedule(now + 300ms, new recording_task(&l, 3));
  t.schedule(now + 100ms, new recording_task(&l, 1));
  t.schedule(now + 200ms, new recording_task(&l, 2));
  while (fired_count(l) < 3) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(l.fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(l.discarded.load(), 0);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(TimerService, CancelBeforeTheDeadlineDiscardsAndAfterTheFireReportsFalse) {
  log l;
  timer_service t;
  const auto id_far = t.schedule(timer_clock::now() + 1h, new recording_task(&l, 1));
  const auto id_now = t.schedule(timer_clock::now(), new recording_task(&l, 2));
  EXPECT_NE(id_far, 0u);
  EXPECT_TRUE(t.cancel(id_far));
  EXPECT_FALSE(t.cancel(id_far)) << "a second cancel finds nothing";
  while (fired_count(l) < 1) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(t.cancel(id_now)) << "already fired";
  EXPECT_EQ(l.fired, std::vector<int>{2});
  EXPECT_EQ(l.discarded.load(), 1);
}

TEST(TimerService, StopDiscardsPendingTasksAndLaterSchedulesAtOnce) {
  log l;
  timer_service t;
  for (int i = 0; i < 10; ++i) t.schedule(timer_clock::now() + 1h, new recording_task(&l, i));
  t.stop();
  EXPECT_EQ(l.discarded.load(), 10);
  EXPECT_EQ(t.schedule(timer_clock::now(), new recording_task(&l, 99)), 0u);
  EXPECT_EQ(l.discarded.load(), 11);
  EXPECT_TRUE(l.fired.empty());
  t.stop();  // idempotent
}

// INV-TIMER-6: the thread sleeps until an hour from now; each round schedules a task due
// at once, just as the thread goes back to sleep after the previous one, and waits for it.
// A lost wake-up leaves a round waiting for the hour: the test fails after a minute.
TEST(TimerService, AnEarlierTimerWakesTheThreadSleepingOnALaterOne) {
  log l;
  timer_service t;
  t.schedule(timer_clock::now() + 1h, new recording_task(&l, -1));
  constexpr int kRounds = 1000;
  for (int i = 0; i < kRounds; ++i) {
    t.schedule(timer_clock::now(), new recording_task(&l, i));
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (fired_count(l) < static_cast<std::size_t>(i + 1)) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "round " << i << " never fired";
      std::this_thread::yield();
    }
  }
  t.stop();
  EXPECT_EQ(l.discarded.load(), 1) << "the hour-long task";
}

TEST(TimerService, ManyThreadsScheduleAndCancelEachTaskEndsExactlyOnce) {
  log l;
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  {
    timer_service t;
    std::vector<std::thread> ts;
    std::atomic<int> cancelled{0};
    for (int th = 0; th < kThreads; ++th) {
      ts.emplace_back([&, th] {
        for (int i = 0; i < kEach; ++i) {
          const auto when = timer_clock::now() + std::chrono::microseconds((i * 7 + th) % 500);
          const auto id = t.schedule(when, new recording_task(&l, i));
          if (i % 3 == 0 && t.cancel(id)) cancelled.fetch_add(1);
        }
      });
    }
    for (auto& th : ts) th.join();
    t.stop();
    EXPECT_GE(l.discarded.load(), cancelled.load());
  }
  EXPECT_EQ(fired_count(l) + static_cast<std::size_t>(l.discarded.load()),
            std::size_t{kThreads} * kEach);
}

}  // namespace
