// Misuse and faults: spawn after shutdown, shutdown twice or from a handler, join from a
// handler, exceptions escaping handlers (on() and on_stop()) and actor constructors, and
// message copies that throw inside send(). A failing actor stops alone: the failure hook gets
// its identity and the exception, its remaining and later messages become dead letters, and
// every other actor keeps being served.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
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

// Collects what the runtime's hooks report. The hooks may run on any thread.
struct Hooks {
  std::mutex mu;
  std::vector<troupe::failure> failures;
  std::vector<std::pair<troupe::actor_id, std::type_index>> dead;

  troupe::runtime_config config(unsigned workers) {
    troupe::runtime_config c;
    c.workers = workers;
    c.on_failure = [this](const troupe::failure& f) {
      std::lock_guard lock(mu);
      failures.push_back(f);
    };
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      dead.emplace_back(d.receiver, std::type_index(d.message_type));
    };
    return c;
  }
  std::size_t dead_to(troupe::actor_id id) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& d : dead) n += d.first == id ? 1 : 0;
    return n;
  }
};

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "<not a std::exception>";
  }
}

// ---- spawn and shutdown misuse -----------------------------------------------------------

std::atomic<int> g_constructed{0};
std::atomic<int> g_destroyed{0};

struct Nop {};
struct Quiet : troupe::actor<Quiet, Nop> {
  Quiet() { g_constructed.fetch_add(1); }
  ~Quiet() override { g_destroyed.fetch_add(1); }
  void on(Nop) {}
};

TEST(Errors, SpawnAfterShutdownThrowsAndLeavesNoActorBehind) {
  g_constructed.store(0);
  g_destroyed.store(0);
  troupe::runtime rt(with_workers(2));
  auto q = rt.spawn<Quiet>();
  q.send(Nop{});
  rt.shutdown();
  try {
    (void)rt.spawn<Quiet>();
    FAIL() << "spawn after shutdown must throw";
  } catch (const troupe::error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("troupe: ", 0), 0u) << e.what();
  }
  EXPECT_THROW((void)rt.spawn<Quiet>(), troupe::error);  // and keeps throwing
  EXPECT_EQ(rt.stats().spawned, 1u);
  q = {};
  EXPECT_EQ(g_constructed.load(), 3);
  EXPECT_EQ(g_destroyed.load(), 3) << "the refused actors must be deleted, the stopped one freed";
  shutdown_and_expect_accounting(rt);
}

TEST(Errors, ShutdownTwiceAndThenTheDestructorIsFine) {
  troupe::runtime rt(with_workers(2));
  auto q = rt.spawn<Quiet>();
  q.send(Nop{});
  rt.shutdown();
  rt.shutdown();
  EXPECT_TRUE(q.stopped());
  shutdown_and_expect_accounting(rt);
}  // ~runtime after shutdown: no-op

TEST(Errors, AnIdleRuntimeShutsDownWithoutAnyActor) {
  troupe::runtime rt(with_workers(4));
  shutdown_and_expect_accounting(rt);
  troupe::runtime untouched(with_workers(1));
}

// What a call threw: the troupe::error text, or "no exception".
template <class F>
std::string what_of_call(F&& f) {
  try {
    f();
  } catch (const troupe::error& e) {
    return e.what();
  } catch (...) {
    return "wrong exception type";
  }
  return "no exception";
}

struct Probe {
  troupe::ref<Nop> other;
};
struct ProbeOut {
  std::string join_self;
  std::string join_other;
  std::string shutdown;
  bool other_stopped_seen = false;
};
struct Misuser : troupe::actor<Misuser, Probe> {
  Misuser(troupe::runtime* rt, ProbeOut* out) : rt_(rt), out_(out) {}
  void on(Probe p) {
    out_->join_self = what_of_call([&] { self().join(); });
    out_->join_other = what_of_call([&] { p.other.join(); });
    out_->shutdown = what_of_call([&] { rt_->shutdown(); });
    out_->other_stopped_seen = p.other.stopped();  // allowed: it does not block
  }

 private:
  troupe::runtime* rt_;
  ProbeOut* out_;
};

TEST(Errors, JoinAndShutdownInsideAHandlerThrowTroupeError) {
  troupe::runtime rt(with_workers(2));
  ProbeOut out;
  auto other = rt.spawn<Quiet>();
  auto m = rt.spawn<Misuser>(&rt, &out);
  m.send(Probe{other});
  m.close();
  m.join();
  for (const std::string* w : {&out.join_self, &out.join_other, &out.shutdown}) {
    EXPECT_EQ(w->rfind("troupe: ", 0), 0u) << *w;
  }
  EXPECT_FALSE(out.other_stopped_seen);
  // The refused shutdown() did not shut anything down.
  EXPECT_FALSE(other.stopped());
  auto late = rt.spawn<Quiet>();
  late.send(Nop{});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 0u);
}

// ---- self() and spawn() before the actor is spawned ---------------------------------------

// What a constructor got from self() and spawn(): the troupe::error text, or "no exception".
struct CtorProbe {
  std::string self;
  std::string spawn;
};

struct EventProbe : troupe::actor<EventProbe, Nop> {
  explicit EventProbe(CtorProbe* p) {
    p->self = what_of_call([this] { (void)self(); });
    p->spawn = what_of_call([this] { (void)spawn<Quiet>(); });
  }
  void on(Nop) {}
};
struct CoroProbe : troupe::coro_actor<CoroProbe, Nop> {
  explicit CoroProbe(CtorProbe* p) {
    p->self = what_of_call([this] { (void)self(); });
    p->spawn = what_of_call([this] { (void)spawn<Quiet>(); });
  }
  task run() {
    for (;;) (void)co_await recv();
  }
};
struct BlockingProbe : troupe::blocking_actor<BlockingProbe, Nop> {
  explicit BlockingProbe(CtorProbe* p) {
    p->self = what_of_call([this] { (void)self(); });
    p->spawn = what_of_call([this] { (void)spawn<Quiet>(); });
  }
  void run() {
    for (;;) (void)recv();
  }
};
// Lets the error escape: the spawn fails and no handle to the actor can exist.
struct HandsOutSelf : troupe::actor<HandsOutSelf, Nop> {
  explicit HandsOutSelf(troupe::ref<Nop>* leak) { *leak = self(); }
  void on(Nop) {}
};

template <class Probe>
void expect_constructor_refusals(const std::string& type_name) {
  troupe::runtime rt(with_workers(2));
  CtorProbe p;
  auto a = rt.spawn<Probe>(&p);  // the constructor caught the errors: the spawn succeeds
  for (const std::string* w : {&p.self, &p.spawn}) {
    EXPECT_EQ(w->rfind("troupe: ", 0), 0u) << *w;
    EXPECT_NE(w->find("constructor of "), std::string::npos) << *w;
    EXPECT_NE(w->find(type_name), std::string::npos) << *w;
  }
  EXPECT_NE(p.self.find("self()"), std::string::npos) << p.self;
  EXPECT_NE(p.spawn.find("spawn()"), std::string::npos) << p.spawn;
  a.send(Nop{});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().spawned, 1u) << "the refused spawn() must not have spawned anything";
}

TEST(Errors, SelfAndSpawnInAnEventActorConstructorThrowTroupeError) {
  expect_constructor_refusals<EventProbe>("EventProbe");
}
TEST(Errors, SelfAndSpawnInACoroutineActorConstructorThrowTroupeError) {
  expect_constructor_refusals<CoroProbe>("CoroProbe");
}
TEST(Errors, SelfAndSpawnInABlockingActorConstructorThrowTroupeError) {
  expect_constructor_refusals<BlockingProbe>("BlockingProbe");
}

TEST(Errors, AConstructorThatLetsTheSelfErrorEscapeFailsItsSpawnAndLeavesNoHandle) {
  troupe::runtime rt(with_workers(2));
  troupe::ref<Nop> leak;
  EXPECT_THROW((void)rt.spawn<HandsOutSelf>(&leak), troupe::error);
  EXPECT_FALSE(leak) << "no handle to an actor that was never spawned";
  rt.shutdown();
  // The same after shutdown: the constructor's error, not a dangling handle.
  EXPECT_THROW((void)rt.spawn<HandsOutSelf>(&leak), troupe::error);
  EXPECT_FALSE(leak);
  EXPECT_EQ(rt.stats().spawned, 0u);
}

// ---- spawns while shutdown() runs ----------------------------------------------------------

struct Make {
  int n;
};
struct SpawnTally {
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
};
// Tries to spawn a child when it stops: shutdown() stops it, so the spawn must be refused.
struct Leaf : troupe::actor<Leaf, Nop> {
  explicit Leaf(SpawnTally* t) : t_(t) {}
  void on(Nop) {}
  void on_stop() {
    try {
      (void)spawn<Quiet>();
      t_->accepted.fetch_add(1, std::memory_order_relaxed);
    } catch (const troupe::error&) {
      t_->refused.fetch_add(1, std::memory_order_relaxed);
    }
  }
  SpawnTally* t_;
};
struct LeafMaker : troupe::actor<LeafMaker, Make> {
  explicit LeafMaker(SpawnTally* t) : t_(t) {}
  void on(Make m) {
    for (int i = 0; i < m.n; ++i) spawn<Leaf>(t_).send(Nop{});
  }
  SpawnTally* t_;
};

TEST(Errors, ShutdownRefusesEverySpawnBeforeItStopsTheFirstActor) {
  // Leaves spawned from handlers sit in the registry shards of both workers; shutdown
  // closes them shard by shard, and each one's on_stop() tries to spawn. None may succeed,
  // whichever shard it runs next to.
  constexpr int kMakers = 8;
  constexpr int kLeavesEach = 2'500;
  SpawnTally tally;
  troupe::runtime rt(with_workers(2));
  std::vector<troupe::ref<Make>> makers;
  for (int i = 0; i < kMakers; ++i) makers.push_back(rt.spawn<LeafMaker>(&tally));
  for (auto& m : makers) m.send(Make{kLeavesEach});
  for (auto& m : makers) m.close();
  for (auto& m : makers) m.join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(tally.accepted.load(), 0) << "spawns succeeded after shutdown() had begun";
  EXPECT_EQ(tally.refused.load(), kMakers * kLeavesEach);
  EXPECT_EQ(rt.stats().spawned, static_cast<std::uint64_t>(kMakers * (kLeavesEach + 1)));
}

// ---- a runtime inside another runtime's handler --------------------------------------------

struct Nested {};
struct RuntimeMaker : troupe::actor<RuntimeMaker, Nested> {
  explicit RuntimeMaker(std::string* out) : out_(out) {}
  void on(Nested) {
    *out_ = what_of_call([] {
      troupe::runtime inner(with_workers(1));
      auto q = inner.spawn<Quiet>();
      q.send(Nop{});
      inner.shutdown();  // allowed: not one of inner's workers
      if (!q.stopped()) throw std::runtime_error("inner actor still running");
    });  // ~runtime here, on a worker of the outer runtime
  }
  std::string* out_;
};

TEST(Errors, ARuntimeMadeAndEndedInsideAnotherRuntimesHandlerWorks) {
  troupe::runtime rt(with_workers(2));
  std::string out;
  auto m = rt.spawn<RuntimeMaker>(&out);
  m.send(Nested{});
  m.close();
  m.join();
  EXPECT_EQ(out, "no exception");
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 0u);
}

// ---- a handler throws ----------------------------------------------------------------------

struct Work {
  int seq;
  bool explode;
};
struct ThrowerOut {
  std::vector<int> handled;  // written by on_stop()
  int stop_calls = 0;
};
class Thrower : public troupe::actor<Thrower, Work> {
 public:
  explicit Thrower(ThrowerOut* out) : out_(out) {}
  void on(Work w) {
    seen_.push_back(w.seq);
    if (w.explode) throw std::runtime_error("boom at " + std::to_string(w.seq));
  }
  void on_stop() {
    out_->handled = seen_;
    ++out_->stop_calls;
  }

 private:
  ThrowerOut* out_;
  std::vector<int> seen_;
};

struct Tally : troupe::actor<Tally, Work> {
  explicit Tally(std::atomic<int>* n) : n_(n) {}
  void on(Work) { n_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int>* n_;
};

class ThrowingHandler : public ::testing::TestWithParam<unsigned> {};

TEST_P(ThrowingHandler, StopsOnlyThatActorReportsItAndDeadLettersTheRest) {
  Hooks hooks;
  troupe::runtime rt(hooks.config(GetParam()));
  ThrowerOut out;
  std::atomic<int> sibling_handled{0};
  auto t = rt.spawn<Thrower>(&out);
  auto sib = rt.spawn<Tally>(&sibling_handled);
  for (int i = 0; i < 10; ++i) {
    t.send(Work{i, i == 5});
    sib.send(Work{i, false});
  }
  t.join();  // a failed actor stops like any other
  EXPECT_TRUE(t.stopped());
  ASSERT_EQ(out.stop_calls, 1) << "on_stop() still runs after a handler threw";
  EXPECT_EQ(out.handled, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  for (int i = 10; i < 13; ++i) t.send(Work{i, false});  // later sends: dead letters
  for (int i = 10; i < 20; ++i) sib.send(Work{i, false});
  sib.close();
  sib.join();
  EXPECT_EQ(sibling_handled.load(), 20) << "a sibling of the failed actor must keep working";
  shutdown_and_expect_accounting(rt);

  std::lock_guard lock(hooks.mu);
  ASSERT_EQ(hooks.failures.size(), 1u);
  const troupe::failure& f = hooks.failures[0];
  EXPECT_EQ(f.actor, t.id());
  EXPECT_NE(f.actor_type.find("Thrower"), std::string::npos) << f.actor_type;
  EXPECT_EQ(f.actor_type.find("7Thrower"), std::string::npos) << "demangled: " << f.actor_type;
  ASSERT_TRUE(f.error);
  EXPECT_THROW(std::rethrow_exception(f.error), std::runtime_error);
  EXPECT_EQ(what_of(f.error), "boom at 5");
  // 6..9 were queued behind the throw, 10..12 came after the stop.
  std::size_t dead_to_t = 0;
  for (const auto& [who, type] : hooks.dead) {
    EXPECT_EQ(who, t.id()) << "only the failed actor may have dead letters";
    EXPECT_EQ(type, std::type_index(typeid(Work)));
    dead_to_t += who == t.id() ? 1 : 0;
  }
  EXPECT_EQ(dead_to_t, 7u);
  const auto s = rt.stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.handled, 6u + 20u) << "the throwing message counts as handled";
  EXPECT_EQ(s.dead_lettered, 7u);
  EXPECT_EQ(s.sent, 33u);
}

INSTANTIATE_TEST_SUITE_P(Workers, ThrowingHandler, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

struct StopThrower : troupe::actor<StopThrower, Work> {
  explicit StopThrower(std::atomic<int>* stops) : stops_(stops) {}
  void on(Work) {}
  void on_stop() {
    stops_->fetch_add(1);
    throw std::logic_error("on_stop failed");
  }

 private:
  std::atomic<int>* stops_;
};

TEST(Errors, AnExceptionFromOnStopIsReportedAsAFailureOnce) {
  Hooks hooks;
  troupe::runtime rt(hooks.config(2));
  std::atomic<int> stops{0};
  auto a = rt.spawn<StopThrower>(&stops);
  a.send(Work{0, false});
  a.close();
  a.join();
  EXPECT_TRUE(a.stopped());
  a.send(Work{1, false});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(stops.load(), 1) << "on_stop() must not run again after it threw";
  std::lock_guard lock(hooks.mu);
  ASSERT_EQ(hooks.failures.size(), 1u);
  EXPECT_EQ(hooks.failures[0].actor, a.id());
  EXPECT_NE(hooks.failures[0].actor_type.find("StopThrower"), std::string::npos);
  EXPECT_EQ(what_of(hooks.failures[0].error), "on_stop failed");
  EXPECT_EQ(rt.stats().failed, 1u);
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
}

struct IntThrower : troupe::actor<IntThrower, Work> {
  void on(Work w) { throw w.seq; }
};

TEST(Errors, ANonStdExceptionIsReportedAsIs) {
  Hooks hooks;
  troupe::runtime rt(hooks.config(1));
  auto a = rt.spawn<IntThrower>();
  a.send(Work{42, true});
  a.join();
  shutdown_and_expect_accounting(rt);
  std::lock_guard lock(hooks.mu);
  ASSERT_EQ(hooks.failures.size(), 1u);
  try {
    std::rethrow_exception(hooks.failures[0].error);
  } catch (int v) {
    EXPECT_EQ(v, 42);
  } catch (...) {
    ADD_FAILURE() << "the failure hook must get the original exception";
  }
}

TEST(Errors, WithoutAFailureHookTheDefaultPrintsTheActorAndTheException) {
  testing::internal::CaptureStderr();
  {
    troupe::runtime rt(with_workers(1));
    ThrowerOut out;
    auto t = rt.spawn<Thrower>(&out);
    t.send(Work{3, true});
    t.join();
    shutdown_and_expect_accounting(rt);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Thrower"), std::string::npos) << err;
  EXPECT_NE(err.find("boom at 3"), std::string::npos) << err;
}

TEST(Errors, ManyFailingActorsLeaveTheRuntimeServingTheOthers) {
  Hooks hooks;
  troupe::runtime rt(hooks.config(2));
  constexpr int failing = 200;
  std::vector<ThrowerOut> outs(failing);
  std::vector<Thrower::handle> throwers;
  for (auto& o : outs) throwers.push_back(rt.spawn<Thrower>(&o));
  std::atomic<int> healthy_handled{0};
  auto healthy = rt.spawn<Tally>(&healthy_handled);
  for (int i = 0; i < 1000; ++i) {
    if (i < failing) throwers[static_cast<std::size_t>(i)].send(Work{i, true});
    healthy.send(Work{i, false});
  }
  for (auto& t : throwers) t.join();
  healthy.close();
  healthy.join();
  EXPECT_EQ(healthy_handled.load(), 1000);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, static_cast<std::uint64_t>(failing));
  std::lock_guard lock(hooks.mu);
  EXPECT_EQ(hooks.failures.size(), static_cast<std::size_t>(failing));
}

// ---- exceptions before a message is queued -------------------------------------------------

struct Fragile : troupe::actor<Fragile, Nop> {
  explicit Fragile(bool fail) {
    if (fail) throw std::runtime_error("constructor failed");
  }
  void on(Nop) {}
};

TEST(Errors, AnActorConstructorExceptionLeavesSpawnAndRegistersNothing) {
  troupe::runtime rt(with_workers(1));
  EXPECT_THROW((void)rt.spawn<Fragile>(true), std::runtime_error);
  auto ok = rt.spawn<Fragile>(false);
  ok.send(Nop{});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().spawned, 1u);
}

struct Explosive {
  bool explode_on_copy = false;
  Explosive() = default;
  Explosive(const Explosive& o) : explode_on_copy(o.explode_on_copy) {
    if (explode_on_copy) throw std::runtime_error("copy failed");
  }
  Explosive(Explosive&&) noexcept = default;
  Explosive& operator=(const Explosive&) = default;
  Explosive& operator=(Explosive&&) noexcept = default;
};
struct ExplosiveSink : troupe::actor<ExplosiveSink, Explosive> {
  explicit ExplosiveSink(std::atomic<int>* n) : n_(n) {}
  void on(Explosive) { n_->fetch_add(1); }

 private:
  std::atomic<int>* n_;
};

TEST(Errors, AMessageWhoseCopyThrowsLeavesSendWithNothingSentOrLeaked) {
  troupe::runtime rt(with_workers(2));
  std::atomic<int> handled{0};
  auto s = rt.spawn<ExplosiveSink>(&handled);
  Explosive bad;
  bad.explode_on_copy = true;
  s.send(Explosive{});
  EXPECT_THROW(s.send(bad), std::runtime_error);  // copy into the node throws
  s.send(Explosive{});
  s.close();
  s.join();
  EXPECT_EQ(handled.load(), 2);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 2u);
}

}  // namespace
