// Blocking actors (troupe/blocking_actor.hpp): run() starts at spawn on its own fiber,
// recv() yields messages in per-sender order, close() surfaces as troupe::actor_exit, every
// way run() can end stops the actor with event-actor accounting, selective receives keep
// what they skip in order, and recv_for() times out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <variant>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

class BlockingActor : public ::testing::TestWithParam<unsigned> {};

// ---- starting -------------------------------------------------------------------------

struct Starter : troupe::blocking_actor<Starter, int> {
  explicit Starter(std::latch* started) : started_(started) {}
  void run() {
    started_->count_down();  // before any message exists
    for (;;) (void)recv();
  }
  std::latch* started_;
};

TEST_P(BlockingActor, RunStartsAtSpawnWithoutWaitingForAMessage) {
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

struct Recorder : troupe::blocking_actor<Recorder, Seq> {
  Recorder(int senders, std::vector<int>* last, std::atomic<int>* out_of_order)
      : last_(last), out_of_order_(out_of_order) {
    last_->assign(static_cast<std::size_t>(senders), -1);
  }
  void run() {
    for (;;) {
      const Seq s = recv();
      int& prev = (*last_)[static_cast<std::size_t>(s.sender)];
      if (s.n != prev + 1) out_of_order_->fetch_add(1);
      prev = s.n;
    }
  }
  std::vector<int>* last_;
  std::atomic<int>* out_of_order_;
};

TEST_P(BlockingActor, MessagesFromEachSenderArriveOnceAndInOrder) {
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

struct Closing : troupe::blocking_actor<Closing, int> {
  struct log {
    std::vector<int> got;
    int exits_seen = 0;
    bool second_recv_threw = false;
    bool stopped_after_run = false;
    bool run_ended = false;
  };
  explicit Closing(log* l) : l_(l) {}
  void run() {
    try {
      for (;;) l_->got.push_back(recv());
    } catch (const troupe::actor_exit&) {
      ++l_->exits_seen;
    }
    try {
      (void)recv();  // every recv after the sentinel throws again
    } catch (const troupe::actor_exit&) {
      l_->second_recv_threw = true;
    }
    l_->run_ended = true;
  }
  void on_stop() { l_->stopped_after_run = l_->run_ended; }
  log* l_;
};

TEST_P(BlockingActor, CloseThrowsActorExitAfterEverythingSentBeforeIt) {
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
  EXPECT_TRUE(l.stopped_after_run) << "on_stop runs once run() has returned";
  shutdown_and_expect_accounting(rt);
}

TEST_P(BlockingActor, CloseBeforeTheFirstRecvEndsRunCleanly) {
  troupe::runtime rt(with_workers(GetParam()));
  Closing::log l;
  auto a = rt.spawn<Closing>(&l);
  a.close();  // may land before run() even starts
  a.join();
  EXPECT_TRUE(l.got.empty());
  EXPECT_EQ(l.exits_seen, 1);
  EXPECT_EQ(rt.stats().failed, 0u);
  shutdown_and_expect_accounting(rt);
}

struct LetsExitEscape : troupe::blocking_actor<LetsExitEscape, int> {
  void run() {
    for (;;) (void)recv();
  }
};

TEST_P(BlockingActor, ActorExitEscapingRunIsANormalStopAndJoinWorksFromManyThreads) {
  troupe::runtime rt(with_workers(GetParam()));
  auto a = rt.spawn<LetsExitEscape>();
  for (int i = 0; i < 10; ++i) a.send(i);
  std::vector<std::thread> joiners;
  std::atomic<int> joined{0};
  for (int j = 0; j < 4; ++j) {
    joiners.emplace_back([&] {
      a.join();
      EXPECT_TRUE(a.stopped());
      joined.fetch_add(1);
    });
  }
  a.close();
  for (auto& t : joiners) t.join();
  EXPECT_EQ(joined.load(), 4);
  rt.shutdown();
  EXPECT_EQ(rt.stats().failed, 0u);
  EXPECT_EQ(rt.stats().handled, 10u);
  shutdown_and_expect_accounting(rt);
}

TEST_P(BlockingActor, ShutdownClosesABlockingActorNobodyClosed) {
  troupe::runtime rt(with_workers(GetParam()));
  Closing::log l;
  {
    auto a = rt.spawn<Closing>(&l);
    a.send(7);
  }  // handle dropped: only shutdown can stop it now
  rt.shutdown();
  EXPECT_EQ(l.exits_seen, 1);
  EXPECT_EQ(l.got, std::vector<int>{7});
  shutdown_and_expect_accounting(rt);
}

// ---- how run() ends -------------------------------------------------------------------

struct TakesTwo : troupe::blocking_actor<TakesTwo, int> {
  void run() {
    (void)recv();
    (void)recv();
  }  // returns: the actor stops, the rest are dead letters
};

TEST_P(BlockingActor, ReturningFromRunStopsTheActorAndTheRestAreDeadLetters) {
  std::atomic<int> dead_to_it{0};
  troupe::runtime_config c = with_workers(GetParam());
  std::atomic<troupe::actor_id> id{0};
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    if (d.receiver == id.load() && d.message_type == typeid(int)) dead_to_it.fetch_add(1);
  };
  troupe::runtime rt(std::move(c));
  {
    auto a = rt.spawn<TakesTwo>();
    id.store(a.id());
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

struct Thrower : troupe::blocking_actor<Thrower, int> {
  void run() {
    for (;;) {
      const int n = recv();
      if (n == 3) throw std::runtime_error("three");
    }
  }
};

TEST_P(BlockingActor, AnExceptionFromRunIsAFailureReportedWithTheActorType) {
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
  auto t = rt.spawn<Thrower>();
  for (int i = 0; i < 10; ++i) t.send(i);
  t.join();
  rt.shutdown();
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(what, "three");
  EXPECT_NE(type.find("Thrower"), std::string::npos) << type;
  EXPECT_EQ(rt.stats().failed, 1u);
  EXPECT_EQ(rt.stats().dead_lettered, 6u);  // took 0..3; 4..9 are dead letters
  shutdown_and_expect_accounting(rt);
}

// ---- the stack is a real stack --------------------------------------------------------

struct DeepStack : troupe::blocking_actor<DeepStack, int> {
  explicit DeepStack(std::atomic<long>* out)
      : blocking_actor({.stack_size = 256 * 1024}), out_(out) {}
  // Recursion that suspends at the bottom: every frame's local must survive the switch
  // (and any migration to another worker while suspended).
  long descend(int depth) {
    volatile char pad[512];
    pad[0] = static_cast<char>(depth);
    if (depth == 0) return recv();
    const long below = descend(depth - 1);
    return below + pad[0];
  }
  void run() {
    for (;;) out_->fetch_add(descend(100));
  }
  std::atomic<long>* out_;
};

TEST_P(BlockingActor, LocalsOnADeepStackSurviveSuspensionAndMigration) {
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<long> sum{0};
  auto a = rt.spawn<DeepStack>(&sum);
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) a.send(1);
  a.close();
  a.join();
  // Each message: 1 + (1 + 2 + ... + 100) from the frames above the recv.
  EXPECT_EQ(sum.load(), kMessages * (1 + 5050L));
  shutdown_and_expect_accounting(rt);
}

// ---- stack sizes ----------------------------------------------------------------------

struct Sized : troupe::blocking_actor<Sized, int> {
  Sized(std::size_t stack_size, std::atomic<bool>* ran)
      : blocking_actor({.stack_size = stack_size}), ran_(ran) {}
  // Uses as many bytes of stack as the message says: more than one page, so a stack that
  // rounding had wrapped around to a single page overflows into its guard page.
  void run() {
    (void)use_stack(recv());
    ran_->store(true);
  }
  [[gnu::noinline]] static char use_stack(int bytes) {
    auto* p = static_cast<volatile char*>(__builtin_alloca(static_cast<std::size_t>(bytes)));
    for (int i = 0; i < bytes; i += 256) p[i] = static_cast<char>(i);
    return p[0];
  }
  std::atomic<bool>* ran_;
};

TEST(BlockingActorStackSize, ASizeAboveTheMaximumIsRefusedAtSpawnNamingTheSizeAndTheLimit) {
  constexpr std::size_t max = Sized::max_stack_size;
  static_assert(max == std::size_t{1} << 30);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // Near SIZE_MAX, rounding up to whole pages used to wrap around to a single page.
  for (const std::size_t size :
       {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - (page - 1), SIZE_MAX - page, SIZE_MAX / 2, max + 1}) {
    SCOPED_TRACE("stack_size " + std::to_string(size));
    troupe::runtime rt(with_workers(1));
    std::atomic<bool> ran{false};
    try {
      auto a = rt.spawn<Sized>(size, &ran);
      a.send(8 * 1024);
      a.close();
      a.join();
      ADD_FAILURE() << "spawn accepted the stack size; the actor "
                    << (ran.load() ? "ran" : "did not run");
    } catch (const troupe::error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::to_string(size)), std::string::npos) << what;
      EXPECT_NE(what.find(std::to_string(max)), std::string::npos) << what;
    }
    EXPECT_FALSE(ran.load());
    rt.shutdown();
    EXPECT_EQ(rt.stats().spawned, 0u) << "a refused actor is never registered";
  }
}

TEST(BlockingActorStackSize, TheMaximumIsAcceptedAndSmallSizesAreRaisedToTheMinimum) {
  static_assert(Sized::min_stack_size == 16 * 1024);
  troupe::runtime rt(with_workers(1));
  // 8 KiB of stack in use: fits the 16 KiB minimum, not a single page. The largest size
  // maps 1 GiB of address space; only the pages touched become resident.
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, Sized::min_stack_size - 1, Sized::max_stack_size}) {
    SCOPED_TRACE("stack_size " + std::to_string(size));
    std::atomic<bool> ran{false};
    auto a = rt.spawn<Sized>(size, &ran);
    a.send(8 * 1024);
    a.join();  // run() returns after one message
    EXPECT_TRUE(ran.load());
  }
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 0u);
}

// Migration, made deterministic: the blocking actor wakes a hog from inside its turn, so
// the hog lands in the LIFO slot of the very worker the fiber ran on (not stealable) and
// spins there. The fiber's next message can then only be run by the other worker.
struct Hog : troupe::actor<Hog, int> {
  Hog(std::atomic<bool>* running, std::atomic<bool>* release, std::thread::id* where)
      : running_(running), release_(release), where_(where) {}
  void on(int) {
    *where_ = std::this_thread::get_id();
    running_->store(true);
    const auto give_up = std::chrono::steady_clock::now() + 10s;  // never hang the suite
    while (!release_->load() && std::chrono::steady_clock::now() < give_up) {
    }
  }
  std::atomic<bool>* running_;
  std::atomic<bool>* release_;
  std::thread::id* where_;
};

struct Mover : troupe::blocking_actor<Mover, int> {
  Mover(troupe::ref<int> hog, std::vector<std::thread::id>* threads, std::atomic<int>* turns)
      : hog_(std::move(hog)), threads_(threads), turns_(turns) {}
  void run() {
    std::vector<int> on_my_stack{1, 2, 3};  // must survive the move
    for (;;) {
      const int cmd = recv();
      threads_->push_back(std::this_thread::get_id());
      if (cmd == 1) hog_.send(0);  // runs right after this turn, on this worker
      if (on_my_stack == std::vector<int>{1, 2, 3}) turns_->fetch_add(1);
    }
  }
  troupe::ref<int> hog_;
  std::vector<std::thread::id>* threads_;
  std::atomic<int>* turns_;
};

TEST(BlockingActorMigration, AFiberParkedOnOneWorkerResumesOnTheOther) {
  troupe::runtime rt(with_workers(2));
  std::atomic<bool> hog_running{false};
  std::atomic<bool> release{false};
  std::thread::id hog_thread;
  std::vector<std::thread::id> threads;
  std::atomic<int> turns{0};
  auto hog = rt.spawn<Hog>(&hog_running, &release, &hog_thread);
  auto m = rt.spawn<Mover>(hog, &threads, &turns);
  m.send(1);
  while (!hog_running.load()) std::this_thread::yield();
  m.send(0);  // the hog occupies the fiber's worker: only the other one can take this
  while (turns.load() < 2) std::this_thread::yield();
  release.store(true);
  m.close();
  m.join();
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_EQ(hog_thread, threads[0]) << "the hog should have run on the fiber's worker";
  EXPECT_NE(threads[0], threads[1]) << "the fiber did not move to the other worker";
  EXPECT_EQ(turns.load(), 2) << "a local on the fiber's stack changed across the move";
  shutdown_and_expect_accounting(rt);
}

// ---- selective receive ----------------------------------------------------------------

struct Job {
  int n;
};
struct Go {};

struct Selective : troupe::blocking_actor<Selective, Job, Go> {
  explicit Selective(std::vector<int>* order) : order_(order) {}
  void run() {
    recv<Go>();  // everything before the Go stays queued
    order_->push_back(-1);
    // Then odd jobs first (selectively), then the rest in plain arrival order.
    for (int i = 0; i < 3; ++i) {
      auto m = recv_if([](const message& m) {
        return std::holds_alternative<Job>(m) && std::get<Job>(m).n % 2 == 1;
      });
      order_->push_back(std::get<Job>(m).n);
    }
    for (;;) {
      auto m = recv();
      if (auto* j = std::get_if<Job>(&m)) order_->push_back(j->n);
    }
  }
  std::vector<int>* order_;
};

TEST_P(BlockingActor, SelectiveReceiveLeavesSkippedMessagesQueuedInOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<int> order;
  auto a = rt.spawn<Selective>(&order);
  for (int n = 0; n < 4; ++n) a.send(Job{n});  // 0 1 2 3
  a.send(Go{});
  for (int n = 4; n < 8; ++n) a.send(Job{n});  // 4 5 6 7
  a.close();
  a.join();
  // Go first; then the odd 1, 3, 5; then the rest in arrival order: 0 2 4 6 7.
  EXPECT_EQ(order, (std::vector<int>{-1, 1, 3, 5, 0, 2, 4, 6, 7}));
  rt.shutdown();
  EXPECT_EQ(rt.stats().handled, 9u);
  shutdown_and_expect_accounting(rt);
}

struct WaitsForGo : troupe::blocking_actor<WaitsForGo, Job, Go> {
  void run() { recv<Go>(); }  // returns at once: the skipped jobs are never received
};

TEST_P(BlockingActor, SkippedMessagesBecomeDeadLettersWhenTheActorStops) {
  std::atomic<int> dead_jobs{0};
  troupe::runtime_config c = with_workers(GetParam());
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    if (d.message_type == typeid(Job)) dead_jobs.fetch_add(1);
  };
  troupe::runtime rt(std::move(c));
  auto a = rt.spawn<WaitsForGo>();
  for (int n = 0; n < 5; ++n) a.send(Job{n});
  a.send(Go{});
  a.send(Job{5});
  a.join();
  rt.shutdown();
  EXPECT_EQ(dead_jobs.load(), 6) << "5 skipped (stashed) + 1 still in the mailbox";
  EXPECT_EQ(rt.stats().handled, 1u);
  shutdown_and_expect_accounting(rt);
}

struct GoThenDrain : troupe::blocking_actor<GoThenDrain, Job, Go> {
  explicit GoThenDrain(std::vector<std::string>* log) : log_(log) {}
  void run() {
    try {
      recv<Go>();  // never comes: the close sentinel ends the scan
      log_->push_back("go");
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit during selective receive");
    }
    try {
      for (;;) log_->push_back("job " + std::to_string(std::get<Job>(recv()).n));
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }
  std::vector<std::string>* log_;
};

TEST_P(BlockingActor, MessagesSkippedBeforeTheCloseAreStillReceivedThenActorExitAgain) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::string> log;
  auto a = rt.spawn<GoThenDrain>(&log);
  for (int n = 0; n < 3; ++n) a.send(Job{n});
  a.close();
  a.send(Job{99});  // behind the close: a dead letter
  a.join();
  EXPECT_EQ(log, (std::vector<std::string>{"exit during selective receive", "job 0", "job 1",
                                           "job 2", "exit"}));
  rt.shutdown();
  EXPECT_EQ(rt.stats().handled, 3u);
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
  shutdown_and_expect_accounting(rt);
}

struct PickyThrower : troupe::blocking_actor<PickyThrower, int> {
  explicit PickyThrower(std::vector<int>* got) : got_(got) {}
  void run() {
    try {
      (void)recv_if([](int n) -> bool {
        if (n == 2) throw std::runtime_error("cannot judge 2");
        return false;
      });
    } catch (const std::runtime_error&) {
    }
    for (;;) got_->push_back(recv());  // nothing was lost: 0, 1, 2 (the one it threw on), 3
  }
  std::vector<int>* got_;
};

TEST_P(BlockingActor, APredicateThatThrowsLosesNoMessage) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<int> got;
  auto a = rt.spawn<PickyThrower>(&got);
  for (int n = 0; n < 4; ++n) a.send(n);
  a.close();
  a.join();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  shutdown_and_expect_accounting(rt);
}

// ---- recv_for -------------------------------------------------------------------------

struct Timed : troupe::blocking_actor<Timed, int> {
  struct log {
    std::vector<std::optional<int>> got;
    std::chrono::steady_clock::duration waited{};
  };
  explicit Timed(log* l) : l_(l) {}
  void run() {
    l_->got.push_back(recv_for(0ms));  // nothing queued yet: at once
    const auto t0 = std::chrono::steady_clock::now();
    l_->got.push_back(recv_for(30ms));  // nothing comes: times out
    l_->waited = std::chrono::steady_clock::now() - t0;
    l_->got.push_back(recv_for(1h));  // the test sends 5: long before the hour
    for (;;) l_->got.push_back(recv_for(1h));
  }
  log* l_;
};

TEST_P(BlockingActor, RecvForTimesOutWhenNothingComesAndReturnsAMessageThatDoes) {
  troupe::runtime rt(with_workers(GetParam()));
  Timed::log l;
  auto a = rt.spawn<Timed>(&l);
  std::this_thread::sleep_for(100ms);  // let the 30 ms timeout pass first
  a.send(5);
  a.send(6);
  a.close();
  a.join();
  ASSERT_EQ(l.got.size(), 4u);
  EXPECT_EQ(l.got[0], std::nullopt);
  EXPECT_EQ(l.got[1], std::nullopt);
  EXPECT_EQ(l.got[2], std::optional<int>(5));
  EXPECT_EQ(l.got[3], std::optional<int>(6));
  // A lower bound only (the upper one depends on the machine's load).
  EXPECT_GE(l.waited, 30ms);
  shutdown_and_expect_accounting(rt);
}

struct TimeoutLoop : troupe::blocking_actor<TimeoutLoop, int> {
  TimeoutLoop(std::atomic<int>* got, std::atomic<int>* timeouts) : got_(got), timeouts_(timeouts) {}
  void run() {
    for (;;) {
      if (auto m = recv_for(1ms)) {
        got_->fetch_add(*m);
      } else {
        timeouts_->fetch_add(1);
      }
    }
  }
  std::atomic<int>* got_;
  std::atomic<int>* timeouts_;
};

TEST_P(BlockingActor, TimeoutsRacingWithMessagesLoseNothing) {
  // Messages trickle in around 1 ms timeouts: some recv_for calls time out, some get a
  // message just before or just after their timer fires. Every message is received once.
#if defined(__SANITIZE_THREAD__)
  constexpr int kMessages = 300;
#else
  constexpr int kMessages = 3000;
#endif
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> got{0};
  std::atomic<int> timeouts{0};
  auto a = rt.spawn<TimeoutLoop>(&got, &timeouts);
  for (int i = 0; i < kMessages; ++i) {
    a.send(1);
    if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300 + (i % 5) * 400));
  }
  // Then silence: the loop must time out now (a lost timer would hang here, and ctest's
  // timeout would report it).
  while (timeouts.load() == 0) std::this_thread::sleep_for(1ms);
  a.close();
  a.join();
  EXPECT_EQ(got.load(), kMessages);
  shutdown_and_expect_accounting(rt);
}

// ---- fairness -------------------------------------------------------------------------

// Takes (or, selectively, skips) a full mailbox; notes how far it got before `Flag` ran.
struct Scanner : troupe::blocking_actor<Scanner, Job, Go> {
  Scanner(bool selective, std::atomic<bool>* other_ran, std::atomic<int>* before)
      : selective_(selective), other_ran_(other_ran), before_(before) {}
  void run() {
    if (selective_) {
      recv<Go>();  // skips all the queued jobs first
      if (!other_ran_->load()) before_->store(1'000'000);
    }
    for (int taken = 1;; ++taken) {
      (void)recv();
      if (!other_ran_->load() && taken > before_->load()) before_->store(taken);
    }
  }
  bool selective_;
  std::atomic<bool>* other_ran_;
  std::atomic<int>* before_;
};

struct Flag : troupe::actor<Flag, int> {
  explicit Flag(std::atomic<bool>* ran) : ran_(ran) {}
  void on(int) { ran_->store(true); }
  std::atomic<bool>* ran_;
};

struct Gate : troupe::actor<Gate, int> {
  explicit Gate(std::latch* l) : l_(l) {}
  void on(int) { l_->wait(); }
  std::latch* l_;
};

class BlockingFairness : public ::testing::TestWithParam<bool> {};

TEST_P(BlockingFairness, AFiberWithAFullMailboxYieldsItsWorkerAfterItsBatch) {
  const bool selective = GetParam();
  troupe::runtime rt(with_workers(1, 4));
  std::atomic<bool> other_ran{false};
  std::atomic<int> before{0};
  std::latch go(1);
  auto gate = rt.spawn<Gate>(&go);
  gate.send(0);  // blocks the only worker so both mailboxes fill before anything runs
  auto s = rt.spawn<Scanner>(selective, &other_ran, &before);
  for (int i = 0; i < 10'000; ++i) s.send(Job{i});
  s.send(Go{});
  auto f = rt.spawn<Flag>(&other_ran);
  f.send(1);
  go.count_down();
  s.close();
  s.join();
  EXPECT_TRUE(other_ran.load());
  EXPECT_LT(before.load(), 10'000) << "the fiber never yielded its worker";
  shutdown_and_expect_accounting(rt);
}

INSTANTIATE_TEST_SUITE_P(PlainAndSelective, BlockingFairness, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "selective" : "plain"; });

// ---- conversation, errors -------------------------------------------------------------

struct Ponger : troupe::blocking_actor<Ponger, troupe::ref<int>> {
  void run() {
    troupe::ref<int> back = recv();
    for (int i = 0; i < 1000; ++i) back.send(i);
    back.close();
  }
};

struct Counter : troupe::blocking_actor<Counter, int> {
  explicit Counter(long* sum) : sum_(sum) {}
  void run() {
    for (;;) *sum_ += recv();
  }
  long* sum_;
};

TEST_P(BlockingActor, BlockingActorsSendToEachOther) {
  troupe::runtime rt(with_workers(GetParam()));
  long sum = 0;
  auto c = rt.spawn<Counter>(&sum);
  auto p = rt.spawn<Ponger>();
  p.send(c);
  c.join();
  EXPECT_EQ(sum, 999L * 1000 / 2);
  shutdown_and_expect_accounting(rt);
}

TEST(BlockingActorErrors, SpawnAfterShutdownThrowsAndNeverStartsRun) {
  troupe::runtime rt(with_workers(1));
  rt.shutdown();
  std::latch started(1);
  EXPECT_THROW(rt.spawn<Starter>(&started), troupe::error);
  EXPECT_FALSE(started.try_wait());
}

INSTANTIATE_TEST_SUITE_P(Workers, BlockingActor, ::testing::Values(1u, 2u, 4u),
                         [](const auto& info) { return std::to_string(info.param) + "w"; });

}  // namespace
