// Awaiting a result inside an actor — await() in a blocking actor, co_await in a coroutine
// actor (troupe/blocking_actor.hpp, troupe/coro_actor.hpp) — and what ends the wait besides
// the result itself:
//   * the reply to an ask() the actor sent to itself, whose request still waits unreceived in
//     its own queue, can never come while it waits: the await fails with troupe::error at
//     once instead of deadlocking (an event actor's then() on such an ask still works, and an
//     own request that was received and passed on is awaited normally);
//   * a close() that arrives while the actor awaits ends the wait with troupe::actor_exit, so
//     join() and shutdown() return, and so does every later await, as every later receive
//     does; a result already ready still wins; messages sent before the close are still
//     received; a reply that comes after its await ended is dropped and accounted
//     (sent == handled + dead_lettered): taken by the actor's turn if it still runs, else a
//     dead letter.
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

// Keeps requests until told to answer them: the test decides when the reply comes.
struct Release {};
struct Holder : troupe::actor<Holder, square_request, Release> {
  explicit Holder(std::atomic<int>* received) : received_(received) {}
  void on(square_request r) {
    held_.push_back(std::move(r));
    received_->fetch_add(1);
  }
  void on(Release) {
    for (auto& r : held_) r.reply(long{r.value()} * r.value());
    held_.clear();
  }
  std::atomic<int>* received_;
  std::vector<square_request> held_;
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

// Awaits a reply from `h` (a Holder) that comes only when the test says. With carry_on, it
// catches the actor_exit a close() during that await causes, tries to await one more reply
// (actor_exit at once: the close was taken already), then receives what was sent before the
// close; without, it lets actor_exit end run().
struct BlockingCloseAsker : troupe::blocking_actor<BlockingCloseAsker, Seq> {
  BlockingCloseAsker(troupe::ref<square_request, Release> h, bool carry_on, log_type* log)
      : h_(std::move(h)), carry_on_(carry_on), log_(log) {}
  void run() {
    try {
      log_->push_back("reply " + std::to_string(await(troupe::ask(h_, 1))));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit during await");
      if (!carry_on_) throw;
    }
    try {
      log_->push_back("reply " + std::to_string(await(troupe::ask(h_, 2))));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit at once");
    }
    try {
      for (;;) log_->push_back("seq " + std::to_string(recv().n));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  troupe::ref<square_request, Release> h_;
  bool carry_on_;
  log_type* log_;
};

struct CoroCloseAsker : troupe::coro_actor<CoroCloseAsker, Seq> {
  CoroCloseAsker(troupe::ref<square_request, Release> h, bool carry_on, log_type* log)
      : h_(std::move(h)), carry_on_(carry_on), log_(log) {}
  task run() {
    try {
      const long v = co_await troupe::ask(h_, 1);
      log_->push_back("reply " + std::to_string(v));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit during await");
      if (!carry_on_) throw;
    }
    try {
      const long v = co_await troupe::ask(h_, 2);
      log_->push_back("reply " + std::to_string(v));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit at once");
    }
    try {
      for (;;) {
        const Seq s = co_await recv();
        log_->push_back("seq " + std::to_string(s.n));
      }
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  troupe::ref<square_request, Release> h_;
  bool carry_on_;
  log_type* log_;
};

// Closes itself (so the sentinel is queued for certain), then awaits results that are
// already ready: the values win over the close, which the next receive reports.
struct BlockingReadyCloser : troupe::blocking_actor<BlockingReadyCloser, Seq> {
  explicit BlockingReadyCloser(log_type* log) : log_(log) {}
  void run() {
    self().close();
    troupe::promise<long> p;
    p.set_value(5);
    log_->push_back("value " + std::to_string(await(p.get_result())));
    troupe::promise<long> q;  // the close is taken now, but nothing is left to wait for
    q.set_value(6);
    log_->push_back("value " + std::to_string(await(q.get_result())));
    try {
      (void)recv();
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  log_type* log_;
};

struct CoroReadyCloser : troupe::coro_actor<CoroReadyCloser, Seq> {
  explicit CoroReadyCloser(log_type* log) : log_(log) {}
  task run() {
    self().close();
    troupe::promise<long> p;
    p.set_value(5);
    const long v = co_await p.get_result();
    log_->push_back("value " + std::to_string(v));
    troupe::promise<long> q;  // the close is taken now, but nothing is left to wait for
    q.set_value(6);
    const long w = co_await q.get_result();
    log_->push_back("value " + std::to_string(w));
    try {
      (void)co_await recv();
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
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

// Awaits a result that nobody completes while the runtime runs.
struct BlockingForever : troupe::blocking_actor<BlockingForever, Seq> {
  explicit BlockingForever(troupe::result<long> r) : r_(std::move(r)) {}
  void run() { (void)await(std::move(r_)); }
  troupe::result<long> r_;
};

struct CoroForever : troupe::coro_actor<CoroForever, Seq> {
  explicit CoroForever(troupe::result<long> r) : r_(std::move(r)) {}
  task run() { (void)co_await std::move(r_); }
  troupe::result<long> r_;
};

struct blocking_kind {
  using self_asker = BlockingSelfAsker;
  using close_asker = BlockingCloseAsker;
  using ready_closer = BlockingReadyCloser;
  using late_reply = BlockingLateReply;
  using forever = BlockingForever;
};
struct coroutine_kind {
  using self_asker = CoroSelfAsker;
  using close_asker = CoroCloseAsker;
  using ready_closer = CoroReadyCloser;
  using late_reply = CoroLateReply;
  using forever = CoroForever;
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

// ---- a close() while awaiting ---------------------------------------------------------------

TYPED_TEST(Await, ACloseWhileAwaitingEndsTheAwaitAndALaterReplyIsADeadLetter) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    dead_letter_log dead;
    troupe::runtime rt(dead.config(w));
    std::atomic<int> received{0};
    auto h = rt.spawn<Holder>(&received);
    log_type log;
    auto a = rt.spawn<typename TypeParam::close_asker>(h, false, &log);
    wait_until("the holder getting the ask", [&] { return received.load() == 1; });
    a.close();
    returns_within("join() of an actor closed while it awaits", [&] { a.join(); });
    EXPECT_EQ(log, log_type{"exit during await"});
    h.send(Release{});  // the reply comes after the asker stopped
    h.close();
    returns_within("join() of the holder", [&] { h.join(); });
    EXPECT_EQ(dead.count(typeid(troupe::result<long>)), 1u);
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().dead_lettered, 1u);
  }
}

TYPED_TEST(Await, AfterACloseEndedTheAwaitLaterAwaitsGiveUpAndEarlierMessagesAreReceived) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    dead_letter_log dead;
    troupe::runtime rt(dead.config(w));
    std::atomic<int> received{0};
    auto h = rt.spawn<Holder>(&received);
    log_type log;
    auto a = rt.spawn<typename TypeParam::close_asker>(h, true, &log);
    wait_until("the holder getting the ask", [&] { return received.load() == 1; });
    for (int i = 0; i < 3; ++i) a.send(Seq{i});
    a.close();
    a.send(Seq{99});  // behind the close: a dead letter
    returns_within("join() of an actor closed while it awaits", [&] { a.join(); });
    EXPECT_EQ(log,
              (log_type{"exit during await", "exit at once", "seq 0", "seq 1", "seq 2", "exit"}));
    // Both requests reached the holder (the second before the asker stopped, so before this
    // Release). The first reply is a dead letter; the second had no one waiting at all (its
    // await gave up before it attached to the result), so it is not a message to anyone.
    h.send(Release{});
    h.close();
    returns_within("join() of the holder", [&] { h.join(); });
    EXPECT_EQ(received.load(), 2);
    EXPECT_EQ(dead.count(typeid(troupe::result<long>)), 1u);
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().dead_lettered, 2u);  // Seq{99} and the first reply
  }
}

TYPED_TEST(Await, AResultAlreadyReadyWhenTheCloseArrivesStillReturnsItsValue) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    troupe::runtime rt(with_workers(w));
    log_type log;
    auto a = rt.spawn<typename TypeParam::ready_closer>(&log);
    returns_within("join() of an actor that closed itself", [&] { a.join(); });
    EXPECT_EQ(log, (log_type{"value 5", "value 6", "exit"}));
    shutdown_and_expect_accounting(rt);
  }
}

TYPED_TEST(Await, ShutdownReturnsWhileAnActorAwaitsAResultNobodyCompletes) {
  for (unsigned w : worker_counts) {
    SCOPED_TRACE(std::to_string(w) + " workers");
    troupe::runtime rt(with_workers(w));
    {
      troupe::promise<long> never;
      auto a = rt.spawn<typename TypeParam::forever>(never.get_result());
      returns_within("shutdown() while an actor awaits", [&] { rt.shutdown(); });
      EXPECT_TRUE(a.stopped());
    }  // the promise breaks now: its delivery to the stopped actor is a dead letter
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().dead_lettered, 1u);
  }
}

}  // namespace
