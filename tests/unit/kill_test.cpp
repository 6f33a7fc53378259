// ref::kill(): an actor stops without handling what is queued — an event actor at its next
// turn boundary, a coroutine or blocking actor at its next receive or await (woken if it
// waits) — on_stop() runs, and every queued message becomes a dead letter whose reason is
// dead_letter_reason::killed. Also: kill is idempotent and a no-op on a stopped actor;
// kill racing with close and with senders keeps sent == handled + dead_lettered; dead
// letters of actors closed by shutdown() carry reason shutdown, of a failed actor failed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Reasons {
  std::mutex mu;
  std::vector<troupe::dead_letter_reason> seen;
  troupe::runtime_config config(unsigned workers) {
    troupe::runtime_config c = with_workers(workers);
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      seen.push_back(d.reason);
    };
    return c;
  }
  std::size_t count(troupe::dead_letter_reason r) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (auto x : seen) n += x == r ? 1 : 0;
    return n;
  }
  std::size_t total() {
    std::lock_guard lock(mu);
    return seen.size();
  }
};

struct Work {
  int n;
};

// Blocks in its first handler until released, so that messages pile up behind it.
struct Gate {
  std::latch entered{1};
  std::latch release{1};
};

struct EventVictim : troupe::actor<EventVictim, Work> {
  EventVictim(Gate* g, std::atomic<int>* handled, std::atomic<int>* stops)
      : g_(g), handled_(handled), stops_(stops) {}
  void on(Work w) {
    if (w.n == 0) {
      g_->entered.count_down();
      g_->release.wait();
    }
    handled_->fetch_add(1);
  }
  void on_stop() { stops_->fetch_add(1); }
  Gate* g_;
  std::atomic<int>* handled_;
  std::atomic<int>* stops_;
};

struct CoroVictim : troupe::coro_actor<CoroVictim, Work> {
  CoroVictim(Gate* g, std::atomic<int>* handled, std::atomic<int>* stops)
      : g_(g), handled_(handled), stops_(stops) {}
  task run() {
    for (;;) {
      const Work w = co_await recv();
      if (w.n == 0) {
        g_->entered.count_down();
        g_->release.wait();
      }
      handled_->fetch_add(1);
    }
  }
  void on_stop() { stops_->fetch_add(1); }
  Gate* g_;
  std::atomic<int>* handled_;
  std::atomic<int>* stops_;
};

struct BlockingVictim : troupe::blocking_actor<BlockingVictim, Work> {
  BlockingVictim(Gate* g, std::atomic<int>* handled, std::atomic<int>* stops)
      : g_(g), handled_(handled), stops_(stops) {}
  void run() {
    for (;;) {
      const Work w = recv();
      if (w.n == 0) {
        g_->entered.count_down();
        g_->release.wait();
      }
      handled_->fetch_add(1);
    }
  }
  void on_stop() { stops_->fetch_add(1); }
  Gate* g_;
  std::atomic<int>* handled_;
  std::atomic<int>* stops_;
};

template <class Victim>
class Kill : public ::testing::Test {};
using Kinds = ::testing::Types<EventVictim, CoroVictim, BlockingVictim>;
class KindNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, EventVictim>) return "event";
    if constexpr (std::is_same_v<T, CoroVictim>) return "coroutine";
    return "blocking";
  }
};
TYPED_TEST_SUITE(Kill, Kinds, KindNames);

TYPED_TEST(Kill, StopsWithoutHandlingTheQueueWhichBecomesKilledDeadLetters) {
  Reasons reasons;
  troupe::runtime rt(reasons.config(2));
  Gate g;
  std::atomic<int> handled{0}, stops{0};
  auto v = rt.spawn<TypeParam>(&g, &handled, &stops);
  v.send(Work{0});
  g.entered.wait();  // the handler of Work{0} runs: everything below queues behind it
  for (int i = 1; i <= 100; ++i) v.send(Work{i});
  v.kill();
  v.kill();  // idempotent
  g.release.count_down();
  v.join();
  EXPECT_EQ(handled.load(), 1) << "a message queued before kill() was handled";
  EXPECT_EQ(stops.load(), 1);
  v.send(Work{101});  // after the stop: a dead letter too
  v.kill();           // a no-op on a stopped actor
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().dead_lettered, 101u);
  EXPECT_EQ(reasons.count(troupe::dead_letter_reason::killed), 101u);
  EXPECT_EQ(rt.stats().failed, 0u) << "a kill is not a failure";
}

TYPED_TEST(Kill, WakesAnActorThatWaitsForAMessage) {
  troupe::runtime rt(with_workers(2));
  Gate g;
  std::atomic<int> handled{0}, stops{0};
  auto v = rt.spawn<TypeParam>(&g, &handled, &stops);
  v.send(Work{1});
  troupe::test::wait_until("the first message handled", [&] { return handled.load() == 1; });
  v.kill();  // idle (event) or parked in recv (coroutine, blocking)
  v.join();
  EXPECT_EQ(stops.load(), 1);
  shutdown_and_expect_accounting(rt);
}

TYPED_TEST(Kill, RacingWithCloseAndSendersLosesNothingUncounted) {
  constexpr int kRounds = 50;
  for (int round = 0; round < kRounds; ++round) {
    troupe::runtime rt(with_workers(2));
    Gate g;
    g.release.count_down();  // never blocks
    std::atomic<int> handled{0}, stops{0};
    auto v = rt.spawn<TypeParam>(&g, &handled, &stops);
    std::thread sender([v] {
      for (int i = 1; i <= 2'000; ++i) v.send(Work{i});
    });
    std::thread closer([v] { v.close(); });
    if (round % 2 == 0) std::this_thread::yield();
    v.kill();
    sender.join();
    closer.join();
    v.join();
    EXPECT_EQ(stops.load(), 1);
    shutdown_and_expect_accounting(rt);
  }
}

// ---- a kill ends a wait for a result ---------------------------------------------------------

struct CoroAwaiter : troupe::coro_actor<CoroAwaiter, int> {
  explicit CoroAwaiter(std::atomic<int>* exits) : exits_(exits) {}
  task run() {
    try {
      (void)co_await keep_.get_result();  // kept by the actor, never fulfilled
    } catch (const troupe::actor_exit&) {
      exits_->fetch_add(1);
      throw;
    }
  }
  std::atomic<int>* exits_;
  troupe::promise<int> keep_;
};

TEST(KillAwait, EndsACoroutineWaitingForAResultThatNeverComes) {
  troupe::runtime rt(with_workers(2));
  std::atomic<int> exits{0};
  auto a = rt.spawn<CoroAwaiter>(&exits);
  a.send(1);  // queued behind the await
  a.kill();
  a.join();
  EXPECT_EQ(exits.load(), 1);
  shutdown_and_expect_accounting(rt);
}

struct BlockingAwaiter : troupe::blocking_actor<BlockingAwaiter, int> {
  explicit BlockingAwaiter(std::atomic<int>* exits) : exits_(exits) {}
  void run() {
    try {
      (void)await(keep_.get_result());  // kept by the actor, never fulfilled
    } catch (const troupe::actor_exit&) {
      exits_->fetch_add(1);
      throw;
    }
  }
  std::atomic<int>* exits_;
  troupe::promise<int> keep_;
};

TEST(KillAwait, EndsABlockingActorWaitingForAResultThatNeverComes) {
  troupe::runtime rt(with_workers(2));
  std::atomic<int> exits{0};
  auto a = rt.spawn<BlockingAwaiter>(&exits);
  a.send(1);
  a.kill();
  a.join();
  EXPECT_EQ(exits.load(), 1);
  shutdown_and_expect_accounting(rt);
}

// ---- reasons of other stops ----------------------------------------------------------------

struct Sink : troupe::actor<Sink, Work> {
  void on(Work w) {
    if (w.n < 0) throw std::runtime_error("negative work");
  }
};

TEST(DeadLetterReason, ShutdownAndFailureAndPlainStopsAreNamed) {
  Reasons reasons;
  troupe::runtime_config cfg = reasons.config(2);
  cfg.on_failure = [](const troupe::failure&) {};
  troupe::runtime rt(cfg);
  auto closed = rt.spawn<Sink>();
  closed.close();
  closed.join();
  closed.send(Work{1});  // stopped by its own close
  auto failed = rt.spawn<Sink>();
  failed.send(Work{-1});
  failed.join();
  failed.send(Work{1});
  auto by_shutdown = rt.spawn<Sink>();
  rt.shutdown();
  by_shutdown.send(Work{1});
  EXPECT_EQ(reasons.count(troupe::dead_letter_reason::stopped), 1u);
  EXPECT_EQ(reasons.count(troupe::dead_letter_reason::failed), 1u);
  EXPECT_EQ(reasons.count(troupe::dead_letter_reason::shutdown), 1u);
  EXPECT_EQ(reasons.total(), 3u);
}

}  // namespace

// An event actor that kills itself inside a handler, with nothing else queued, stops at the
// end of that turn (the kill's signal was cleared by the turn's own idle check; the turn
// must still see the kill instead of going idle for good).
struct SelfKiller : troupe::actor<SelfKiller, Work> {
  void on(Work) { self().kill(); }
};

TEST(Kill, AnEventActorThatKillsItselfInAHandlerStops) {
  troupe::runtime rt(with_workers(2));
  for (int i = 0; i < 50; ++i) {
    auto a = rt.spawn<SelfKiller>();
    a.send(Work{0});
    troupe::test::returns_within("join of an actor that killed itself", [&] { a.join(); });
  }
  shutdown_and_expect_accounting(rt);
}
