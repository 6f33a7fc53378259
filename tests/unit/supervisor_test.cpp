// Supervisors (supervisor.hpp): restart in place keeps the handle, id and mailbox and gives
// a fresh state (on_start() again); one_for_one, one_for_all and rest_for_one restart the
// right children in start order; temporary children and closed children are not
// restarted; intensity escalates; nested supervisors start their children anew; a stopping
// supervisor stops its children last started first, killing one that outlives its shutdown
// time; runtime::shutdown() stops a tree in that order too; an ask in flight is answered
// with a typed error. Restart storms under races: tests/stress/supervisor_stress_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

struct Work {};
struct Crash {};
struct Slow {
  std::chrono::milliseconds d;
};
using ping = troupe::request<int, int>;

// What the children of one test did, in order.
struct journal {
  std::mutex mu;
  std::vector<std::string> lines;
  std::atomic<int> work{0};
  void add(std::string s) {
    std::lock_guard lock(mu);
    lines.push_back(std::move(s));
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return lines.size();
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mu);
    return std::exchange(lines, {});
  }
  std::size_t count(const std::string& s) {
    std::lock_guard lock(mu);
    return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), s));
  }
};

struct Child : troupe::actor<Child, Work, Crash, Slow, ping> {
  Child(journal* j, std::string name) : j_(j), name_(std::move(name)) {}
  void on_start() { j_->add("start " + name_); }
  void on_stop() { j_->add("stop " + name_); }
  void on(Work) {
    ++handled_here;
    j_->work.fetch_add(1);
  }
  void on(Crash) { throw std::runtime_error("crash in " + name_); }
  void on(Slow s) { std::this_thread::sleep_for(s.d); }
  void on(ping p) {
    if (p.value() < 0) throw std::runtime_error("negative");
    p.reply(handled_here);
  }
  journal* j_;
  std::string name_;
  int handled_here = 0;  // fresh after each restart
};

std::size_t children_of(const troupe::supervisor::handle& sup) {
  return static_cast<troupe::supervisor*>(troupe::detail::ref_access::actor_of(sup, "test"))
      ->children();
}

troupe::runtime_config quiet(unsigned workers) {
  troupe::runtime_config c = with_workers(workers);
  c.on_failure = [](const troupe::failure&) {};  // the crashes are the point
  return c;
}

TEST(Supervisor, OneForOneRestartsInPlaceWithTheMailboxKept) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  const troupe::actor_id id = c.id();
  for (int i = 0; i < 3; ++i) c.send(Work{});
  c.send(Crash{});
  for (int i = 0; i < 100; ++i) c.send(Work{});  // queued during the restart: none lost
  wait_until("all the work", [&] { return j.work.load() == 103; });
  EXPECT_EQ(c.id(), id);
  EXPECT_FALSE(c.stopped());
  EXPECT_EQ(j.count("start c"), 2u);
  EXPECT_EQ(j.count("stop c"), 1u);
  // The state is fresh: the new incarnation counted only what it handled itself.
  EXPECT_EQ(troupe::ask(c, 0).get(), 100);
  EXPECT_EQ(children_of(sup), 1u);
  shutdown_and_expect_accounting(rt);
}

// Each restart runs on_start() on the fresh state before the next message, even when the
// resumed turn sees the restart only as it takes that message (the signal that also says so
// can be seen late).
struct Check {};
std::atomic<int> g_starts{0}, g_unstarted{0};
struct Flaky : troupe::actor<Flaky, Crash, Check> {
  void on_start() {
    started_ = true;
    g_starts.fetch_add(1);
  }
  void on(Crash) { throw std::runtime_error("crash"); }
  void on(Check) {
    if (!started_) g_unstarted.fetch_add(1);
  }
  bool started_ = false;
};

TEST(Supervisor, EveryRestartRunsOnStartBeforeTheNextMessage) {
  for (unsigned workers : {1u, 2u}) {
    troupe::runtime rt(quiet(workers));
    g_starts.store(0);
    g_unstarted.store(0);
    auto sup = rt.spawn<troupe::supervisor>(
        troupe::supervisor_options{.max_restarts = 1u << 30, .within = 1ms});
    auto f = troupe::start_child<Flaky>(sup, {});
    wait_until("the first start", [&] { return g_starts.load() == 1; });
    for (int i = 0; i < 2000; ++i) {
      f.send(Crash{});
      f.send(Check{});
    }
    wait_until("2000 restarts", [&] { return g_starts.load() == 2001; });
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(g_unstarted.load(), 0);
    EXPECT_EQ(g_starts.load(), 2001);
  }
}

TEST(Supervisor, ANameFollowsItsChildAcrossRestarts) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  ASSERT_TRUE(rt.register_name("backend", c));
  c.send(Crash{});
  c.send(Work{});
  wait_until("the restart", [&] { return j.work.load() == 1; });
  auto found = rt.lookup<Work, ping>("backend");
  ASSERT_TRUE(found.has_value()) << "a restart in place keeps the actor's names";
  EXPECT_EQ(found->id(), c.id());
  EXPECT_EQ(troupe::ask(*found, 0).get(), 1);  // the fresh state handled the one Work
  c.close();                                   // stops for good: the name goes
  c.join();
  EXPECT_FALSE(rt.lookup<Work>("backend").has_value());
  shutdown_and_expect_accounting(rt);
}

// A coroutine child: run() starts again from its top on the fresh state.
struct CoroChild : troupe::coro_actor<CoroChild, Work, Crash> {
  CoroChild(journal* j, std::string name) : j_(j), name_(std::move(name)) {}
  task run() {
    j_->add("run " + name_);
    for (;;) {
      auto m = co_await recv();
      if (std::holds_alternative<Crash>(m)) throw std::runtime_error("crash in " + name_);
      j_->work.fetch_add(1);
    }
  }
  void on_stop() { j_->add("stop " + name_); }
  journal* j_;
  std::string name_;
};

// A coroutine or blocking child (T: CoroChild, BlockingChild) restarted after a failure and
// after a kill, its queue kept, then ended for good by its close.
template <class T>
void restarted_in_place() {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<T>(sup, {}, &j, std::string("c"));
  const troupe::actor_id id = c.id();
  for (int i = 0; i < 3; ++i) c.send(Work{});
  c.send(Crash{});
  for (int i = 0; i < 100; ++i) c.send(Work{});  // queued during the restart: none lost
  wait_until("all the work", [&] { return j.work.load() == 103; });
  EXPECT_EQ(c.id(), id);
  EXPECT_EQ(j.count("run c"), 2u);
  EXPECT_EQ(j.count("stop c"), 1u);
  c.kill();  // a kill restarts it too
  wait_until("the restart after the kill", [&] { return j.count("run c") == 3; });
  c.send(Work{});
  wait_until("work after it", [&] { return j.work.load() == 104; });
  c.close();  // ends it for good: run() sees actor_exit
  c.join();
  EXPECT_EQ(j.count("run c"), 3u);
  wait_until("forgotten", [&] { return children_of(sup) == 0; });
  shutdown_and_expect_accounting(rt);
}

// A one_for_all restart caused by an event child: the sibling T (CoroChild, BlockingChild)
// waiting in its receive is suspended (its run() ended, on_stop() run once) and run again.
template <class T>
void group_restart_runs_sibling_again() {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>(
      troupe::supervisor_options{.strategy = troupe::restart_strategy::one_for_all});
  auto a = troupe::start_child<Child>(sup, {}, &j, std::string("a"));
  auto b = troupe::start_child<T>(sup, {}, &j, std::string("b"));
  wait_until("both started", [&] { return j.count("start a") == 1 && j.count("run b") == 1; });
  a.send(Crash{});
  wait_until("both restarted", [&] { return j.count("start a") == 2 && j.count("run b") == 2; });
  EXPECT_EQ(j.count("stop b"), 1u);
  b.send(Work{});
  wait_until("b works", [&] { return j.work.load() == 1; });
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, ACoroutineChildIsRestartedInPlace) { restarted_in_place<CoroChild>(); }

TEST(Supervisor, AGroupRestartSuspendsACoroutineSiblingAndStartsItsRunAgain) {
  group_restart_runs_sibling_again<CoroChild>();
}

TEST(Supervisor, AGivenUpCoroutineChildStopsOnce) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto t = troupe::start_child<CoroChild>(sup, {.restart = troupe::restart_policy::temporary}, &j,
                                          std::string("t"));
  auto t_down = troupe::monitor(t);
  t.send(Crash{});
  const troupe::down d = t_down.get();
  EXPECT_EQ(d.reason.what, troupe::exit_reason::kind::failed);
  EXPECT_EQ(d.reason.error_text(), "crash in t");
  EXPECT_EQ(j.count("stop t"), 1u);
  EXPECT_EQ(j.count("run t"), 1u);
  shutdown_and_expect_accounting(rt);
}

// A blocking child: run() starts again, on a new fiber, from its top.
struct BlockingChild : troupe::blocking_actor<BlockingChild, Work, Crash> {
  BlockingChild(journal* j, std::string name) : j_(j), name_(std::move(name)) {}
  void run() {
    j_->add("run " + name_);
    for (;;) {
      auto m = recv();
      if (std::holds_alternative<Crash>(m)) throw std::runtime_error("crash in " + name_);
      j_->work.fetch_add(1);
    }
  }
  void on_stop() { j_->add("stop " + name_); }
  journal* j_;
  std::string name_;
};

TEST(Supervisor, ABlockingChildIsRestartedInPlace) { restarted_in_place<BlockingChild>(); }

TEST(Supervisor, AGroupRestartUnwindsAWaitingBlockingSibling) {
  group_restart_runs_sibling_again<BlockingChild>();
}

TEST(Supervisor, AKilledChildIsRestartedToo) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  wait_until("the first start", [&] { return j.count("start c") == 1; });
  c.kill();
  wait_until("the restart", [&] { return j.count("start c") == 2; });
  c.send(Work{});
  wait_until("work after the restart", [&] { return j.work.load() == 1; });
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, TemporaryAndClosedChildrenAreNotRestarted) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto t = troupe::start_child<Child>(sup, {.restart = troupe::restart_policy::temporary}, &j,
                                      std::string("t"));
  auto p = troupe::start_child<Child>(sup, {}, &j, std::string("p"));
  t.send(Crash{});
  t.join();
  p.close();  // close ends a child for good, whatever its policy
  p.join();
  wait_until("both forgotten", [&] { return children_of(sup) == 0; });
  EXPECT_EQ(j.count("start t"), 1u);
  EXPECT_EQ(j.count("stop t"), 1u) << "given up after its failure: on_stop() ran once";
  EXPECT_EQ(j.count("start p"), 1u);
  EXPECT_TRUE(t.stopped());
  shutdown_and_expect_accounting(rt);
}

// Three children a, b, c started in that order; b crashes.
std::vector<std::string> group_restart(troupe::restart_strategy strategy,
                                       std::size_t expected_lines) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>(troupe::supervisor_options{.strategy = strategy});
  auto a = troupe::start_child<Child>(sup, {}, &j, std::string("a"));
  auto b = troupe::start_child<Child>(sup, {}, &j, std::string("b"));
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  wait_until("three starts", [&] { return j.size() == 3; });
  (void)j.take();
  b.send(Crash{});
  b.send(Work{});  // handled once the group has restarted
  wait_until("the restart", [&] { return j.work.load() == 1 && j.size() >= expected_lines; });
  std::vector<std::string> seen = j.take();
  rt.shutdown();
  return seen;
}

TEST(Supervisor, OneForAllRestartsEveryChildInStartOrder) {
  std::vector<std::string> seen = group_restart(troupe::restart_strategy::one_for_all, 6);
  ASSERT_EQ(seen.size(), 6u) << ::testing::PrintToString(seen);
  // b stopped at its failure; a and c were suspended (each ran on_stop) in either order.
  EXPECT_EQ(seen[0], "stop b");
  // Resumed in start order; their on_start()s may run at the same time on two workers.
  std::vector<std::string> starts{seen[3], seen[4], seen[5]};
  std::sort(starts.begin(), starts.end());
  EXPECT_EQ(starts, (std::vector<std::string>{"start a", "start b", "start c"}));
}

TEST(Supervisor, RestForOneRestartsTheFailedChildAndThoseStartedAfterIt) {
  std::vector<std::string> seen = group_restart(troupe::restart_strategy::rest_for_one, 4);
  ASSERT_EQ(seen.size(), 4u) << ::testing::PrintToString(seen);
  EXPECT_EQ((std::vector<std::string>{seen[0], seen[1]}),
            (std::vector<std::string>{"stop b", "stop c"}));
  std::vector<std::string> starts{seen[2], seen[3]};
  std::sort(starts.begin(), starts.end());
  EXPECT_EQ(starts, (std::vector<std::string>{"start b", "start c"}));
}

TEST(Supervisor, TooManyRestartsFailTheSupervisorAndStopItsChildren) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>(
      troupe::supervisor_options{.max_restarts = 2, .within = std::chrono::minutes(10)});
  auto sup_down = troupe::monitor(sup);
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  auto d = troupe::start_child<Child>(sup, {}, &j, std::string("d"));
  for (int i = 0; i < 3; ++i) c.send(Crash{});
  const troupe::down down = sup_down.get();
  EXPECT_EQ(down.reason.what, troupe::exit_reason::kind::failed);
  EXPECT_NE(down.reason.error_text().find("restart intensity exceeded"), std::string::npos)
      << down.reason.error_text();
  c.join();
  d.join();
  EXPECT_EQ(j.count("start c"), 3u);  // the first start and two restarts
  EXPECT_THROW(troupe::start_child<Child>(sup, {}, &j, std::string("late")), troupe::error);
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, ANestedSupervisorIsRestartedWithItsChildrenStartedAnew) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto top = rt.spawn<troupe::supervisor>();
  auto inner = troupe::start_child<troupe::supervisor>(
      top, {}, troupe::supervisor_options{.max_restarts = 0});
  auto w = troupe::start_child<Child>(inner, {}, &j, std::string("w"));
  w.send(Crash{});  // inner gives up at once; top restarts inner, which starts w anew
  w.join();         // the old w stops for good
  wait_until("w started anew", [&] { return j.count("start w") == 2; });
  EXPECT_FALSE(inner.stopped()) << "the inner supervisor keeps its handle";
  EXPECT_EQ(children_of(inner), 1u);
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, StoppingStopsChildrenLastStartedFirst) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto a = troupe::start_child<Child>(sup, {}, &j, std::string("a"));
  auto b = troupe::start_child<Child>(sup, {}, &j, std::string("b"));
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  wait_until("three starts", [&] { return j.size() == 3; });
  (void)j.take();
  sup.close();
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(j.take(), (std::vector<std::string>{"stop c", "stop b", "stop a"}));
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, RuntimeShutdownStopsATreeInOrder) {
  journal j;
  {
    troupe::runtime rt(quiet(2));
    auto sup = rt.spawn<troupe::supervisor>();
    for (const char* n : {"a", "b", "c"})
      (void)troupe::start_child<Child>(sup, {}, &j, std::string(n));
    wait_until("three starts", [&] { return j.size() == 3; });
    (void)j.take();
    rt.shutdown();
  }
  EXPECT_EQ(j.take(), (std::vector<std::string>{"stop c", "stop b", "stop a"}));
}

TEST(Supervisor, AChildThatOutlivesItsShutdownTimeIsKilled) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<Child>(sup, {.shutdown = 50ms}, &j, std::string("c"));
  auto c_down = troupe::monitor(c);
  for (int i = 0; i < 20'000; ++i) c.send(Slow{1ms});  // 20 s of work queued
  sup.close();
  const troupe::down d = c_down.get();
  EXPECT_EQ(d.reason.what, troupe::exit_reason::kind::killed);
  shutdown_and_expect_accounting(rt);
}

TEST(Supervisor, AnAskInFlightWhenTheChildFailsGetsATypedError) {
  troupe::runtime rt(quiet(2));
  journal j;
  auto sup = rt.spawn<troupe::supervisor>();
  auto c = troupe::start_child<Child>(sup, {}, &j, std::string("c"));
  EXPECT_THROW(troupe::ask(c, -1).get(), troupe::ask_dropped);
  EXPECT_EQ(troupe::ask(c, 1).get(), 0) << "the restarted child answers";
  shutdown_and_expect_accounting(rt);
}

}  // namespace
