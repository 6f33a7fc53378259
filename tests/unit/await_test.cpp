// Awaiting a result inside an actor — await() in a blocking actor, co_await in a coroutine
// actor (troupe/blocking_actor.hpp, troupe/coro_actor.hpp) — and what ends the wait besides
// the result itself:
//   * the reply to an ask() the actor sent to itself, whose request still waits unreceived in
//     its own queue, can never come while it waits: the await fails with troupe::error at
//     once instead of deadlocking (an event actor's then() on such an ask still works, and an
//     own request that was received and passed on is awaited normally);
//   * a reply that comes after its await ended is dropped and accounted (sent == handled +
//     dead_lettered): taken by the actor's turn if it still runs, else a dead letter.
// Every test runs for both actor kinds, with one and with two workers. A wait that would hang
// if the bug came back is guarded by a 60 s watchdog that fails the test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::returns_within;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

using square_request = troupe::request<int, long>;
using log_type = std::vector<std::string>;  // written by one actor, read after its join()

constexpr unsigned worker_counts[] = {1, 2};

struct Squarer : troupe::actor<Squarer, square_request> {
  void on(square_request r) { r.reply(long{r.value()} * r.value()); }
};

struct Seq {
  int n;
};

// Records dead letters by type (any thread).
struct dead_letter_log {
  std::mutex mu;
  std::vector<std::string> types;

  troupe::runtime_config config(unsigned workers) {
    troupe::runtime_config c = with_workers(workers);
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      types.emplace_back(d.message_type.name());
    };
    return c;
  }
  std::size_t count(const std::type_info& t) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& name : types) n += name == t.name() ? 1 : 0;
    return n;
  }
};

// ---- the actors, once as blocking and once as coroutine actors ------------------------------

// How an actor asks itself before awaiting the reply.
enum class self_ask {
  plain,          // await(ask(self(), 7))
  timed,          // the same with a timeout of an hour: fails at once all the same
  stashed_first,  // the request is set aside by an earlier await before this one starts
  forwarded,      // the request is received and passed to a Squarer: awaited normally
};

struct BlockingSelfAsker : troupe::blocking_actor<BlockingSelfAsker, square_request> {
  BlockingSelfAsker(self_ask how, Squarer::handle sq, log_type* log)
      : how_(how), sq_(std::move(sq)), log_(log) {}
  void run() {
    troupe::result<long> r =
        how_ == self_ask::timed ? troupe::ask(self(), 7, 1h) : troupe::ask(self(), 7);
    if (how_ == self_ask::stashed_first) {
      log_->push_back("other " + std::to_string(await(troupe::ask(sq_, 2))));
    }
    if (how_ == self_ask::forwarded) sq_.send(recv());
    try {
      log_->push_back("value " + std::to_string(await(std::move(r))));
    } catch (const troupe::error& e) {
      log_->push_back(std::string("error: ") + e.what());
    }
    if (how_ != self_ask::forwarded) {  // nothing was lost: the request is still queued
      square_request q = recv();
      q.reply(long{q.value()} * q.value());
      log_->push_back("answered");
    }
  }
  self_ask how_;
  Squarer::handle sq_;
  log_type* log_;
};

struct CoroSelfAsker : troupe::coro_actor<CoroSelfAsker, square_request> {
  CoroSelfAsker(self_ask how, Squarer::handle sq, log_type* log)
      : how_(how), sq_(std::move(sq)), log_(log) {}
  task run() {
    troupe::result<long> r =
        how_ == self_ask::timed ? troupe::ask(self(), 7, 1h) : troupe::ask(self(), 7);
    if (how_ == self_ask::stashed_first) {
      const long other = co_await troupe::ask(sq_, 2);
      log_->push_back("other " + std::to_string(other));
    }
    if (how_ == self_ask::forwarded) {
      square_request q = co_await recv();
      sq_.send(std::move(q));
    }
    try {
      const long v = co_await std::move(r);
      log_->push_back("value " + std::to_string(v));
    } catch (const troupe::error& e) {
      log_->push_back(std::string("error: ") + e.what());
    }
    if (how_ != self_ask::forwarded) {  // nothing was lost: the request is still queued
      square_request q = co_await recv();
      q.reply(long{q.value()} * q.value());
      log_->push_back("answered");
    }
  }
  self_ask how_;
  Squarer::handle sq_;
  log_type* log_;
};

// Awaits the reply to its own request (troupe::error: the await ends early), then receives
// and answers that request, so that the reply comes while the actor still runs and waits in
// its next receive: its turn takes the reply and drops it. Stops at the close.
struct BlockingLateReply : troupe::blocking_actor<BlockingLateReply, square_request, Seq> {
  explicit BlockingLateReply(log_type* log) : log_(log) {}
  void run() {
    try {
      (void)await(troupe::ask(self(), 7));
    } catch (const troupe::error&) {
      log_->push_back("error");
    }
    square_request q = recv<square_request>();
    q.reply(49);
    try {
      for (;;) (void)recv();
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  log_type* log_;
};

struct CoroLateReply : troupe::coro_actor<CoroLateReply, square_request, Seq> {
  explicit CoroLateReply(log_type* log) : log_(log) {}
  task run() {
    try {
      (void)co_await troupe::ask(self(), 7);
    } catch (const troupe::error&) {
      log_->push_back("error");
    }
    auto m = co_await recv();  // the only message queued: our request
    std::get<square_request>(m).reply(49);
    try {
      for (;;) (void)co_await recv();
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  log_type* log_;
};

struct blocking_kind {
  using self_asker = BlockingSelfAsker;
  using late_reply = BlockingLateReply;
};
struct coroutine_kind {
  using self_asker = CoroSelfAsker;
  using late_reply = CoroLateReply;
};

struct kind_names {
  template <class K>
  static std::string GetName(int) {
    return std::is_same_v<K, blocking_kind> ? "blocking" : "coroutine";
  }
};

template <class Kind>
class Await : public ::testing::Test {};
using kinds = ::testing::Types<blocking_kind, coroutine_kind>;
TYPED_TEST_SUITE(Await, kinds, kind_names);

// Spawns a self-asker for `how`, waits (watchdog) for it to finish, returns its log.
template <class Kind>
log_type run_self_asker(unsigned workers, self_ask how) {
  troupe::runtime rt(with_workers(workers));
  auto sq = rt.spawn<Squarer>();
  log_type log;
  auto a = rt.spawn<typename Kind::self_asker>(how, sq, &log);
  returns_within("join() of an actor awaiting the reply to its own request", [&] { a.join(); });
  shutdown_and_expect_accounting(rt);
  return log;
}

void expect_own_request_error(const std::string& entry) {
  EXPECT_EQ(entry.rfind("error: troupe: ", 0), 0u) << entry;
  EXPECT_NE(entry.find("own"), std::string::npos) << entry;
  EXPECT_NE(entry.find("self()"), std::string::npos) << entry;
}

// ---- awaiting the reply to one's own request ------------------------------------------------

TYPED_TEST(Await, AwaitingTheReplyToAnUnreceivedAskToSelfFailsInsteadOfDeadlocking) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    const log_type log = run_self_asker<TypeParam>(w, self_ask::plain);
    ASSERT_EQ(log.size(), 2u);
    expect_own_request_error(log[0]);
    EXPECT_EQ(log[1], "answered");
  }
}

TYPED_TEST(Await, ATimeoutDoesNotMakeAnAskToSelfAwaitableItFailsAtOnce) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    const log_type log = run_self_asker<TypeParam>(w, self_ask::timed);
    ASSERT_EQ(log.size(), 2u);
    expect_own_request_error(log[0]);
    EXPECT_EQ(log[1], "answered");
  }
}

TYPED_TEST(Await, AnOwnRequestSetAsideByAnEarlierAwaitIsFoundToo) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    const log_type log = run_self_asker<TypeParam>(w, self_ask::stashed_first);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0], "other 4");
    expect_own_request_error(log[1]);
    EXPECT_EQ(log[2], "answered");
  }
}

TYPED_TEST(Await, AnOwnRequestReceivedAndPassedOnIsAwaitedNormally) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    EXPECT_EQ(run_self_asker<TypeParam>(w, self_ask::forwarded), log_type{"value 49"});
  }
}

TYPED_TEST(Await, AReplyThatComesAfterItsAwaitEndedIsTakenAndDroppedByTheRunningActor) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    dead_letter_log dead;
    troupe::runtime rt(dead.config(w));
    log_type log;
    auto a = rt.spawn<typename TypeParam::late_reply>(&log);
    // Handled: the actor's own request, then the reply to it, taken (and dropped) by the
    // turn while the actor waits in recv(). Counters are monotonic, so polling is sound.
    wait_until("the actor's turn taking the late reply", [&] { return rt.stats().handled == 2; });
    a.close();
    returns_within("join() of the actor", [&] { a.join(); });
    EXPECT_EQ(log, (log_type{"error", "exit"}));
    EXPECT_EQ(dead.count(typeid(troupe::result<long>)), 0u);
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().sent, 2u);
    EXPECT_EQ(rt.stats().dead_lettered, 0u);
  }
}

struct Go {
  int n;
};

// An event actor's continuation runs in a later turn, after the request was handled.
struct EventSelfAsker : troupe::actor<EventSelfAsker, square_request, Go> {
  explicit EventSelfAsker(std::promise<long>* out) : out_(out) {}
  void on(Go g) {
    troupe::ask(self(), g.n).then(*this, [this](troupe::result<long> r) {
      out_->set_value(r.get());
    });
  }
  void on(square_request r) { r.reply(long{r.value()} * r.value()); }
  std::promise<long>* out_;
};

TEST(AwaitEventActor, AnEventActorAskingItselfGetsTheReplyInItsContinuation) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    troupe::runtime rt(with_workers(w));
    std::promise<long> out;
    auto a = rt.spawn<EventSelfAsker>(&out);
    a.send(Go{9});
    long v = 0;
    returns_within("the reply to an event actor's ask to itself",
                   [&] { v = out.get_future().get(); });
    EXPECT_EQ(v, 81);
    shutdown_and_expect_accounting(rt);
  }
}

}  // namespace
