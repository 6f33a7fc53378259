// The life of an event actor, through the public API only (#include "troupe/troupe.hpp"):
// spawn, handlers run one at a time, per-sender order, close() and its sentinel, on_stop(),
// join(), stopped(), shutdown, actors that spawn actors and send to themselves, request/reply
// with refs carried in messages, and reclamation of a stopped actor's memory once its last
// handle goes (LeakSanitizer checks the rest under the asan preset).
//
// Every test that sends ends with shutdown_and_expect_accounting(): after shutdown,
// sent == handled + dead_lettered and every spawned actor has stopped.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;

// The lifecycle tests run with 1, 2 and 4 workers (more workers than the machine's cores
// is deliberate: it forces preemption inside the runtime's critical windows).
class ActorLifecycle : public ::testing::TestWithParam<unsigned> {
 protected:
  troupe::runtime_config config() const {
    troupe::runtime_config c;
    c.workers = GetParam();
    return c;
  }
};

// ---- a recorder: remembers every message and what on_stop() saw ---------------------------

struct Item {
  int value;
};

struct RecorderOut {
  std::vector<int> seen_at_stop;  // written by on_stop(), read after join()
  int stop_calls = 0;
};

struct Recorder : troupe::actor<Recorder, Item> {
  explicit Recorder(RecorderOut* out) : out_(out) {}
  void on(Item i) { seen_.push_back(i.value); }
  void on_stop() {
    out_->seen_at_stop = seen_;
    ++out_->stop_calls;
  }

 private:
  RecorderOut* out_;
  std::vector<int> seen_;
};

std::vector<int> iota_vector(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

TEST_P(ActorLifecycle, OnStopRunsOnceAfterEveryMessageSentBeforeClose) {
  troupe::runtime rt(config());
  RecorderOut out;
  auto r = rt.spawn<Recorder>(&out);
  constexpr int n = 10'000;
  for (int i = 0; i < n; ++i) r.send(Item{i});
  r.close();
  r.join();
  // join() happens-after on_stop(): reading `out` here is race-free (TSan checks that).
  EXPECT_EQ(out.stop_calls, 1);
  EXPECT_EQ(out.seen_at_stop, iota_vector(n));
  EXPECT_TRUE(r.stopped());
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(out.stop_calls, 1) << "shutdown must not run on_stop() of a stopped actor again";
  EXPECT_EQ(rt.stats().handled, static_cast<std::uint64_t>(n));
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
}

TEST_P(ActorLifecycle, OnStopSeesEverySendOfSeveralThreadsThatFinishedBeforeClose) {
  troupe::runtime rt(config());
  RecorderOut out;
  auto r = rt.spawn<Recorder>(&out);
  constexpr int threads = 4;
  constexpr int per_thread = 5'000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([r, t] {
      for (int i = 0; i < per_thread; ++i) r.send(Item{t * per_thread + i});
    });
  }
  for (auto& t : ts) t.join();
  r.close();
  r.join();
  ASSERT_EQ(out.stop_calls, 1);
  EXPECT_EQ(out.seen_at_stop.size(), static_cast<std::size_t>(threads * per_thread));
  shutdown_and_expect_accounting(rt);
}

TEST_P(ActorLifecycle, MessagesSentAfterCloseBecomeDeadLetters) {
  std::atomic<int> dead_to_r{0};
  std::atomic<int> dead_elsewhere{0};
  troupe::actor_id rid = 0;  // set before the first send; read by the callback after that
  troupe::runtime_config c = config();
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    if (d.receiver == rid && d.message_type == typeid(Item)) {
      dead_to_r.fetch_add(1, std::memory_order_relaxed);
    } else {
      dead_elsewhere.fetch_add(1, std::memory_order_relaxed);
    }
  };
  troupe::runtime rt(std::move(c));
  RecorderOut out;
  auto r = rt.spawn<Recorder>(&out);
  rid = r.id();
  for (int i = 0; i < 5; ++i) r.send(Item{i});
  r.close();  // the sentinel sits behind the five and in front of the three
  for (int i = 5; i < 8; ++i) r.send(Item{i});
  r.join();
  EXPECT_EQ(out.seen_at_stop, iota_vector(5));
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(dead_to_r.load(), 3);
  EXPECT_EQ(dead_elsewhere.load(), 0);
  EXPECT_EQ(rt.stats().handled, 5u);
  EXPECT_EQ(rt.stats().dead_lettered, 3u);
}

TEST_P(ActorLifecycle, CloseIsIdempotentFromOneAndFromManyThreads) {
  troupe::runtime rt(config());
  RecorderOut out;
  auto r = rt.spawn<Recorder>(&out);
  r.send(Item{1});
  r.close();
  r.close();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back([r] { r.close(); });
  for (auto& t : ts) t.join();
  r.join();
  r.close();  // after stop: still harmless
  EXPECT_EQ(out.stop_calls, 1);
  EXPECT_EQ(out.seen_at_stop, std::vector<int>{1});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(out.stop_calls, 1);
}

TEST_P(ActorLifecycle, StoppedIsFalseUntilClosedAndTrueAfterJoin) {
  troupe::runtime rt(config());
  RecorderOut out;
  auto r = rt.spawn<Recorder>(&out);
  EXPECT_FALSE(r.stopped());
  r.send(Item{1});
  EXPECT_FALSE(r.stopped()) << "an actor that was not closed cannot have stopped";
  r.close();
  r.join();
  EXPECT_TRUE(r.stopped());
  r.join();  // joining a stopped actor returns at once, as often as you like
  r.join();
  EXPECT_TRUE(r.stopped());
  shutdown_and_expect_accounting(rt);
}

struct Plain : troupe::actor<Plain, Item> {  // no on_stop(): that is fine
  explicit Plain(std::atomic<int>* handled) : handled_(handled) {}
  void on(Item) { handled_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int>* handled_;
};

TEST_P(ActorLifecycle, AnActorWithoutOnStopStopsNormally) {
  troupe::runtime rt(config());
  std::atomic<int> handled{0};
  auto p = rt.spawn<Plain>(&handled);
  for (int i = 0; i < 100; ++i) p.send(Item{i});
  p.close();
  p.join();
  EXPECT_EQ(handled.load(), 100);
  EXPECT_TRUE(p.stopped());
  shutdown_and_expect_accounting(rt);
}

TEST_P(ActorLifecycle, ShutdownDrainsAndStopsActorsThatWereNeverClosed) {
  troupe::runtime rt(config());
  constexpr int actors = 50;
  constexpr int per_actor = 200;
  std::vector<RecorderOut> outs(actors);
  std::vector<Recorder::handle> refs;
  for (auto& o : outs) refs.push_back(rt.spawn<Recorder>(&o));
  for (int i = 0; i < per_actor; ++i) {
    for (auto& r : refs) r.send(Item{i});
  }
  shutdown_and_expect_accounting(rt);
  for (std::size_t a = 0; a < outs.size(); ++a) {
    SCOPED_TRACE("actor " + std::to_string(a));
    EXPECT_EQ(outs[a].stop_calls, 1);
    EXPECT_EQ(outs[a].seen_at_stop, iota_vector(per_actor));
    EXPECT_TRUE(refs[a].stopped());
  }
  EXPECT_EQ(rt.stats().spawned, static_cast<std::uint64_t>(actors));
  EXPECT_EQ(rt.stats().handled, static_cast<std::uint64_t>(actors * per_actor));
}

TEST_P(ActorLifecycle, TheRuntimeDestructorShutsDown) {
  RecorderOut out;
  Recorder::handle r;
  {
    troupe::runtime rt(config());
    r = rt.spawn<Recorder>(&out);
    for (int i = 0; i < 1000; ++i) r.send(Item{i});
  }  // ~runtime: closes r, drains it, joins the workers
  EXPECT_TRUE(r.stopped());
  EXPECT_EQ(out.stop_calls, 1);
  EXPECT_EQ(out.seen_at_stop, iota_vector(1000));
}

// ---- one handler at a time, per-sender order -----------------------------------------------

struct Tagged {
  int sender;
  int seq;
};

struct OrderOut {
  long handled = 0;
  long order_violations = 0;
  long overlaps = 0;
};

struct OrderChecker : troupe::actor<OrderChecker, Tagged> {
  OrderChecker(OrderOut* out, int senders)
      : out_(out), next_(static_cast<std::size_t>(senders), 0) {}
  void on(Tagged t) {
    // Two handlers of one actor running at once would both see busy_ set (and TSan would
    // also flag the plain fields below).
    if (busy_.exchange(true, std::memory_order_relaxed)) ++overlaps_;
    ++handled_;
    int& next = next_[static_cast<std::size_t>(t.sender)];
    if (t.seq != next) ++violations_;
    next = t.seq + 1;
    busy_.store(false, std::memory_order_relaxed);
  }
  void on_stop() {
    out_->handled = handled_;
    out_->order_violations = violations_;
    out_->overlaps = overlaps_;
  }

 private:
  OrderOut* out_;
  std::vector<int> next_;
  std::atomic<bool> busy_{false};
  long handled_ = 0;
  long violations_ = 0;
  long overlaps_ = 0;
};

TEST_P(ActorLifecycle, HandlersRunOneAtATimeAndEachSendersOrderIsKept) {
  troupe::runtime rt(config());
  constexpr int senders = 4;
  constexpr int per_sender = 20'000;
  OrderOut out;
  auto a = rt.spawn<OrderChecker>(&out, senders);
  std::vector<std::thread> ts;
  for (int s = 0; s < senders; ++s) {
    ts.emplace_back([a, s] {
      for (int i = 0; i < per_sender; ++i) a.send(Tagged{s, i});
    });
  }
  for (auto& t : ts) t.join();
  a.close();
  a.join();
  EXPECT_EQ(out.handled, long{senders} * per_sender);
  EXPECT_EQ(out.order_violations, 0);
  EXPECT_EQ(out.overlaps, 0);
  shutdown_and_expect_accounting(rt);
}

// ---- several message types ------------------------------------------------------------------

struct Add {
  long n;
};
struct Mul {
  long n;
};
struct Reset {};

struct Calc : troupe::actor<Calc, Add, Mul, Reset> {
  explicit Calc(std::vector<long>* trace) : trace_(trace) {}
  void on(Add a) { value_ += a.n; }
  void on(Mul m) { value_ *= m.n; }
  void on(Reset) {
    history_.push_back(value_);
    value_ = 0;
  }
  void on_stop() {
    history_.push_back(value_);
    *trace_ = history_;
  }

 private:
  std::vector<long>* trace_;
  std::vector<long> history_;
  long value_ = 0;
};

TEST_P(ActorLifecycle, EachMessageTypeGoesToItsOwnHandlerInSendOrder) {
  troupe::runtime rt(config());
  std::vector<long> trace;
  auto c = rt.spawn<Calc>(&trace);
  c.send(Add{2});
  c.send(Mul{3});
  c.send(Add{1});  // (2*3)+1 = 7, not (2+1)*3
  c.send(Reset{});
  const Add lvalue{10};
  c.send(lvalue);  // copies from an lvalue
  c.send(Mul{-4});
  c.close();
  c.join();
  EXPECT_EQ(trace, (std::vector<long>{7, -40}));
  shutdown_and_expect_accounting(rt);
}

// ---- move-only messages and constructor arguments -------------------------------------------

struct Boxed {
  std::unique_ptr<int> value;
};

struct BoxSum : troupe::actor<BoxSum, Boxed> {
  BoxSum(std::unique_ptr<long> start, std::string name, long* out)
      : sum_(*start), name_(std::move(name)), out_(out) {}
  void on(Boxed b) { sum_ += *b.value; }
  void on_stop() { *out_ = name_ == "box" ? sum_ : -1; }

 private:
  long sum_;
  std::string name_;
  long* out_;
};

TEST_P(ActorLifecycle, MoveOnlyMessagesAndSpawnArgumentsAreForwarded) {
  troupe::runtime rt(config());
  long out = 0;
  auto b = rt.spawn<BoxSum>(std::make_unique<long>(100), std::string("box"), &out);
  for (int i = 1; i <= 10; ++i) b.send(Boxed{std::make_unique<int>(i)});
  b.close();
  b.join();
  EXPECT_EQ(out, 155);
  shutdown_and_expect_accounting(rt);
}

// ---- payloads are destroyed exactly once, handled or dead-lettered ---------------------------

std::atomic<long> g_live_payloads{0};

struct Counted {
  Counted() { g_live_payloads.fetch_add(1, std::memory_order_relaxed); }
  Counted(const Counted&) { g_live_payloads.fetch_add(1, std::memory_order_relaxed); }
  Counted(Counted&&) noexcept { g_live_payloads.fetch_add(1, std::memory_order_relaxed); }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { g_live_payloads.fetch_sub(1, std::memory_order_relaxed); }
};

struct CountedSink : troupe::actor<CountedSink, Counted> {
  void on(Counted) {}
};

TEST_P(ActorLifecycle, EveryPayloadIsDestroyedExactlyOnceHandledOrDeadLettered) {
  g_live_payloads.store(0);
  {
    troupe::runtime rt(config());
    auto s = rt.spawn<CountedSink>();
    for (int i = 0; i < 1000; ++i) s.send(Counted{});
    const Counted lvalue;
    for (int i = 0; i < 10; ++i) s.send(lvalue);
    s.close();
    for (int i = 0; i < 100; ++i) s.send(Counted{});  // dead letters
    s.join();
    for (int i = 0; i < 100; ++i) s.send(lvalue);  // dead letters, drained by this thread
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().handled, 1010u);
    EXPECT_EQ(rt.stats().dead_lettered, 200u);
    EXPECT_EQ(g_live_payloads.load(), 1) << "only `lvalue` itself may still be alive";
  }
  EXPECT_EQ(g_live_payloads.load(), 0);
}

// ---- actors that spawn actors ----------------------------------------------------------------

std::atomic<int> g_child_handled{0};
std::atomic<int> g_child_stopped{0};

struct Ping {};
struct Child : troupe::actor<Child, Ping> {
  void on(Ping) { g_child_handled.fetch_add(1, std::memory_order_relaxed); }
  void on_stop() { g_child_stopped.fetch_add(1, std::memory_order_relaxed); }
};

struct MakeChildren {
  int count;
};
struct Parent : troupe::actor<Parent, MakeChildren> {
  void on(MakeChildren m) {
    for (int i = 0; i < m.count; ++i) {
      Child::handle c = spawn<Child>();  // actor::spawn: on this actor's runtime
      c.send(Ping{});
      c.send(Ping{});
      children_.push_back(std::move(c));  // kept open: shutdown must close them
    }
  }

 private:
  std::vector<Child::handle> children_;
};

TEST_P(ActorLifecycle, AnActorCanSpawnActorsFromAHandler) {
  g_child_handled.store(0);
  g_child_stopped.store(0);
  troupe::runtime rt(config());
  auto p = rt.spawn<Parent>();
  p.send(MakeChildren{100});
  p.send(MakeChildren{50});
  p.close();  // (shutdown right away could refuse the parent's spawns, as documented)
  p.join();   // the children outlive their parent: it only held refs to them
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(g_child_handled.load(), 300);
  EXPECT_EQ(g_child_stopped.load(), 150);
  EXPECT_EQ(rt.stats().spawned, 151u);
  EXPECT_EQ(rt.stats().stopped, 151u);
}

// ---- an actor sends to itself ----------------------------------------------------------------

struct Tick {
  int left;
};
struct Countdown : troupe::actor<Countdown, Tick> {
  explicit Countdown(int* out) : out_(out) {}
  void on(Tick t) {
    ++ticks_;
    if (t.left > 0) {
      self().send(Tick{t.left - 1});
    } else {
      self().close();  // the sentinel lands behind nothing: we were the only sender
    }
  }
  void on_stop() { *out_ = ticks_; }

 private:
  int* out_;
  int ticks_ = 0;
};

TEST_P(ActorLifecycle, AnActorCanSendToItselfAndCloseItself) {
  troupe::runtime rt(config());
  int ticks = 0;
  auto c = rt.spawn<Countdown>(&ticks);
  c.send(Tick{10'000});
  c.join();
  EXPECT_EQ(ticks, 10'001);
  shutdown_and_expect_accounting(rt);
}

struct WhoAmI {
  troupe::ref<WhoAmI> expected;
};
struct SelfCheck : troupe::actor<SelfCheck, WhoAmI> {
  explicit SelfCheck(int* matches) : matches_(matches) {}
  void on(WhoAmI w) {
    const handle me = self();
    if (me == w.expected && me.id() == w.expected.id() &&
        std::hash<handle>{}(me) == std::hash<handle>{}(w.expected)) {
      ++*matches_;
    }
  }

 private:
  int* matches_;
};

TEST_P(ActorLifecycle, SelfEqualsTheHandleSpawnReturned) {
  troupe::runtime rt(config());
  int matches = 0;
  auto s = rt.spawn<SelfCheck>(&matches);
  s.send(WhoAmI{s});  // a message carrying a ref to its receiver: no cycle once handled
  s.close();
  s.join();
  EXPECT_EQ(matches, 1);
  shutdown_and_expect_accounting(rt);
}

// ---- request/reply between two actors, refs travelling in messages ---------------------------

struct Reply {
  long value;
};
struct Kick;
using ClientRef = troupe::ref<Kick, Reply>;
struct Request {
  long x;
  ClientRef reply_to;
};
using ServerRef = troupe::ref<Request>;
struct Kick {
  ServerRef server;
  int requests;
};

struct Server : troupe::actor<Server, Request> {
  explicit Server(long* served) : served_(served) {}
  void on(Request r) {
    ++count_;
    r.reply_to.send(Reply{r.x * 2});
  }
  void on_stop() { *served_ = count_; }

 private:
  long* served_;
  long count_ = 0;
};

struct ClientOut {
  long sum = 0;
  long replies = 0;
};

struct Client : troupe::actor<Client, Kick, Reply> {
  explicit Client(ClientOut* out) : out_(out) {}
  void on(Kick k) {
    server_ = k.server;
    expected_ = k.requests;
    for (int i = 1; i <= k.requests; ++i) server_.send(Request{i, self()});
  }
  void on(Reply r) {
    sum_ += r.value;
    if (++replies_ == expected_) {
      server_.close();
      self().close();
    }
  }
  void on_stop() {
    out_->sum = sum_;
    out_->replies = replies_;
    server_ = {};  // let go of the server
  }

 private:
  ClientOut* out_;
  ServerRef server_;
  long expected_ = -1;
  long sum_ = 0;
  long replies_ = 0;
};

TEST_P(ActorLifecycle, TwoActorsDoRequestReplyWithRefsCarriedInMessages) {
  troupe::runtime rt(config());
  long served = 0;
  ClientOut out;
  ServerRef server = rt.spawn<Server>(&served);
  ClientRef client = rt.spawn<Client>(&out);
  constexpr int n = 5'000;
  client.send(Kick{server, n});
  client.join();
  server.join();
  EXPECT_EQ(out.replies, n);
  EXPECT_EQ(out.sum, long{n} * (n + 1));  // 2 * (1 + ... + n)
  EXPECT_EQ(served, n);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().handled, 2u * n + 1u);
}

// ---- memory: a stopped actor is freed once its last ref goes ---------------------------------

std::atomic<int> g_constructed{0};
std::atomic<int> g_destroyed{0};

struct Mortal : troupe::actor<Mortal, Item> {
  Mortal() { g_constructed.fetch_add(1, std::memory_order_relaxed); }
  ~Mortal() override { g_destroyed.fetch_add(1, std::memory_order_relaxed); }
  void on(Item) {}
};

TEST_P(ActorLifecycle, AStoppedActorLivesWhileARefDoesAndIsDestroyedOnceAfter) {
  g_constructed.store(0);
  g_destroyed.store(0);
  troupe::runtime rt(config());
  auto m = rt.spawn<Mortal>();
  m.send(Item{1});
  m.close();
  m.join();
  rt.shutdown();
  EXPECT_EQ(g_destroyed.load(), 0) << "a ref still refers to the actor";
  m.send(Item{2});  // still valid: a dead letter
  EXPECT_TRUE(m.stopped());
  const auto s = rt.stats();
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.dead_lettered, 1u);
  auto copy = m;
  m = {};
  EXPECT_EQ(g_destroyed.load(), 0) << "`copy` still refers to the actor";
  copy = {};
  EXPECT_EQ(g_destroyed.load(), 1);
  EXPECT_EQ(g_constructed.load(), 1);
  shutdown_and_expect_accounting(rt);
}

TEST_P(ActorLifecycle, AnActorWhoseRefsWereDroppedStillRunsAndIsFreedWhenItStops) {
  g_constructed.store(0);
  g_destroyed.store(0);
  RecorderOut out;
  {
    troupe::runtime rt(config());
    {
      auto r = rt.spawn<Recorder>(&out);
      r.send(Item{7});
      r.send(Item{8});
    }  // no handle left: the runtime's own reference keeps it alive until it stops
    {
      auto m = rt.spawn<Mortal>();
      m.send(Item{1});
    }
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(g_destroyed.load(), 1) << "stopped and unreferenced: freed by shutdown";
  }
  EXPECT_EQ(out.seen_at_stop, (std::vector<int>{7, 8}));
  EXPECT_EQ(g_constructed.load(), 1);
  EXPECT_EQ(g_destroyed.load(), 1);
}

TEST_P(ActorLifecycle, ManyShortLivedActorsAreAllReclaimed) {
  g_constructed.store(0);
  g_destroyed.store(0);
  constexpr int n = 10'000;
  {
    troupe::runtime rt(config());
    for (int i = 0; i < n; ++i) {
      auto m = rt.spawn<Mortal>();
      m.send(Item{i});
      if (i % 2 == 0) m.close();  // the others are closed by shutdown
    }
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(g_destroyed.load(), n);
  }
  EXPECT_EQ(g_constructed.load(), n);
  EXPECT_EQ(g_destroyed.load(), n);
}

// ---- on_start(): the first turn, before any message ----------------------------------------

struct StartLog {
  std::atomic<int> starts{0};
  std::atomic<int> handled_before_start{0};
  std::atomic<int> started_off_worker{0};
  std::vector<int> order;  // the actor's turns only: on_start() is -1, then each Item
};
struct StartedChild : troupe::actor<StartedChild, Item> {
  explicit StartedChild(std::atomic<int>* got) : got_(got) {}
  void on(Item i) { got_->fetch_add(i.value); }
  std::atomic<int>* got_;
};
struct Starter : troupe::actor<Starter, Item> {
  Starter(StartLog* log, std::atomic<int>* child_got) : log_(log), child_got_(child_got) {}
  void on_start() {
    if (!troupe::detail::on_worker_thread()) log_->started_off_worker.fetch_add(1);
    log_->starts.fetch_add(1);
    log_->order.push_back(-1);
    self().send(Item{1'000'000});              // self() works here
    auto c = spawn<StartedChild>(child_got_);  // and so does spawn()
    c.send(Item{7});
    c.close();
  }
  void on(Item i) {
    if (log_->starts.load() == 0) log_->handled_before_start.fetch_add(1);
    log_->order.push_back(i.value);
  }
  StartLog* log_;
  std::atomic<int>* child_got_;
};

TEST_P(ActorLifecycle, OnStartRunsOnceOnAWorkerBeforeAnyMessageEvenOneSentAtOnce) {
  constexpr int kActors = 200;
  constexpr int kItems = 20;
  troupe::runtime rt(config());
  std::vector<std::unique_ptr<StartLog>> logs;
  std::atomic<int> child_got{0};
  std::vector<troupe::ref<Item>> actors;
  for (int a = 0; a < kActors; ++a) {
    logs.push_back(std::make_unique<StartLog>());
    auto r = rt.spawn<Starter>(logs.back().get(), &child_got);
    for (int i = 0; i < kItems; ++i) r.send(Item{i});  // right after spawn() returned
    actors.push_back(std::move(r));
  }
  for (auto& r : actors) r.close();
  for (auto& r : actors) r.join();
  for (const auto& log : logs) {
    EXPECT_EQ(log->starts.load(), 1);
    EXPECT_EQ(log->handled_before_start.load(), 0);
    EXPECT_EQ(log->started_off_worker.load(), 0);
    ASSERT_FALSE(log->order.empty());
    EXPECT_EQ(log->order.front(), -1) << "a message was handled before on_start()";
    // Then the items in send order. The self-send from on_start() comes somewhere after
    // them, or is a dead letter when our close() overtook it.
    std::vector<int> items;
    for (std::size_t k = 1; k < log->order.size(); ++k) {
      if (log->order[k] != 1'000'000) items.push_back(log->order[k]);
    }
    ASSERT_EQ(items.size(), static_cast<std::size_t>(kItems));
    for (int i = 0; i < kItems; ++i) EXPECT_EQ(items[static_cast<std::size_t>(i)], i);
  }
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 0u) << "self() or spawn() failed in on_start()";
  EXPECT_EQ(child_got.load(), 7 * kActors);
}

struct StartFails : troupe::actor<StartFails, Item> {
  explicit StartFails(std::atomic<int>* handled) : handled_(handled) {}
  void on_start() { throw std::runtime_error("cannot start"); }
  void on(Item) { handled_->fetch_add(1); }
  std::atomic<int>* handled_;
};

TEST_P(ActorLifecycle, AnOnStartThatThrowsFailsTheActorAndItsMessagesAreDeadLetters) {
  std::atomic<int> failures{0};
  troupe::runtime_config c = config();
  c.on_failure = [&failures](const troupe::failure&) { failures.fetch_add(1); };
  troupe::runtime rt(std::move(c));
  std::atomic<int> handled{0};
  auto a = rt.spawn<StartFails>(&handled);
  for (int i = 0; i < 10; ++i) a.send(Item{i});
  a.join();  // stops by itself: the failure
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(failures.load(), 1);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 1u);
  EXPECT_EQ(rt.stats().dead_lettered, 10u);
}

INSTANTIATE_TEST_SUITE_P(Workers, ActorLifecycle, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

// ---- fairness: a busy actor gives up its worker after a bounded batch -----------------------

struct Noted {};
struct Observer : troupe::actor<Observer, Noted> {
  Observer(const std::atomic<int>* busy_progress, int* seen)
      : progress_(busy_progress), seen_(seen) {}
  void on(Noted) { *seen_ = progress_->load(std::memory_order_relaxed); }

 private:
  const std::atomic<int>* progress_;
  int* seen_;
};

struct Go {
  troupe::ref<Noted> observer;
  int self_sends;
};
struct Step {};
struct Busy : troupe::actor<Busy, Go, Step> {
  explicit Busy(std::atomic<int>* progress) : progress_(progress) {}
  void on(Go g) {
    for (int i = 0; i < g.self_sends; ++i) self().send(Step{});
    g.observer.send(Noted{});  // wakes the observer while ~all our steps are queued
    g.observer.close();
  }
  void on(Step) { progress_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int>* progress_;
};

TEST(ActorScheduling, ABusyActorYieldsItsOnlyWorkerAfterABoundedBatch) {
  troupe::runtime_config c;
  c.workers = 1;
  c.batch = 4;
  troupe::runtime rt(std::move(c));
  ASSERT_EQ(rt.workers(), 1u);
  std::atomic<int> progress{0};
  int seen = -1;
  auto observer = rt.spawn<Observer>(&progress, &seen);
  auto busy = rt.spawn<Busy>(&progress);
  constexpr int steps = 10'000;
  busy.send(Go{observer, steps});
  observer.join();
  // With one worker, the observer can only run when the busy actor's turn ends; a turn
  // handles at most `batch` messages, so it ran long before the 10,000 steps were done.
  EXPECT_GE(seen, 0);
  EXPECT_LT(seen, steps) << "the busy actor kept the only worker for all of its messages";
  busy.close();
  busy.join();
  EXPECT_EQ(progress.load(), steps);
  shutdown_and_expect_accounting(rt);
}

}  // namespace
