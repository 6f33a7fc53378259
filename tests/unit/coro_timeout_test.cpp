// Coroutine actors waiting with a deadline (troupe/coro_actor.hpp, "Waiting with a deadline"):
// co_await recv_for() yields the next message or std::nullopt once the timeout passes, takes
// the messages set aside during a sleep first, throws actor_exit at the close and after a
// kill; co_await sleep_for() keeps what arrives meanwhile queued in order, and the close or a
// kill ends it with actor_exit. Every wait leaves no timer pending once it is over, and
// sent == handled + dead_lettered holds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <latch>
#include <optional>
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

// Timers pending on the runtime of the actor behind `r` (its recv_for() or sleep timers, in
// these tests the only ones).
template <class Ref>
std::size_t pending_timers(const Ref& r) {
  auto* a = troupe::detail::ref_access::actor_of(r, "pending_timers");
  return a->core()->timers().pending();
}

class CoroTimeout : public ::testing::TestWithParam<unsigned> {};

// ---- recv_for ---------------------------------------------------------------------------

struct Timed : troupe::coro_actor<Timed, int> {
  struct log {
    std::vector<std::optional<int>> got;
    std::chrono::steady_clock::duration waited{};
    bool exited = false;
  };
  explicit Timed(log* l) : l_(l) {}
  task run() {
    try {
      l_->got.push_back(co_await recv_for(0ms));  // nothing queued yet: at once
      const auto t0 = std::chrono::steady_clock::now();
      l_->got.push_back(co_await recv_for(30ms));  // nothing comes: times out
      l_->waited = std::chrono::steady_clock::now() - t0;
      for (;;) l_->got.push_back(co_await recv_for(1h));  // the test sends 5 and 6
    } catch (const troupe::actor_exit&) {
      l_->exited = true;
    }
  }
  log* l_;
};

TEST_P(CoroTimeout, RecvForTimesOutWhenNothingComesAndYieldsAMessageThatDoes) {
  troupe::runtime rt(with_workers(GetParam()));
  Timed::log l;
  auto a = rt.spawn<Timed>(&l);
  std::this_thread::sleep_for(100ms);  // the 30 ms timeout most likely passes first
  a.send(5);
  a.send(6);
  a.close();
  returns_within("join", [&] { a.join(); });
  ASSERT_EQ(l.got.size(), 4u);
  EXPECT_EQ(l.got[0], std::nullopt);
  if (l.got[1].has_value()) {
    // A loaded machine delayed the run past 100 ms: then the message won, which is fine,
    // and the next wait got the next one.
    EXPECT_EQ(l.got[1], std::optional<int>(5));
    EXPECT_EQ(l.got[2], std::optional<int>(6));
  } else {
    EXPECT_EQ(l.got[2], std::optional<int>(5));
    EXPECT_EQ(l.got[3], std::optional<int>(6));
    EXPECT_GE(l.waited, 30ms) << "a timeout must never end early";
  }
  EXPECT_TRUE(l.exited) << "the close makes recv_for() throw actor_exit";
  EXPECT_EQ(pending_timers(a), 0u) << "the 1 h timer of the last wait was not cancelled";
  shutdown_and_expect_accounting(rt);
}

// Waits in recv_for(1h) and recv() in turn; each message is reported before the next wait.
struct LongWaiter : troupe::coro_actor<LongWaiter, int> {
  LongWaiter(std::atomic<int>* last, std::latch* waiting) : last_(last), waiting_(waiting) {}
  task run() {
    waiting_->count_down();
    for (;;) {
      const std::optional<int> m = co_await recv_for(1h);
      last_->store(m ? *m : -1);
      last_->store(co_await recv());
    }
  }
  std::atomic<int>* last_;
  std::latch* waiting_;
};

TEST_P(CoroTimeout, AMessageThatComesFirstCancelsTheTimer) {
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> last{0};
  std::latch waiting(1);
  auto a = rt.spawn<LongWaiter>(&last, &waiting);
  waiting.wait();
  for (int i = 1; i <= 6; i += 2) {
    wait_until("recv_for() to arm its timer", [&] { return pending_timers(a) == 1u; });
    a.send(i);
    wait_until("the message", [&] { return last.load() == i; });
    // Now in recv(): the timer of the recv_for() that got the message is gone.
    EXPECT_EQ(pending_timers(a), 0u) << "message " << i << " did not cancel the timer";
    a.send(i + 1);
    wait_until("the message", [&] { return last.load() == i + 1; });
  }
  wait_until("the fourth recv_for()", [&] { return pending_timers(a) == 1u; });
  a.close();
  returns_within("join", [&] { a.join(); });
  EXPECT_EQ(pending_timers(a), 0u) << "the close must cancel the pending wait";
  shutdown_and_expect_accounting(rt);
}

// Sleeps until the test has sent (so everything arrives during a sleep and is set aside),
// then drains with recv_for(0ms) until it yields std::nullopt. (A close during the sleep
// would end it: the test closes once the drain is done.)
struct SleepThenDrain : troupe::coro_actor<SleepThenDrain, int> {
  SleepThenDrain(std::atomic<bool>* sent, std::latch* asleep, std::vector<std::optional<int>>* got,
                 std::latch* drained)
      : sent_(sent), asleep_(asleep), got_(got), drained_(drained) {}
  task run() {
    asleep_->count_down();
    do {
      co_await sleep_for(5ms);
    } while (!sent_->load());
    for (;;) {
      const std::optional<int> m = co_await recv_for(0ms);
      got_->push_back(m);
      if (!m) break;
    }
    drained_->count_down();
    for (;;) got_->push_back(co_await recv());
  }
  std::atomic<bool>* sent_;
  std::latch* asleep_;
  std::vector<std::optional<int>>* got_;
  std::latch* drained_;
};

TEST_P(CoroTimeout, RecvForTakesTheMessagesSetAsideDuringASleepFirstInOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<bool> sent{false};
  std::latch asleep(1);
  std::vector<std::optional<int>> got;
  std::latch drained(1);
  auto a = rt.spawn<SleepThenDrain>(&sent, &asleep, &got, &drained);
  asleep.wait();
  for (int i = 0; i < 100; ++i) a.send(i);
  sent.store(true);
  drained.wait();
  a.close();
  returns_within("join", [&] { a.join(); });
  ASSERT_EQ(got.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(got[100], std::nullopt);
  EXPECT_EQ(pending_timers(a), 0u);
  shutdown_and_expect_accounting(rt);
}

// ---- close and kill during recv_for and sleep ------------------------------------------

struct Outcome {
  std::latch waiting{1};
  std::atomic<bool> exited{false};
  std::atomic<bool> returned{false};  // the wait ended without actor_exit: wrong here
  std::atomic<int> stops{0};
};

template <bool Sleep>
struct Waiter : troupe::coro_actor<Waiter<Sleep>, int> {
  explicit Waiter(Outcome* o) : o_(o) {}
  typename Waiter::task run() {
    o_->waiting.count_down();
    try {
      if constexpr (Sleep) {
        co_await this->sleep_for(1h);
      } else {
        (void)co_await this->recv_for(1h);
      }
      o_->returned = true;
    } catch (const troupe::actor_exit&) {
      o_->exited = true;
      throw;
    }
  }
  void on_stop() { o_->stops.fetch_add(1); }
  Outcome* o_;
};

TEST_P(CoroTimeout, CloseEndsRecvForWithActorExitAndCancelsItsTimer) {
  troupe::runtime rt(with_workers(GetParam()));
  Outcome o;
  auto a = rt.spawn<Waiter<false>>(&o);
  o.waiting.wait();
  a.close();
  returns_within("join", [&] { a.join(); });
  EXPECT_TRUE(o.exited);
  EXPECT_FALSE(o.returned);
  EXPECT_EQ(o.stops.load(), 1);
  EXPECT_EQ(pending_timers(a), 0u);
  shutdown_and_expect_accounting(rt);
}

TEST_P(CoroTimeout, KillEndsRecvForAndSleepWithActorExitAndCancelsTheTimer) {
  for (const bool sleep : {false, true}) {
    SCOPED_TRACE(sleep ? "sleep_for" : "recv_for");
    std::atomic<int> killed_letters{0};
    troupe::runtime_config c = with_workers(GetParam());
    c.on_dead_letter = [&](const troupe::dead_letter& d) {
      if (d.reason == troupe::dead_letter_reason::killed) killed_letters.fetch_add(1);
    };
    troupe::runtime rt(c);
    Outcome o;
    troupe::ref<int> a = sleep ? rt.spawn<Waiter<true>>(&o) : rt.spawn<Waiter<false>>(&o);
    o.waiting.wait();
    if (sleep) {
      for (int i = 0; i < 5; ++i) a.send(i);  // set aside by the sleep: dead letters
    }
    a.kill();
    returns_within("join", [&] { a.join(); });
    EXPECT_TRUE(o.exited);
    EXPECT_FALSE(o.returned);
    EXPECT_EQ(o.stops.load(), 1);
    EXPECT_EQ(pending_timers(a), 0u);
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(killed_letters.load(), sleep ? 5 : 0);
  }
}

// Sleeps; the close arrives behind three messages: the sleep ends with actor_exit, and the
// three are still received, in order, before recv() throws again.
struct CloseInSleep : troupe::coro_actor<CloseInSleep, int> {
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
  task run() {
    l_->asleep.count_down();
    try {
      co_await sleep_for(1h);
    } catch (const troupe::actor_exit&) {
      l_->sleep_exited = true;
    }
    l_->pending_after_sleep = this->core()->timers().pending();
    try {
      for (;;) l_->got.push_back(co_await recv());
    } catch (const troupe::actor_exit&) {
      l_->recv_exited = true;
    }
    co_await sleep_for(0ms);  // nothing to wait for: returns even after the close
    l_->zero_sleep_returned = true;
    try {
      co_await sleep_for(1h);  // after the close: throws at once instead of hanging
    } catch (const troupe::actor_exit&) {
      l_->late_sleep_exited = true;
    }
  }
  log* l_;
};

TEST_P(CoroTimeout, CloseEndsASleepAndTheMessagesBeforeItAreStillReceivedInOrder) {
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

// ---- sleep -------------------------------------------------------------------------------

struct Sleeper : troupe::coro_actor<Sleeper, int> {
  struct log {
    std::chrono::steady_clock::duration slept{};
    std::vector<int> got;
    std::atomic<std::size_t> count{0};
  };
  explicit Sleeper(log* l) : l_(l) {}
  task run() {
    const auto t0 = std::chrono::steady_clock::now();
    co_await sleep_for(30ms);
    l_->slept = std::chrono::steady_clock::now() - t0;
    co_await sleep_until(std::chrono::steady_clock::now() + 1ms);
    co_await sleep_until(std::chrono::steady_clock::now() - 1h);  // passed: at once
    for (;;) {
      l_->got.push_back(co_await recv());
      l_->count.fetch_add(1);
    }
  }
  log* l_;
};

TEST_P(CoroTimeout, SleepEndsAfterItsDurationThenMessagesAreReceivedInSendOrder) {
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

// While one actor sleeps, the only worker serves another: the sleep holds no thread.
struct Echo : troupe::actor<Echo, int> {
  explicit Echo(std::atomic<int>* n) : n_(n) {}
  void on(int) { n_->fetch_add(1); }
  std::atomic<int>* n_;
};

TEST(CoroTimeoutOneWorker, ASleepingActorLeavesItsWorkerToOthers) {
  troupe::runtime rt(with_workers(1));
  Outcome o;
  auto sleeper = rt.spawn<Waiter<true>>(&o);
  o.waiting.wait();
  std::atomic<int> n{0};
  auto echo = rt.spawn<Echo>(&n);
  for (int i = 0; i < 100; ++i) echo.send(i);
  wait_until("the other actor's 100 messages", [&] { return n.load() == 100; });
  EXPECT_FALSE(o.exited);
  sleeper.close();
  returns_within("join", [&] { sleeper.join(); });
  EXPECT_TRUE(o.exited);
  shutdown_and_expect_accounting(rt);
}

TEST_P(CoroTimeout, ShutdownStopsActorsWaitingInRecvForAndSleep) {
  troupe::runtime rt(with_workers(GetParam()));
  Outcome o1, o2;
  auto a = rt.spawn<Waiter<false>>(&o1);
  auto b = rt.spawn<Waiter<true>>(&o2);
  o1.waiting.wait();
  o2.waiting.wait();
  wait_until("both timers armed", [&] { return pending_timers(a) == 2u; });
  returns_within("shutdown", [&] { shutdown_and_expect_accounting(rt); });
  EXPECT_TRUE(o1.exited);
  EXPECT_TRUE(o2.exited);
}

INSTANTIATE_TEST_SUITE_P(Workers, CoroTimeout, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "_workers";
                         });

}  // namespace
