// runtime::stats() and runtime_config: exact counts for known workloads, dead letters with
// and without a callback (and what the callback is told), the worker count, counters read
// while the runtime runs, and sent == handled + dead_lettered after shutdown with 1, 2 and 4
// workers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeindex>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Add {
  long n;
};
struct Sub {
  long n;
};

struct Acc : troupe::actor<Acc, Add, Sub> {
  void on(Add a) { v_ += a.n; }
  void on(Sub s) { v_ -= s.n; }

 private:
  long v_ = 0;
};

TEST(Stats, AFreshRuntimeHasCountedNothing) {
  troupe::runtime rt(with_workers(2));
  const auto s = rt.stats();
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.handled, 0u);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(s.spawned, 0u);
  EXPECT_EQ(s.stopped, 0u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.steals, 0u) << "nothing ran, so nothing could be stolen";
}

TEST(Stats, CountsSendsHandlesSpawnsAndStopsExactly) {
  troupe::runtime rt(with_workers(2));
  std::vector<Acc::handle> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(rt.spawn<Acc>());
  for (int i = 0; i < 100; ++i) {
    for (auto& r : refs) {
      r.send(Add{i});
      r.send(Sub{1});
    }
  }
  refs[0].close();  // close sentinels are not messages: not counted as sent
  refs[0].close();
  shutdown_and_expect_accounting(rt);
  const auto s = rt.stats();
  EXPECT_EQ(s.sent, 600u);
  EXPECT_EQ(s.handled, 600u);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(s.spawned, 3u);
  EXPECT_EQ(s.stopped, 3u);
  EXPECT_EQ(s.failed, 0u);
}

TEST(Stats, DeadLettersAreCountedWithoutACallback) {
  troupe::runtime rt(with_workers(1));
  auto a = rt.spawn<Acc>();
  a.send(Add{1});
  a.close();
  a.send(Add{2});  // behind the sentinel
  a.join();
  for (int i = 0; i < 4; ++i) a.send(Sub{1});  // after the stop
  shutdown_and_expect_accounting(rt);
  const auto s = rt.stats();
  EXPECT_EQ(s.sent, 6u);
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.dead_lettered, 5u);
}

TEST(Stats, TheDeadLetterCallbackGetsTheReceiverAndTheMessagesOwnType) {
  std::mutex mu;
  std::vector<std::pair<troupe::actor_id, std::type_index>> seen;
  troupe::runtime_config c;
  c.workers = 2;
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    std::lock_guard lock(mu);
    seen.emplace_back(d.receiver, std::type_index(d.message_type));
  };
  troupe::runtime rt(std::move(c));
  auto a = rt.spawn<Acc>();
  auto b = rt.spawn<Acc>();
  a.close();
  a.join();
  a.send(Add{1});
  a.send(Sub{1});
  a.send(Sub{2});
  b.send(Add{1});  // b is alive: handled, no dead letter
  shutdown_and_expect_accounting(rt);
  b.send(Sub{5});  // after shutdown: a dead letter to b, on this thread
  std::lock_guard lock(mu);
  // One sender, so the order is the send order (and each was drained by this thread).
  const std::vector<std::pair<troupe::actor_id, std::type_index>> expected{
      {a.id(), std::type_index(typeid(Add))},
      {a.id(), std::type_index(typeid(Sub))},
      {a.id(), std::type_index(typeid(Sub))},
      {b.id(), std::type_index(typeid(Sub))}};
  EXPECT_EQ(seen, expected) << "the type is the alternative sent, not the variant";
  const auto s = rt.stats();
  EXPECT_EQ(s.dead_lettered, 4u);
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
}

// ---- worker counts ----------------------------------------------------------------------------

}  // namespace

namespace app {  // a named namespace: demangled names are predictable
struct Order {
  int qty;
};
template <class T>
struct Envelope {
  T v;
};
struct Desk : troupe::actor<Desk, Order, Envelope<long>> {
  void on(Order o) {
    if (o.qty < 0) throw std::runtime_error("negative quantity");
  }
  void on(Envelope<long>) {}
};
struct Odd {};
struct Thrower : troupe::actor<Thrower, Order> {
  void on(Order) { throw Odd{}; }  // not a std::exception
};
}  // namespace app

namespace {

TEST(Stats, DeadLettersNameTheirMessageTypeReadably) {
  std::mutex mu;
  std::vector<std::string> names, lines;
  troupe::runtime_config c = with_workers(1);
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    std::lock_guard lock(mu);
    names.push_back(d.message_type_name());
    lines.push_back(troupe::to_string(d));
  };
  troupe::runtime rt(std::move(c));
  auto desk = rt.spawn<app::Desk>();
  desk.close();
  desk.join();
  desk.send(app::Order{1});
  desk.send(app::Envelope<long>{2});
  const std::string id = std::to_string(desk.id());
  shutdown_and_expect_accounting(rt);
  std::lock_guard lock(mu);
  EXPECT_EQ(names, (std::vector<std::string>{"app::Order", "app::Envelope<long>"}));
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "dead letter: app::Order to actor " + id + " (stopped)",
                       "dead letter: app::Envelope<long> to actor " + id + " (stopped)"}));
}

TEST(Stats, DeadLetterReasonsAndALateReplyHaveReadableNames) {
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::stopped), "stopped");
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::shutdown), "shutdown");
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::shutdown_deadline),
               "shutdown_deadline");
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::killed), "killed");
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::failed), "failed");
  EXPECT_STREQ(troupe::to_string(troupe::dead_letter_reason::late_reply), "late_reply");
  const troupe::dead_letter late{0, typeid(long), troupe::dead_letter_reason::late_reply};
  EXPECT_EQ(troupe::to_string(late), "dead letter: long to no actor (late_reply)");
}

TEST(Stats, AFailureNamesTheActorAndTheExceptionTypeReadably) {
  std::mutex mu;
  std::vector<troupe::failure> failures;
  troupe::runtime_config c = with_workers(1);
  c.on_failure = [&](const troupe::failure& f) {
    std::lock_guard lock(mu);
    failures.push_back(f);
  };
  troupe::runtime rt(std::move(c));
  auto desk = rt.spawn<app::Desk>();
  auto thrower = rt.spawn<app::Thrower>();
  desk.send(app::Order{-1});
  thrower.send(app::Order{1});
  desk.join();
  thrower.join();
  shutdown_and_expect_accounting(rt);
  std::lock_guard lock(mu);
  ASSERT_EQ(failures.size(), 2u);
  const troupe::failure& fd = failures[0].actor == desk.id() ? failures[0] : failures[1];
  const troupe::failure& ft = failures[0].actor == desk.id() ? failures[1] : failures[0];
  EXPECT_EQ(fd.actor_type, "app::Desk");
  EXPECT_EQ(fd.error_type(), "std::runtime_error");
  EXPECT_EQ(troupe::to_string(fd), "actor app::Desk (id " + std::to_string(desk.id()) +
                                       ") stopped by std::runtime_error: negative quantity");
  EXPECT_EQ(ft.error_type(), "app::Odd");
  EXPECT_EQ(troupe::to_string(ft), "actor app::Thrower (id " + std::to_string(thrower.id()) +
                                       ") stopped by app::Odd: (not a std::exception)");
  EXPECT_EQ(troupe::failure{}.error_type(), "");
}

TEST(Stats, TheDefaultFailureReportIsOneReadableLineOnStderr) {
  testing::internal::CaptureStderr();
  {
    troupe::runtime rt(with_workers(1));
    auto desk = rt.spawn<app::Desk>();
    desk.send(app::Order{-3});
    desk.join();
    const std::string id = std::to_string(desk.id());
    rt.shutdown();
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "troupe: actor app::Desk (id " + id +
                       ") stopped by std::runtime_error: negative quantity\n");
  }
}

TEST(Stats, WorkersDefaultsToTheHardwareThreads) {
  troupe::runtime rt;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(rt.workers(), hw);
}

class StatsWithWorkers : public ::testing::TestWithParam<unsigned> {};

TEST_P(StatsWithWorkers, TheConfiguredWorkerCountIsUsed) {
  troupe::runtime rt(with_workers(GetParam()));
  EXPECT_EQ(rt.workers(), GetParam());
}

// A ring of relays passing tokens around, fed by two outside threads. Every 8th relay is
// closed before the tokens start, so each token travels to the next closed relay and dies
// there as exactly one dead letter: the counts are known exactly.
struct Token {
  int hops_left;
};
struct RingOut {
  std::atomic<long> handled{0};
};
struct Relay : troupe::actor<Relay, Token> {
  Relay(RingOut* out, const std::vector<troupe::ref<Token>>* ring, std::size_t next)
      : out_(out), ring_(ring), next_(next) {}
  void on(Token t) {
    out_->handled.fetch_add(1, std::memory_order_relaxed);
    if (t.hops_left > 0) (*ring_)[next_].send(Token{t.hops_left - 1});
  }

 private:
  RingOut* out_;
  const std::vector<troupe::ref<Token>>* ring_;
  std::size_t next_;
};

TEST_P(StatsWithWorkers, SentEqualsHandledPlusDeadLetteredForARingWithClosedRelays) {
  constexpr std::size_t ring_size = 32;
  constexpr std::size_t closed_every = 8;
  constexpr int senders = 2;
  constexpr int tokens_per_sender = 500;
  constexpr std::uint64_t tokens = std::uint64_t{senders} * tokens_per_sender;
  std::atomic<std::uint64_t> deaths{0};
  troupe::runtime_config c = with_workers(GetParam());
  c.on_dead_letter = [&deaths](const troupe::dead_letter&) {
    deaths.fetch_add(1, std::memory_order_release);
  };
  troupe::runtime rt(std::move(c));
  RingOut out;
  std::vector<troupe::ref<Token>> ring;  // complete before the first send; read-only after
  for (std::size_t i = 0; i < ring_size; ++i) {
    ring.push_back(rt.spawn<Relay>(&out, &ring, (i + 1) % ring_size));
  }
  for (std::size_t i = 0; i < ring_size; i += closed_every) {
    ring[i].close();
    ring[i].join();
  }
  std::uint64_t expected_handled = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < senders; ++t) {
    for (int i = 0; i < tokens_per_sender; ++i) {
      const std::size_t start = static_cast<std::size_t>(i + t) % ring_size;
      // relays start, start+1, ... up to the next closed one handle it (40 hops suffice)
      expected_handled += start % closed_every == 0 ? 0 : closed_every - start % closed_every;
    }
    ts.emplace_back([&ring, t] {
      for (int i = 0; i < tokens_per_sender; ++i) {
        ring[static_cast<std::size_t>(i + t) % ring_size].send(Token{40});
      }
    });
  }
  for (auto& t : ts) t.join();
  // Wait for quiescence (every token has died) before shutdown: shutdown closes all relays
  // at once, which would cut short the tokens still travelling.
  while (deaths.load(std::memory_order_acquire) < tokens) std::this_thread::yield();
  shutdown_and_expect_accounting(rt);
  const auto s = rt.stats();
  EXPECT_EQ(s.handled, static_cast<std::uint64_t>(out.handled.load()));
  EXPECT_EQ(s.handled, expected_handled);
  EXPECT_EQ(s.dead_lettered, tokens) << "each token dies exactly once, at a closed relay";
  EXPECT_EQ(s.sent, expected_handled + tokens);
  EXPECT_EQ(s.spawned, ring_size);
  std::printf("[stats] workers=%u sent=%llu handled=%llu dead=%llu steals=%llu parks=%llu\n",
              GetParam(), static_cast<unsigned long long>(s.sent),
              static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered),
              static_cast<unsigned long long>(s.steals), static_cast<unsigned long long>(s.parks));
}

TEST_P(StatsWithWorkers, CountersReadWhileRunningNeverDecrease) {
  troupe::runtime rt(with_workers(GetParam()));
  auto a = rt.spawn<Acc>();
  auto b = rt.spawn<Acc>();
  std::atomic<bool> done{false};
  std::vector<std::string> problems;
  std::thread reader([&] {
    troupe::runtime_stats last{};
    while (!done.load(std::memory_order_acquire)) {
      const troupe::runtime_stats s = rt.stats();
      auto check = [&](const char* name, std::uint64_t now, std::uint64_t before) {
        if (now < before && problems.size() < 10) {
          problems.push_back(std::string(name) + " went from " + std::to_string(before) + " to " +
                             std::to_string(now));
        }
      };
      check("sent", s.sent, last.sent);
      check("handled", s.handled, last.handled);
      check("dead_lettered", s.dead_lettered, last.dead_lettered);
      check("spawned", s.spawned, last.spawned);
      check("stopped", s.stopped, last.stopped);
      check("steals", s.steals, last.steals);
      check("parks", s.parks, last.parks);
      last = s;
    }
  });
#if defined(__SANITIZE_THREAD__)
  constexpr int n = 5'000;
#else
  constexpr int n = 100'000;
#endif
  for (int i = 0; i < n; ++i) {
    a.send(Add{i});
    b.send(Sub{i});
    if (i == n / 2) a.close();
  }
  shutdown_and_expect_accounting(rt);
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(rt.stats().sent, 2u * n);
}

INSTANTIATE_TEST_SUITE_P(Workers, StatsWithWorkers, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
