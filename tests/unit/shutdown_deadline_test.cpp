// runtime::shutdown(deadline) and the stuck-handler watchdog (runtime_config::
// stuck_handler_limit): a deadline that passes kills what has not stopped and names it in
// the report (type, message being handled, for how long); a handler that never returns is
// named and abandoned instead of hanging the caller; queued messages of an actor killed at
// the deadline become dead letters with reason shutdown_deadline; the watchdog reports a
// long handler once, with the same facts, and does not exist when off.
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::with_workers;

struct Work {
  int n;
};

// Its handler runs until `release` is set (checking every millisecond).
struct Slow : troupe::actor<Slow, Work> {
  Slow(std::atomic<bool>* release, std::atomic<int>* entered)
      : release_(release), entered_(entered) {}
  void on(Work) {
    entered_->fetch_add(1, std::memory_order_release);
    while (!release_->load(std::memory_order_acquire)) std::this_thread::sleep_for(1ms);
  }
  std::atomic<bool>* release_;
  std::atomic<int>* entered_;
};

struct Quick : troupe::actor<Quick, Work> {
  void on(Work) {}
};

std::uint32_t threads_named(const std::string& name) {
  std::uint32_t n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string got;
    std::getline(comm, got);
    if (got == name) ++n;
  }
  closedir(d);
  return n;
}

TEST(ShutdownDeadline, WhenEverythingStopsInTimeTheReportIsCompleteAndEmpty) {
  troupe::runtime rt(with_workers(2));
  std::vector<troupe::ref<Work>> actors;
  for (int i = 0; i < 100; ++i) actors.push_back(rt.spawn<Quick>());
  for (auto& a : actors) a.send(Work{1});
  const troupe::shutdown_report r = rt.shutdown(60s);
  EXPECT_TRUE(r.drained);
  EXPECT_FALSE(r.deadline_passed);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.stragglers.empty());
  EXPECT_EQ(r.stragglers_total, 0u);
  EXPECT_EQ(rt.stats().handled, 100u);
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
  // Once shut down, a second call reports nothing and returns at once.
  const troupe::shutdown_report again = rt.shutdown(1s);
  EXPECT_FALSE(again.deadline_passed);
  EXPECT_TRUE(again.complete);
  EXPECT_TRUE(again.stragglers.empty());
}

// A handler that runs past the deadline and then returns: the actor is killed at the
// deadline, stops when its handler returns, and its queue becomes dead letters with reason
// shutdown_deadline. The handler is released by a thread that waits a while after the
// deadline; on a machine so loaded that the handler was released before shutdown() looked,
// or so late that the kill grace ran out, the round proves nothing and is run again.
TEST(ShutdownDeadline, AnActorInALongHandlerAtTheDeadlineIsKilledNamedAndItsQueueDeadLettered) {
  int proving_rounds = 0;
  for (int round = 0; round < 6 && proving_rounds == 0; ++round) {
    std::mutex mu;
    std::map<troupe::dead_letter_reason, int> reasons;
    troupe::runtime_config cfg = with_workers(2);
    cfg.on_dead_letter = [&](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      ++reasons[d.reason];
    };
    troupe::runtime rt(std::move(cfg));
    std::atomic<bool> release{false};
    std::atomic<int> entered{0};
    auto slow = rt.spawn<Slow>(&release, &entered);
    slow.send(Work{1});
    for (int i = 0; i < 10; ++i) slow.send(Work{2});  // queued behind the long handler
    troupe::test::wait_until("the long handler started", [&] { return entered.load() == 1; });
    const auto deadline = 200ms;
    std::thread releaser([&release, deadline] {
      std::this_thread::sleep_for(deadline + 300ms);
      release.store(true, std::memory_order_release);
    });
    const troupe::shutdown_report r = rt.shutdown(deadline);
    releaser.join();
    if (!r.deadline_passed || !r.complete) continue;  // timing lost on a loaded machine
    ++proving_rounds;
    ASSERT_EQ(r.stragglers_total, 1u);
    ASSERT_EQ(r.stragglers.size(), 1u);
    const auto& s = r.stragglers[0];
    EXPECT_EQ(s.actor, slow.id());
    EXPECT_NE(s.actor_type.find("Slow"), std::string::npos) << s.actor_type;
    EXPECT_TRUE(s.in_handler);
    EXPECT_NE(s.message_type.find("Work"), std::string::npos) << s.message_type;
    EXPECT_TRUE(s.stopped);
    EXPECT_TRUE(slow.stopped());
    EXPECT_EQ(entered.load(), 1);  // killed: nothing queued behind it was handled
    std::lock_guard lock(mu);
    EXPECT_EQ(reasons[troupe::dead_letter_reason::shutdown_deadline], 10);
    EXPECT_EQ(rt.stats().sent, rt.stats().handled + rt.stats().dead_lettered);
  }
  EXPECT_EQ(proving_rounds, 1) << "no round had the handler still running at the deadline";
}

// A handler that never returns (here: not until shutdown() has returned) cannot be
// stopped. shutdown(deadline) still returns, names it, and says the runtime is incomplete;
// the runtime's destructor then returns at once, abandoning its threads.
TEST(ShutdownDeadline, AHandlerThatNeverReturnsIsNamedAndDoesNotHangTheCaller) {
  // Static: they outlive the abandoned worker's handler.
  static std::atomic<bool> release_flag{false};
  static std::atomic<int> entered_count{0};
  std::atomic<bool>* release = &release_flag;
  std::atomic<int>* entered = &entered_count;
  troupe::shutdown_report r;
  troupe::actor_id slow_id = 0;
  troupe::test::returns_within("shutdown(deadline) with a handler that never returns", [&] {
    troupe::runtime rt(with_workers(2));
    auto slow = rt.spawn<Slow>(release, entered);
    auto quick = rt.spawn<Quick>();
    slow_id = slow.id();
    slow.send(Work{1});
    troupe::test::wait_until("the handler started", [&] { return entered->load() == 1; });
    r = rt.shutdown(100ms);
  });  // ~runtime included
  EXPECT_TRUE(r.deadline_passed);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.stragglers_total, 1u);  // Quick stopped by its close, on the other worker
  ASSERT_EQ(r.stragglers.size(), 1u);
  EXPECT_EQ(r.stragglers[0].actor, slow_id);
  EXPECT_NE(r.stragglers[0].actor_type.find("Slow"), std::string::npos);
  EXPECT_TRUE(r.stragglers[0].in_handler);
  EXPECT_NE(r.stragglers[0].message_type.find("Work"), std::string::npos);
  EXPECT_GE(r.stragglers[0].running_for, 100ms / 2);  // seen from the call on, at least
  EXPECT_FALSE(r.stragglers[0].stopped);
  release->store(true, std::memory_order_release);  // the abandoned worker may now finish
}

TEST(ShutdownDeadline, AZeroDeadlineKillsAtOnceAndLosesNothingUncounted) {
  troupe::runtime rt(with_workers(2));
  std::vector<troupe::ref<Work>> actors;
  for (int i = 0; i < 200; ++i) actors.push_back(rt.spawn<Quick>());
  for (int k = 0; k < 50; ++k) {
    for (auto& a : actors) a.send(Work{k});
  }
  const troupe::shutdown_report r = rt.shutdown(0ms);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.stragglers_total, r.deadline_passed ? r.stragglers_total : 0u);
  EXPECT_LE(r.stragglers.size(), troupe::shutdown_report::max_stragglers);
  for (auto& a : actors) EXPECT_TRUE(a.stopped());
  const auto st = rt.stats();
  EXPECT_EQ(st.sent, 200u * 50u);
  EXPECT_EQ(st.sent, st.handled + st.dead_lettered);
}

TEST(StuckHandlerWatchdog, ReportsAHandlerPastTheLimitOnceWithItsActorAndMessage) {
  std::mutex mu;
  std::vector<troupe::stuck_handler> reports;
  std::atomic<bool> release{false};
  std::atomic<int> entered{0};
  troupe::runtime_config cfg = with_workers(2);
  cfg.stuck_handler_limit = 50ms;
  cfg.on_stuck_handler = [&](const troupe::stuck_handler& h) {
    std::lock_guard lock(mu);
    reports.push_back(h);
    release.store(true, std::memory_order_release);  // the handler may return now
  };
  troupe::runtime rt(std::move(cfg));
  EXPECT_EQ(threads_named("troupe-watchdog"), 1u);
  auto slow = rt.spawn<Slow>(&release, &entered);
  auto quick = rt.spawn<Quick>();
  for (int i = 0; i < 1000; ++i) quick.send(Work{i});  // short handlers: never reported
  slow.send(Work{1});
  troupe::test::wait_until("the watchdog reported", [&] { return release.load(); });
  rt.shutdown();
  std::lock_guard lock(mu);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].actor, slow.id());
  EXPECT_NE(reports[0].actor_type.find("Slow"), std::string::npos) << reports[0].actor_type;
  EXPECT_NE(reports[0].message_type.find("Work"), std::string::npos) << reports[0].message_type;
  EXPECT_GE(reports[0].running_for, 50ms);
  EXPECT_LT(reports[0].worker, 2u);
}

TEST(StuckHandlerWatchdog, IsOffByDefaultWithNoThread) {
  troupe::runtime rt(with_workers(2));
  auto quick = rt.spawn<Quick>();
  quick.send(Work{1});
  EXPECT_EQ(threads_named("troupe-watchdog"), 0u);
  rt.shutdown();
}

TEST(StuckHandlerWatchdog, ANegativeLimitIsRefused) {
  troupe::runtime_config cfg = with_workers(1);
  cfg.stuck_handler_limit = -1ms;
  EXPECT_THROW(troupe::runtime rt(std::move(cfg)), troupe::error);
}

}  // namespace
