// Blocking actors' sleep_for() and sleep_until() (troupe/blocking_actor.hpp): the fiber parks
// for the duration and its worker serves other actors; messages that arrive meanwhile are
// received afterwards in send order; the close or a kill ends the sleep with actor_exit
// (messages before the close are still received), a sleep after the close throws at once,
// the sleep's timer is cancelled when it ends early, and sent == handled + dead_lettered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <latch>
#include <vector>

#include "sched/runtime_core.hpp"
#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::returns_within;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

template <class Ref>
std::size_t pending_timers(const Ref& r) {
  auto* a = troupe::detail::ref_access::actor_of(r, "pending_timers");
  return a->core()->timers().pending();
}

class BlockingSleep : public ::testing::TestWithParam<unsigned> {};

struct Sleeper : troupe::blocking_actor<Sleeper, int> {
  struct log {
    std::chrono::steady_clock::duration slept{};
    std::vector<int> got;
    std::atomic<std::size_t> count{0};
  };
  explicit Sleeper(log* l) : l_(l) {}
  void run() {
    const auto t0 = std::chrono::steady_clock::now();
    sleep_for(30ms);
    l_->slept = std::chrono::steady_clock::now() - t0;
    sleep_until(std::chrono::steady_clock::now() + 1ms);
    sleep_until(std::chrono::steady_clock::now() - 1h);  // passed: at once
    sleep_for(-5ms);                                     // at once
    for (;;) {
      l_->got.push_back(recv());
      l_->count.fetch_add(1);
    }
  }
  log* l_;
};

TEST_P(BlockingSleep, SleepEndsAfterItsDurationThenMessagesAreReceivedInSendOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  Sleeper::log l;
  auto a = rt.spawn<Sleeper>(&l);
  for (int i = 0; i < 1000; ++i) a.send(i);  // most arrive during the sleep
  // Not closed before: a close during the sleep would end it with actor_exit.
  wait_until("all 1000 received", [&] { return l.count.load() == 1000u; });
  a.close();
  returns_within("join", [&] { a.join(); });
  EXPECT_GE(l.slept, 30ms) << "a sleep must never end early";
  ASSERT_EQ(l.got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(l.got[static_cast<std::size_t>(i)], i);
  shutdown_and_expect_accounting(rt);
}

struct CloseInSleep : troupe::blocking_actor<CloseInSleep, int> {
  struct log {
    std::latch asleep{1};
    bool sleep_exited = false;
    std::size_t pending_after_sleep = 99;  // timers pending right after the sleep ended
    bool recv_exited = false;
    bool zero_sleep_returned = false;
    bool late_sleep_exited = false;
    std::vector<int> got;
  };
  explicit CloseInSleep(log* l) : l_(l) {}
  void run() {
    l_->asleep.count_down();
    try {
      sleep_for(1h);
    } catch (const troupe::actor_exit&) {
      l_->sleep_exited = true;
    }
    l_->pending_after_sleep = this->core()->timers().pending();
    try {
      for (;;) l_->got.push_back(recv());
    } catch (const troupe::actor_exit&) {
      l_->recv_exited = true;
    }
    sleep_for(0ms);  // nothing to wait for: returns even after the close
    l_->zero_sleep_returned = true;
    try {
      sleep_for(1h);  // after the close: throws at once instead of hanging
    } catch (const troupe::actor_exit&) {
      l_->late_sleep_exited = true;
    }
  }
  log* l_;
};

TEST_P(BlockingSleep, CloseEndsASleepAndTheMessagesBeforeItAreStillReceivedInOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  CloseInSleep::log l;
  auto a = rt.spawn<CloseInSleep>(&l);
  l.asleep.wait();
  a.send(1);
  a.send(2);
  a.send(3);
  a.close();
  returns_within("join", [&] { a.join(); });
  EXPECT_TRUE(l.sleep_exited);
  EXPECT_EQ(l.pending_after_sleep, 0u) << "a sleep ended by the close left its timer pending";
  EXPECT_EQ(l.got, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(l.recv_exited);
  EXPECT_TRUE(l.zero_sleep_returned);
  EXPECT_TRUE(l.late_sleep_exited);
  EXPECT_EQ(pending_timers(a), 0u) << "the 1 h sleep's timer must be cancelled at the close";
  shutdown_and_expect_accounting(rt);
}

struct LongSleeper : troupe::blocking_actor<LongSleeper, int> {
  struct outcome {
    std::latch asleep{1};
    std::atomic<bool> exited{false};
    std::atomic<bool> returned{false};
    std::atomic<int> stops{0};
  };
  explicit LongSleeper(outcome* o) : o_(o) {}
  void run() {
    o_->asleep.count_down();
    try {
      sleep_for(1h);
      o_->returned = true;
    } catch (const troupe::actor_exit&) {
      o_->exited = true;
      throw;
    }
  }
  void on_stop() { o_->stops.fetch_add(1); }
  outcome* o_;
};

TEST_P(BlockingSleep, KillEndsASleepWithActorExitAndWhatArrivedMeanwhileIsKilledDeadLetters) {
  std::atomic<int> killed_letters{0};
  troupe::runtime_config c = with_workers(GetParam());
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    if (d.reason == troupe::dead_letter_reason::killed) killed_letters.fetch_add(1);
  };
  troupe::runtime rt(c);
  LongSleeper::outcome o;
  auto a = rt.spawn<LongSleeper>(&o);
  o.asleep.wait();
  for (int i = 0; i < 5; ++i) a.send(i);
  a.kill();
  returns_within("join", [&] { a.join(); });
  EXPECT_TRUE(o.exited);
  EXPECT_FALSE(o.returned);
  EXPECT_EQ(o.stops.load(), 1);
  EXPECT_EQ(pending_timers(a), 0u);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(killed_letters.load(), 5);
}

struct Echo : troupe::actor<Echo, int> {
  explicit Echo(std::atomic<int>* n) : n_(n) {}
  void on(int) { n_->fetch_add(1); }
  std::atomic<int>* n_;
};

TEST(BlockingSleepOneWorker, ASleepingFiberLeavesItsWorkerToOthers) {
  troupe::runtime rt(with_workers(1));
  LongSleeper::outcome o;
  auto sleeper = rt.spawn<LongSleeper>(&o);
  o.asleep.wait();
  std::atomic<int> n{0};
  auto echo = rt.spawn<Echo>(&n);
  for (int i = 0; i < 100; ++i) echo.send(i);
  wait_until("the other actor's 100 messages", [&] { return n.load() == 100; });
  EXPECT_FALSE(o.exited);
  returns_within("shutdown", [&] { shutdown_and_expect_accounting(rt); });
  EXPECT_TRUE(o.exited) << "shutdown's close ends the sleep";
}

INSTANTIATE_TEST_SUITE_P(Workers, BlockingSleep, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "_workers";
                         });

}  // namespace
