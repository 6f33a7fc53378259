// Monitors (monitor.hpp): a troupe::down exactly once when the target stops, with the right
// reason (normal, killed, shutdown, failed with exception and message type); at once for a
// target that has already stopped; after the target's own messages; never after demonitor()
// returns; from event, coroutine and blocking watchers and from outside (callback, result).
// Races: tests/stress/monitor_stress_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

struct Work {
  int n;
};
struct Boom {};

struct Target : troupe::actor<Target, Work, Boom> {
  static inline std::atomic<int> alive{0};
  Target() { alive.fetch_add(1); }
  ~Target() override { alive.fetch_sub(1); }
  void on(Work) {}
  void on(Boom) { throw std::runtime_error("boom"); }
};

// Collects what a watcher saw, for the test thread.
struct seen {
  std::mutex mu;
  std::vector<troupe::down> downs;
  std::vector<int> works;
  std::size_t downs_count() {
    std::lock_guard lock(mu);
    return downs.size();
  }
  troupe::down first() {
    std::lock_guard lock(mu);
    return downs.at(0);
  }
};

template <class... Ts>
struct Watch {
  troupe::ref<Ts...> target;
};

struct Watcher : troupe::actor<Watcher, Watch<Work, Boom>, Work, troupe::down> {
  explicit Watcher(seen* s) : s_(s) {}
  void on(Watch<Work, Boom> w) { (void)monitor(w.target); }
  void on(Work w) {
    std::lock_guard lock(s_->mu);
    s_->works.push_back(w.n);
  }
  void on(troupe::down d) {
    std::lock_guard lock(s_->mu);
    s_->downs.push_back(std::move(d));
  }
  seen* s_;
};

troupe::exit_reason::kind kind_of(seen& s) { return s.first().reason.what; }

TEST(Monitor, ClosedTargetSendsOneNormalDown) {
  troupe::runtime rt(with_workers(2));
  seen s;
  auto t = rt.spawn<Target>();
  auto w = rt.spawn<Watcher>(&s);
  w.send(Watch<Work, Boom>{t});
  w.send(Work{0});  // handled after the monitor is in place
  wait_until("the watcher's Work", [&] {
    std::lock_guard lock(s.mu);
    return !s.works.empty();
  });
  t.close();
  wait_until("a down", [&] { return s.downs_count() == 1; });
  EXPECT_EQ(s.first().id, t.id());
  EXPECT_EQ(kind_of(s), troupe::exit_reason::kind::normal);
  EXPECT_TRUE(s.first().reason.is_normal());
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(s.downs_count(), 1u);
}

TEST(Monitor, KilledAndFailedReasons) {
  troupe::runtime rt(with_workers(2));
  seen killed, failed;
  auto k = rt.spawn<Target>();
  auto f = rt.spawn<Target>();
  auto wk = rt.spawn<Watcher>(&killed);
  auto wf = rt.spawn<Watcher>(&failed);
  auto outside = troupe::monitor(f);
  wk.send(Watch<Work, Boom>{k});
  wf.send(Watch<Work, Boom>{f});
  // Make sure both monitors are in place: a Work sent after Watch is handled after it.
  wk.send(Work{1});
  wf.send(Work{1});
  wait_until("both watchers ready", [&] {
    std::lock_guard a(killed.mu);
    std::lock_guard b(failed.mu);
    return !killed.works.empty() && !failed.works.empty();
  });
  k.kill();
  f.send(Boom{});
  wait_until("two downs", [&] { return killed.downs_count() == 1 && failed.downs_count() == 1; });
  EXPECT_EQ(kind_of(killed), troupe::exit_reason::kind::killed);
  const troupe::exit_reason r = failed.first().reason;
  EXPECT_EQ(r.what, troupe::exit_reason::kind::failed);
  EXPECT_FALSE(r.is_normal());
  EXPECT_EQ(r.error_type(), "std::runtime_error");
  EXPECT_EQ(r.error_text(), "boom");
  ASSERT_NE(r.message_type, nullptr);
  EXPECT_NE(r.message_type_name().find("Boom"), std::string::npos) << r.message_type_name();
  EXPECT_NE(troupe::to_string(r).find("failed: std::runtime_error: boom (handling"),
            std::string::npos)
      << troupe::to_string(r);
  const troupe::down d = outside.get();
  EXPECT_EQ(d.id, f.id());
  EXPECT_EQ(d.reason.error_text(), "boom");
  shutdown_and_expect_accounting(rt);
}

TEST(Monitor, AStoppedTargetAnswersAtOnceWithItsReason) {
  troupe::runtime rt(with_workers(2));
  auto f = rt.spawn<Target>();
  f.send(Boom{});
  f.join();
  auto c = rt.spawn<Target>();
  c.close();
  c.join();
  // From outside: the callback runs before monitor() returns.
  int calls = 0;
  troupe::exit_reason got;
  (void)troupe::monitor(f, [&](const troupe::down& d) {
    ++calls;
    got = d.reason;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.what, troupe::exit_reason::kind::failed);
  EXPECT_EQ(got.error_text(), "boom");  // kept with the stopped actor
  EXPECT_EQ(troupe::monitor(c).get().reason.what, troupe::exit_reason::kind::normal);
  // From an actor.
  seen s;
  auto w = rt.spawn<Watcher>(&s);
  w.send(Watch<Work, Boom>{f});
  wait_until("a down", [&] { return s.downs_count() == 1; });
  EXPECT_EQ(s.first().reason.error_type(), "std::runtime_error");
  shutdown_and_expect_accounting(rt);
}

TEST(Monitor, ShutdownIsTheReasonForActorsItCloses) {
  troupe::exit_reason got;
  {
    troupe::runtime rt(with_workers(2));
    auto t = rt.spawn<Target>();
    (void)troupe::monitor(t, [&](const troupe::down& d) { got = d.reason; });
    rt.shutdown();
  }
  EXPECT_EQ(got.what, troupe::exit_reason::kind::shutdown);
  EXPECT_TRUE(got.is_normal());
}

// The down comes behind every message the target sent the watcher before it stopped.
struct Sender : troupe::actor<Sender, troupe::ref<Work>> {
  void on(troupe::ref<Work> to) {
    for (int i = 0; i < 1000; ++i) to.send(Work{i});
    self().close();
  }
};

struct OrderWatcher
    : troupe::actor<OrderWatcher, troupe::ref<troupe::ref<Work>>, Work, troupe::down> {
  explicit OrderWatcher(seen* s) : s_(s) {}
  void on(troupe::ref<troupe::ref<Work>> sender) {
    (void)monitor(sender);
    sender.send(troupe::ref<Work>(self()));
  }
  void on(Work w) {
    std::lock_guard lock(s_->mu);
    s_->works.push_back(w.n);
  }
  void on(troupe::down d) {
    std::lock_guard lock(s_->mu);
    EXPECT_EQ(s_->works.size(), 1000u) << "the down overtook the stopped actor's messages";
    s_->downs.push_back(std::move(d));
  }
  seen* s_;
};

TEST(Monitor, TheDownComesAfterTheTargetsLastMessages) {
  troupe::runtime rt(with_workers(2));
  for (int round = 0; round < 20; ++round) {
    seen s;
    auto sender = rt.spawn<Sender>();
    auto w = rt.spawn<OrderWatcher>(&s);
    w.send(troupe::ref<troupe::ref<Work>>(sender));
    wait_until("a down", [&] { return s.downs_count() == 1; });
    w.close();
    w.join();
  }
  shutdown_and_expect_accounting(rt);
}

TEST(Monitor, DemonitorBeforeTheStopMeansNoDown) {
  troupe::runtime rt(with_workers(2));
  auto t = rt.spawn<Target>();
  std::atomic<int> calls{0};
  auto h = troupe::monitor(t, [&](const troupe::down&) { calls.fetch_add(1); });
  EXPECT_EQ(h.target(), t.id());
  EXPECT_TRUE(troupe::demonitor(h));
  EXPECT_FALSE(troupe::demonitor(h));  // twice: no effect
  t.close();
  t.join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(calls.load(), 0);
}

// The target stops while the watcher is busy: its down is already queued when the watcher
// demonitors, and is then dropped unseen.
struct Gate {};
struct BusyWatcher : troupe::actor<BusyWatcher, Watch<Work, Boom>, Gate, troupe::down> {
  BusyWatcher(std::atomic<bool>* ready, std::atomic<bool>* stopped, std::atomic<int>* downs,
              std::atomic<int>* result)
      : ready_(ready), stopped_(stopped), downs_(downs), result_(result) {}
  void on(Watch<Work, Boom> w) {
    h_ = monitor(w.target);
    ready_->store(true);
  }
  void on(Gate) {
    while (!stopped_->load()) std::this_thread::yield();  // the target stops meanwhile
    result_->store(demonitor(h_) ? 1 : 0);
  }
  void on(troupe::down) { downs_->fetch_add(1); }
  troupe::monitor_handle h_;
  std::atomic<bool>* ready_;
  std::atomic<bool>* stopped_;
  std::atomic<int>* downs_;
  std::atomic<int>* result_;
};

TEST(Monitor, DemonitorDropsADownAlreadyQueued) {
  troupe::runtime rt(with_workers(2));
  std::atomic<bool> ready{false}, stopped{false};
  std::atomic<int> downs{0}, result{-1};
  auto t = rt.spawn<Target>();
  auto w = rt.spawn<BusyWatcher>(&ready, &stopped, &downs, &result);
  w.send(Watch<Work, Boom>{t});
  w.send(Gate{});  // keeps the watcher busy until the target has stopped
  wait_until("the watcher's monitor", [&] { return ready.load(); });
  // A target's monitors fire in the order they were made: when this callback runs, the
  // watcher's down is queued behind the Gate it is handling.
  (void)troupe::monitor(t, [&](const troupe::down&) { stopped.store(true); });
  t.close();
  wait_until("the watcher's demonitor", [&] { return result.load() != -1; });
  EXPECT_EQ(result.load(), 0) << "the down had been sent: demonitor says so";
  w.close();
  w.join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(downs.load(), 0) << "a down was handled after demonitor() returned";
}

TEST(Monitor, AMonitoredActorIsFreedOnceItsRefsAreGone) {
  const int before = Target::alive.load();
  troupe::runtime rt(with_workers(2));
  std::atomic<int> calls{0};
  troupe::monitor_handle h;
  {
    auto t = rt.spawn<Target>();
    h = troupe::monitor(t, [&](const troupe::down&) { calls.fetch_add(1); });
    t.close();
    t.join();
  }
  wait_until("the target's memory to be freed", [&] { return Target::alive.load() == before; });
  EXPECT_EQ(calls.load(), 1);
  EXPECT_FALSE(troupe::demonitor(h));  // fired: a handle outlives its target safely
  shutdown_and_expect_accounting(rt);
}

TEST(Monitor, AWatcherThatStopsDropsItsMonitors) {
  troupe::runtime rt(with_workers(2));
  seen s;
  auto t = rt.spawn<Target>();
  {
    auto w = rt.spawn<Watcher>(&s);
    w.send(Watch<Work, Boom>{t});
    w.send(Work{0});
    wait_until("the monitor", [&] {
      std::lock_guard lock(s.mu);
      return !s.works.empty();
    });
    w.close();
    w.join();
  }
  t.close();
  t.join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(s.downs_count(), 0u);
  EXPECT_EQ(rt.stats().dead_lettered, 0u) << "no down is sent to a watcher that stopped";
}

TEST(Monitor, InTheConstructorThrows) {
  struct Early : troupe::actor<Early, troupe::down> {
    explicit Early(troupe::ref<Work, Boom> t) { (void)monitor(t); }
    void on(troupe::down) {}
  };
  troupe::runtime rt(with_workers(1));
  auto t = rt.spawn<Target>();
  EXPECT_THROW(rt.spawn<Early>(t), troupe::error);
  shutdown_and_expect_accounting(rt);
}

// Coroutine and blocking watchers, and a blocking target whose run() returns or throws.
struct CoroWatcher : troupe::coro_actor<CoroWatcher, troupe::ref<Work, Boom>, troupe::down> {
  explicit CoroWatcher(std::atomic<int>* got) : got_(got) {}
  task run() {
    auto m = co_await recv();
    (void)monitor(std::get<troupe::ref<Work, Boom>>(m));
    auto d = co_await recv();
    if (std::get<troupe::down>(d).reason.what == troupe::exit_reason::kind::failed) {
      got_->fetch_add(1);
    }
  }
  std::atomic<int>* got_;
};

struct BlockingTarget : troupe::blocking_actor<BlockingTarget, Work> {
  void run() {
    if (recv().n < 0) throw std::logic_error("negative");
  }
};

struct BlockingWatcher : troupe::blocking_actor<BlockingWatcher, troupe::ref<Work>, troupe::down> {
  explicit BlockingWatcher(std::atomic<int>* got) : got_(got) {}
  void run() {
    auto t = std::get<troupe::ref<Work>>(recv());
    (void)monitor(t);
    auto d = std::get<troupe::down>(recv());
    got_->store(d.reason.what == troupe::exit_reason::kind::failed ? 2 : 1);
  }
  std::atomic<int>* got_;
};

TEST(Monitor, CoroutineAndBlockingActorsWatchAndAreWatched) {
  troupe::runtime rt(with_workers(2));
  std::atomic<int> coro_got{0}, ok{0}, bad{0};
  auto f = rt.spawn<Target>();
  auto c = rt.spawn<CoroWatcher>(&coro_got);
  c.send(troupe::ref<Work, Boom>(f));
  auto normal = rt.spawn<BlockingTarget>();
  auto failing = rt.spawn<BlockingTarget>();
  auto w1 = rt.spawn<BlockingWatcher>(&ok);
  auto w2 = rt.spawn<BlockingWatcher>(&bad);
  w1.send(troupe::ref<Work>(normal));
  w2.send(troupe::ref<Work>(failing));
  auto cr = troupe::monitor(c);
  auto n1 = troupe::monitor(w1);
  auto n2 = troupe::monitor(w2);
  // Whether the watchers' monitors come before or after their targets stop, the down they
  // get names the same reason (a stopped actor keeps it).
  f.send(Boom{});
  normal.send(Work{1});
  failing.send(Work{-1});
  EXPECT_EQ(cr.get().reason.what, troupe::exit_reason::kind::normal);
  EXPECT_EQ(n1.get().reason.what, troupe::exit_reason::kind::normal);
  EXPECT_EQ(n2.get().reason.what, troupe::exit_reason::kind::normal);
  EXPECT_EQ(coro_got.load(), 1);
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(bad.load(), 2);
  shutdown_and_expect_accounting(rt);
}

}  // namespace
