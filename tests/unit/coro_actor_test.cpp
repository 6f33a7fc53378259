// Coroutine actors (troupe/coro_actor.hpp): run() starts at spawn, co_await recv() yields
// messages in per-sender order, close() surfaces as troupe::actor_exit, and every way run()
// can end stops the actor with the same accounting as an event actor.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <variant>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

class CoroActor : public ::testing::TestWithParam<unsigned> {};

// ---- starting -------------------------------------------------------------------------

struct Starter : troupe::coro_actor<Starter, int> {
  explicit Starter(std::latch* started) : started_(started) {}
  task run() {
    started_->count_down();  // before any message exists
    for (;;) (void)co_await recv();
  }
  std::latch* started_;
};

TEST_P(CoroActor, RunStartsAtSpawnWithoutWaitingForAMessage) {
  troupe::runtime rt(with_workers(GetParam()));
  std::latch started(1);
  auto a = rt.spawn<Starter>(&started);
  started.wait();  // would hang if run() waited for a first message
  shutdown_and_expect_accounting(rt);
}

// ---- order and exactly-once -----------------------------------------------------------

struct Seq {
  int sender;
  int n;
};

struct Recorder : troupe::coro_actor<Recorder, Seq> {
  Recorder(int senders, std::vector<int>* last, std::atomic<int>* out_of_order)
      : last_(last), out_of_order_(out_of_order) {
    last_->assign(static_cast<std::size_t>(senders), -1);
  }
  task run() {
    for (;;) {
      const Seq s = co_await recv();
      int& prev = (*last_)[static_cast<std::size_t>(s.sender)];
      if (s.n != prev + 1) out_of_order_->fetch_add(1);
      prev = s.n;
    }
  }
  std::vector<int>* last_;
  std::atomic<int>* out_of_order_;
};

TEST_P(CoroActor, MessagesFromEachSenderArriveOnceAndInOrder) {
#if defined(__SANITIZE_THREAD__)
  constexpr int kPerSender = 5'000;
#else
  constexpr int kPerSender = 50'000;
#endif
  constexpr int kSenders = 4;
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<int> last;
  std::atomic<int> out_of_order{0};
  auto r = rt.spawn<Recorder>(kSenders, &last, &out_of_order);
  std::vector<std::thread> ts;
  for (int s = 0; s < kSenders; ++s) {
    ts.emplace_back([&r, s] {
      for (int i = 0; i < kPerSender; ++i) r.send(Seq{s, i});
    });
  }
  for (auto& t : ts) t.join();
  r.close();
  r.join();
  EXPECT_EQ(out_of_order.load(), 0);
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(last[static_cast<std::size_t>(s)], kPerSender - 1);
  rt.shutdown();
  EXPECT_EQ(rt.stats().handled, std::uint64_t{kSenders} * kPerSender);
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
  shutdown_and_expect_accounting(rt);
}

// ---- closing --------------------------------------------------------------------------

struct Closing : troupe::coro_actor<Closing, int> {
  struct log {
    std::vector<int> got;
    int exits_seen = 0;
    bool second_recv_threw = false;
    bool stopped_after_run = false;
    bool run_ended = false;
  };
  explicit Closing(log* l) : l_(l) {}
  task run() {
    try {
      for (;;) l_->got.push_back(co_await recv());
    } catch (const troupe::actor_exit&) {
      ++l_->exits_seen;
    }
    try {
      (void)co_await recv();  // every recv after the sentinel throws again
    } catch (const troupe::actor_exit&) {
      l_->second_recv_threw = true;
    }
    l_->run_ended = true;
  }
  void on_stop() { l_->stopped_after_run = l_->run_ended; }
  log* l_;
};

TEST_P(CoroActor, CloseThrowsActorExitAfterEverythingSentBeforeIt) {
  troupe::runtime rt(with_workers(GetParam()));
  Closing::log l;
  auto a = rt.spawn<Closing>(&l);
  for (int i = 0; i < 1000; ++i) a.send(i);
  a.close();
  a.join();
  ASSERT_EQ(l.got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(l.got[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(l.exits_seen, 1);
  EXPECT_TRUE(l.second_recv_threw);
  EXPECT_TRUE(l.stopped_after_run) << "on_stop must run after run() has ended";
  EXPECT_TRUE(a.stopped());
  a.send(7);  // after the stop: a dead letter
  rt.shutdown();
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
  EXPECT_EQ(rt.stats().failed, 0u);
  shutdown_and_expect_accounting(rt);
}

TEST_P(CoroActor, CloseBeforeTheFirstRecvEndsRunCleanly) {
  troupe::runtime rt(with_workers(GetParam()));
  Closing::log l;
  auto a = rt.spawn<Closing>(&l);
  a.close();  // may well reach the mailbox before run() first awaits
  a.join();
  EXPECT_TRUE(l.got.empty());
  EXPECT_EQ(l.exits_seen, 1);
  shutdown_and_expect_accounting(rt);
}

struct LetsExitEscape : troupe::coro_actor<LetsExitEscape, int> {
  task run() {
    for (;;) (void)co_await recv();  // actor_exit escapes run()
  }
};

TEST_P(CoroActor, ActorExitEscapingRunIsANormalStop) {
  std::atomic<int> failures{0};
  troupe::runtime_config c = with_workers(GetParam());
  c.on_failure = [&](const troupe::failure&) { failures.fetch_add(1); };
  troupe::runtime rt(std::move(c));
  auto a = rt.spawn<LetsExitEscape>();
  a.send(1);
  a.close();
  a.join();
  rt.shutdown();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(rt.stats().failed, 0u);
  shutdown_and_expect_accounting(rt);
}

TEST_P(CoroActor, ShutdownClosesACoroutineActorNobodyClosed) {
  troupe::runtime rt(with_workers(GetParam()));
  Closing::log l;
  auto a = rt.spawn<Closing>(&l);
  a.send(1);
  rt.shutdown();
  EXPECT_EQ(l.exits_seen, 1);
  EXPECT_TRUE(a.stopped());
  shutdown_and_expect_accounting(rt);
}

// ---- returning early and failing -----------------------------------------------------

struct TakesTwo : troupe::coro_actor<TakesTwo, int> {
  task run() {
    (void)co_await recv();
    (void)co_await recv();
  }  // returns: the actor stops, the rest are dead letters
};

TEST_P(CoroActor, ReturningFromRunStopsTheActorAndTheRestAreDeadLetters) {
  std::atomic<int> dead_to_it{0};
  troupe::runtime_config c = with_workers(GetParam());
  troupe::actor_id id = 0;
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    if (d.receiver == id && d.message_type == typeid(int)) dead_to_it.fetch_add(1);
  };
  troupe::runtime rt(std::move(c));
  {
    // Hold the actor until the callback knows its id: spawn, then send.
    auto a = rt.spawn<TakesTwo>();
    id = a.id();
    for (int i = 0; i < 5; ++i) a.send(i);
    a.join();
    a.send(99);
    rt.shutdown();
  }
  EXPECT_EQ(rt.stats().handled, 2u);
  EXPECT_EQ(rt.stats().dead_lettered, 4u);
  EXPECT_EQ(dead_to_it.load(), 4);
  EXPECT_EQ(rt.stats().failed, 0u);
  shutdown_and_expect_accounting(rt);
}

struct Thrower : troupe::coro_actor<Thrower, int> {
  explicit Thrower(std::atomic<bool>* stopped) : stopped_(stopped) {}
  task run() {
    for (;;) {
      const int n = co_await recv();
      if (n == 3) throw std::runtime_error("three");
    }
  }
  void on_stop() { stopped_->store(true); }
  std::atomic<bool>* stopped_;
};

TEST_P(CoroActor, AnExceptionFromRunIsAFailureThatStopsOnlyThisActor) {
  std::atomic<int> failures{0};
  std::string what;
  std::string type;
  troupe::runtime_config c = with_workers(GetParam());
  c.on_failure = [&](const troupe::failure& f) {
    try {
      std::rethrow_exception(f.error);
    } catch (const std::exception& e) {
      what = e.what();
    }
    type = f.actor_type;
    failures.fetch_add(1);
  };
  troupe::runtime rt(std::move(c));
  std::atomic<bool> stopped{false};
  auto t = rt.spawn<Thrower>(&stopped);
  std::vector<int> got;
  Closing::log l;
  auto sibling = rt.spawn<Closing>(&l);
  for (int i = 0; i < 10; ++i) {
    t.send(i);
    sibling.send(i);
  }
  t.join();
  sibling.close();
  sibling.join();
  rt.shutdown();
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(what, "three");
  EXPECT_NE(type.find("Thrower"), std::string::npos) << type;
  EXPECT_TRUE(stopped.load()) << "on_stop runs after a failure too";
  EXPECT_EQ(l.got.size(), 10u) << "the sibling is unaffected";
  EXPECT_EQ(rt.stats().failed, 1u);
  // Thrower took 0..3 (4 handled), 4..9 are dead letters.
  EXPECT_EQ(rt.stats().dead_lettered, 6u);
  shutdown_and_expect_accounting(rt);
}

// ---- several message types, fairness, conversation ------------------------------------

struct Ping {
  int n;
};
struct Pong {
  std::string s;
};

struct Multi : troupe::coro_actor<Multi, Ping, Pong> {
  explicit Multi(std::vector<std::string>* out) : out_(out) {}
  task run() {
    for (;;) {
      auto m = co_await recv();  // std::variant<Ping, Pong>
      if (auto* p = std::get_if<Ping>(&m)) {
        out_->push_back("ping " + std::to_string(p->n));
      } else {
        out_->push_back("pong " + std::get<Pong>(m).s);
      }
    }
  }
  std::vector<std::string>* out_;
};

TEST_P(CoroActor, SeveralMessageTypesArriveAsAVariantInSendOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::string> out;
  auto m = rt.spawn<Multi>(&out);
  m.send(Ping{1});
  m.send(Pong{"a"});
  m.send(Ping{2});
  m.close();
  m.join();
  EXPECT_EQ(out, (std::vector<std::string>{"ping 1", "pong a", "ping 2"}));
  shutdown_and_expect_accounting(rt);
}

struct Spinner : troupe::coro_actor<Spinner, int> {
  Spinner(std::atomic<bool>* other_ran, std::atomic<int>* taken_before)
      : other_ran_(other_ran), taken_before_(taken_before) {}
  task run() {
    int taken = 0;
    for (;;) {
      (void)co_await recv();
      ++taken;
      if (!other_ran_->load() && taken > taken_before_->load()) taken_before_->store(taken);
    }
  }
  std::atomic<bool>* other_ran_;
  std::atomic<int>* taken_before_;
};

struct Flag : troupe::actor<Flag, int> {
  explicit Flag(std::atomic<bool>* ran) : ran_(ran) {}
  void on(int) { ran_->store(true); }
  std::atomic<bool>* ran_;
};

TEST(CoroActorFairness, ACoroutineWithAFullMailboxYieldsItsWorkerAfterItsBatch) {
  troupe::runtime rt(with_workers(1, 4));
  std::atomic<bool> other_ran{false};
  std::atomic<int> taken_before{0};
  std::latch go(1);
  // Block the only worker so both mailboxes fill before anything runs.
  struct Gate : troupe::actor<Gate, int> {
    explicit Gate(std::latch* l) : l_(l) {}
    void on(int) { l_->wait(); }
    std::latch* l_;
  };
  auto gate = rt.spawn<Gate>(&go);
  gate.send(0);
  auto s = rt.spawn<Spinner>(&other_ran, &taken_before);
  for (int i = 0; i < 10'000; ++i) s.send(i);
  auto f = rt.spawn<Flag>(&other_ran);
  f.send(1);
  go.count_down();
  s.close();
  s.join();
  EXPECT_TRUE(other_ran.load());
  EXPECT_LT(taken_before.load(), 10'000) << "the coroutine never yielded its worker";
  shutdown_and_expect_accounting(rt);
}

struct Question {
  int n;
  troupe::ref<int> reply_to;
};

struct Doubler : troupe::coro_actor<Doubler, Question> {
  task run() {
    for (;;) {
      Question q = co_await recv();
      q.reply_to.send(2 * q.n);
    }
  }
};

struct Asker : troupe::coro_actor<Asker, int> {
  Asker(troupe::ref<Question> server, int rounds, std::atomic<long>* sum)
      : server_(std::move(server)), rounds_(rounds), sum_(sum) {}
  task run() {
    long sum = 0;
    for (int i = 1; i <= rounds_; ++i) {
      server_.send(Question{i, self()});
      sum += co_await recv();  // suspends until the reply
    }
    sum_->store(sum);
    server_.close();
  }
  troupe::ref<Question> server_;
  int rounds_;
  std::atomic<long>* sum_;
};

TEST_P(CoroActor, TwoCoroutineActorsHoldAConversation) {
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<long> sum{0};
  constexpr int kRounds = 2000;
  auto server = rt.spawn<Doubler>();
  auto client = rt.spawn<Asker>(server, kRounds, &sum);
  client.join();
  server.join();
  EXPECT_EQ(sum.load(), 2L * kRounds * (kRounds + 1) / 2);
  shutdown_and_expect_accounting(rt);
}

TEST(CoroActorErrors, SpawnAfterShutdownThrowsAndNeverStartsRun) {
  troupe::runtime rt(with_workers(1));
  rt.shutdown();
  std::latch started(1);
  EXPECT_THROW((void)rt.spawn<Starter>(&started), troupe::error);
  EXPECT_FALSE(started.try_wait());
}

INSTANTIATE_TEST_SUITE_P(Workers, CoroActor, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
