// troupe/timer.hpp: send_after() delivers once, never before its delay; send_every() keeps
// delivering until cancelled; cancel() ends every delivery (INV-TIMER-5), from outside or
// from the target's own handler; timers to stopped actors are dead letters and periodic ones
// cancel themselves (counted); shutdown discards pending timers without leaking or hanging;
// and every run keeps sent == handled + dead_lettered. No assertion here bounds how late a
// timer may be: waits are "until it happened", and ctest's timeout catches a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;
using clock_type = std::chrono::steady_clock;

template <class Pred>
void wait_until(Pred p) {
  while (!p()) std::this_thread::sleep_for(1ms);
}

// Counts its copies: each delivery of a send_every() timer is one copy (the send), so the
// count tells how many deliveries have started, independently of the mailbox.
struct Tick {
  static std::atomic<int> copies;
  Tick() = default;
  Tick(const Tick&) { copies.fetch_add(1); }
  Tick(Tick&&) noexcept = default;
  Tick& operator=(const Tick&) = default;
  Tick& operator=(Tick&&) noexcept = default;
};
std::atomic<int> Tick::copies{0};

struct Ping {
  int n = 0;
};

struct Recorder : troupe::actor<Recorder, Ping, Tick> {
  struct log {
    std::atomic<int> pings{0};
    std::atomic<int> ticks{0};
    std::atomic<std::int64_t> first_ping_ns{0};
    std::vector<int> order;  // written by the actor only; read after join()
  };
  explicit Recorder(log* l) : l_(l) {}
  void on(Ping p) {
    if (l_->pings.load() == 0) {
      l_->first_ping_ns.store(clock_type::now().time_since_epoch().count());
    }
    l_->order.push_back(p.n);
    l_->pings.fetch_add(1);
  }
  void on(Tick) { l_->ticks.fetch_add(1); }
  log* l_;
};

class TimerApi : public ::testing::TestWithParam<unsigned> {};

TEST_P(TimerApi, SendAfterDeliversOnceAndNotBeforeItsDelay) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  const auto start = clock_type::now();
  troupe::timer t = troupe::send_after(a, 20ms, Ping{7});
  EXPECT_TRUE(t);
  wait_until([&] { return l.pings.load() == 1; });
  EXPECT_GE(clock_type::time_point(clock_type::duration(l.first_ping_ns.load())) - start, 20ms);
  EXPECT_FALSE(t.active());
  EXPECT_FALSE(t.cancel()) << "already delivered";
  a.close();
  a.join();
  EXPECT_EQ(l.pings.load(), 1);
  EXPECT_EQ(l.order, std::vector<int>{7});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 1u);
}

TEST_P(TimerApi, DroppingTheHandleDoesNotCancelButScopedTimerDoes) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  { troupe::scoped_timer s = troupe::send_after(a, 1h, Ping{1}); }  // cancelled here
  troupe::send_after(a, 1ms, Ping{2});  // handle dropped at once: still delivered
  wait_until([&] { return l.pings.load() == 1; });
  a.close();
  a.join();
  EXPECT_EQ(l.order, std::vector<int>{2});
  shutdown_and_expect_accounting(rt);
}

TEST_P(TimerApi, CancelBeforeTheDueTimeMeansNeverDelivered) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  troupe::timer t = troupe::send_after(a, 1h, Ping{1});
  EXPECT_TRUE(t.active());
  EXPECT_TRUE(t.cancel());
  EXPECT_FALSE(t.active());
  EXPECT_FALSE(t.cancel()) << "a second cancel finds nothing to stop";
  troupe::timer moved = std::move(t);
  EXPECT_FALSE(t);  // NOLINT(bugprone-use-after-move): a moved-from handle is empty
  EXPECT_FALSE(t.cancel());
  EXPECT_FALSE(moved.cancel());
  a.close();
  a.join();
  EXPECT_EQ(l.pings.load(), 0);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 0u);
}

TEST_P(TimerApi, SendEveryKeepsDeliveringUntilCancelledAndNothingStartsAfterCancel) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  Tick::copies.store(0);
  troupe::timer t = troupe::send_every(a, 2ms, Tick{});
  wait_until([&] { return l.ticks.load() >= 10; });
  EXPECT_TRUE(t.active());
  EXPECT_TRUE(t.cancel());
  const int sent_at_cancel = Tick::copies.load();
  std::this_thread::sleep_for(20ms);  // ten periods: no delivery may start in them
  EXPECT_EQ(Tick::copies.load(), sent_at_cancel);
  EXPECT_FALSE(t.active());
  a.close();
  a.join();
  EXPECT_EQ(l.ticks.load(), sent_at_cancel) << "every delivery started was handled";
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().timers_cancelled_by_stop, 0u);
}

TEST_P(TimerApi, TimersToTheSameActorFromOneThreadArriveInDueOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  constexpr int kTimers = 200;
  for (int i = 0; i < kTimers; ++i) troupe::send_after(a, 5ms, Ping{i});
  wait_until([&] { return l.pings.load() == kTimers; });
  a.close();
  a.join();
  std::vector<int> want(kTimers);
  for (int i = 0; i < kTimers; ++i) want[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(l.order, want);
  shutdown_and_expect_accounting(rt);
}

// Cancels its own periodic timer from its handler of that timer's message.
struct SelfCanceller : troupe::actor<SelfCanceller, Tick> {
  struct log {
    std::atomic<bool> cancelled{false};
    std::atomic<bool> cancel_result{false};
    std::atomic<int> copies_at_cancel{0};
    std::atomic<int> handled{0};
  };
  explicit SelfCanceller(log* l) : l_(l) {}
  void on_start() { ticker_ = troupe::send_every(self(), 1ms, Tick{}); }
  void on(Tick) {
    l_->handled.fetch_add(1);
    if (l_->handled.load() == 5) {
      l_->cancel_result.store(ticker_.cancel());
      l_->copies_at_cancel.store(Tick::copies.load());
      l_->cancelled.store(true);
    }
  }
  log* l_;
  troupe::timer ticker_;  // the actor holds its own timer: no cycle once it ends
};

TEST_P(TimerApi, APeriodicTimerCancelledFromItsTargetsOwnHandlerStops) {
  troupe::runtime rt(with_workers(GetParam()));
  Tick::copies.store(0);
  SelfCanceller::log l;
  auto a = rt.spawn<SelfCanceller>(&l);
  wait_until([&] { return l.cancelled.load(); });
  EXPECT_TRUE(l.cancel_result.load());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Tick::copies.load(), l.copies_at_cancel.load()) << "a delivery after cancel()";
  a.close();
  a.join();
  EXPECT_EQ(l.handled.load(), l.copies_at_cancel.load());
  shutdown_and_expect_accounting(rt);
}

TEST_P(TimerApi, TimersToAStoppedActorAreDeadLettersAndAPeriodicOneCancelsItselfCounted) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  a.close();
  a.join();
  troupe::timer once = troupe::send_after(a, 1ms, Ping{1});
  troupe::timer every = troupe::send_every(a, 1ms, Tick{});
  wait_until([&] { return !once.active() && !every.active(); });
  EXPECT_FALSE(every.cancel()) << "it cancelled itself already";
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.timers_cancelled_by_stop, 1u);
  EXPECT_EQ(s.dead_lettered, 2u) << "the one-shot's message and the periodic's one tick";
  EXPECT_EQ(l.pings.load(), 0);
  shutdown_and_expect_accounting(rt);
}

TEST_P(TimerApi, APeriodicTimerWhoseTargetStopsLaterCancelsItselfAndFreesTheActor) {
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log r;
  auto a = rt.spawn<Recorder>(&r);
  troupe::timer every = troupe::send_every(a, 1ms, Tick{});
  wait_until([&] { return r.ticks.load() >= 3; });
  a.close();
  a.join();
  wait_until([&] { return !every.active(); });
  EXPECT_EQ(rt.stats().timers_cancelled_by_stop, 1u);
  shutdown_and_expect_accounting(rt);
}

TEST_P(TimerApi, ShutdownDiscardsPendingTimersWithoutHangingOrLeaking) {
  std::vector<troupe::timer> kept;
  {
    troupe::runtime rt(with_workers(GetParam()));
    Recorder::log l;
    auto a = rt.spawn<Recorder>(&l);
    for (int i = 0; i < 1000; ++i) troupe::send_after(a, 1h + std::chrono::seconds(i), Ping{i});
    for (int i = 0; i < 10; ++i) kept.push_back(troupe::send_every(a, 1h, Tick{}));
    kept.push_back(troupe::send_after(a, 1h, Ping{-1}));
    // An actor that holds its own periodic timer, alive at shutdown.
    SelfCanceller::log s;
    rt.spawn<SelfCanceller>(&s);
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(l.pings.load(), 0);
    for (auto& t : kept) EXPECT_FALSE(t.active());
    // After shutdown: a new timer is discarded at once.
    troupe::timer late = troupe::send_after(a, 1ms, Ping{0});
    EXPECT_FALSE(late.active());
    EXPECT_FALSE(late.cancel());
  }
  // The handles outlive their runtime: still safe to use and to drop.
  for (auto& t : kept) EXPECT_FALSE(t.cancel());
  kept.clear();
}

TEST_P(TimerApi, ManyPendingTimersAreScheduledAndCancelled) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kTimers = 50'000;
#else
  constexpr int kTimers = 1'000'000;
#endif
  troupe::runtime rt(with_workers(GetParam()));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  std::vector<troupe::timer> ts;
  ts.reserve(kTimers);
  for (int i = 0; i < kTimers; ++i) {
    // Spread over every level of the wheel: 1 s to about 3 days.
    ts.push_back(troupe::send_after(
        a, 1s + std::chrono::milliseconds((std::int64_t{i} * 7919) % 259'200'000), Ping{i}));
  }
  int cancelled = 0;
  for (auto& t : ts) cancelled += t.cancel() ? 1 : 0;
  EXPECT_EQ(cancelled, kTimers);
  ts.clear();
  a.close();
  a.join();
  EXPECT_EQ(l.pings.load(), 0);
  shutdown_and_expect_accounting(rt);
}

TEST_P(TimerApi, BlockingActorsReceiveTimerMessagesToo) {
  struct Waiter : troupe::blocking_actor<Waiter, Ping> {
    explicit Waiter(std::atomic<int>* got) : got_(got) {}
    void run() {
      for (;;) got_->fetch_add(recv().n);
    }
    std::atomic<int>* got_;
  };
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> got{0};
  auto a = rt.spawn<Waiter>(&got);
  troupe::send_after(a, 2ms, Ping{5});
  wait_until([&] { return got.load() == 5; });
  a.close();
  a.join();
  shutdown_and_expect_accounting(rt);
}

TEST(TimerApiErrors, EmptyRefsAndNonPositivePeriodsThrow) {
  troupe::ref<Ping, Tick> empty;
  EXPECT_THROW(troupe::send_after(empty, 1ms, Ping{}), troupe::error);
  troupe::runtime rt(with_workers(1));
  Recorder::log l;
  auto a = rt.spawn<Recorder>(&l);
  EXPECT_THROW(troupe::send_every(a, 0ms, Tick{}), troupe::error);
  EXPECT_THROW(troupe::send_every(a, -5ms, Tick{}), troupe::error);
  troupe::timer none;
  EXPECT_FALSE(none);
  EXPECT_FALSE(none.active());
  EXPECT_FALSE(none.cancel());
  shutdown_and_expect_accounting(rt);
}

INSTANTIATE_TEST_SUITE_P(Workers, TimerApi, ::testing::Values(1u, 2u),
                         [](const testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "worker" +
                                  (info.param == 1 ? "" : "s");
                         });

}  // namespace
