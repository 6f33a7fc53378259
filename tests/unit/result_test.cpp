// troupe::promise / troupe::result: value, exception and void completion; move-only values;
// get() once (a second get() — same thread or a racing one — throws troupe::error); wait()
// from many threads at once; the wait_for() timeout path; broken promises (never a hang);
// misuse (set twice, get_result twice, empty handles); and the worker-thread rule: get(),
// wait() and wait_for() throw troupe::error inside a handler, ready() does not.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;

std::string what_of(const std::exception& e) { return e.what(); }

TEST(Result, ValueSetBeforeGet) {
  troupe::promise<int> p;
  troupe::result<int> r = p.get_result();
  EXPECT_TRUE(r.valid());
  EXPECT_FALSE(r.ready());
  p.set_value(42);
  EXPECT_TRUE(r.ready());
  EXPECT_EQ(r.get(), 42);
  EXPECT_FALSE(r.valid()) << "get() consumed the value";
  EXPECT_TRUE(r.ready()) << "ready() stays true after get()";
}

TEST(Result, ValueSetFromAnotherThreadWakesABlockedGet) {
  for (int round = 0; round < 200; ++round) {
    troupe::promise<std::string> p;
    troupe::result<std::string> r = p.get_result();
    std::thread producer([p = std::move(p), round]() mutable {
      if (round % 2 == 0) std::this_thread::yield();
      p.set_value("value " + std::to_string(round));
    });
    EXPECT_EQ(r.get(), "value " + std::to_string(round));
    producer.join();
  }
}

TEST(Result, ExceptionIsRethrownByGet) {
  troupe::promise<int> p;
  troupe::result<int> r = p.get_result();
  std::thread producer([p = std::move(p)]() mutable {
    try {
      throw std::out_of_range("no such key");
    } catch (...) {
      p.set_exception(std::current_exception());
    }
  });
  try {
    (void)r.get();
    ADD_FAILURE() << "get() should have rethrown";
  } catch (const std::out_of_range& e) {
    EXPECT_EQ(what_of(e), "no such key");
  }
  producer.join();
}

TEST(Result, VoidResult) {
  troupe::promise<void> p;
  troupe::result<void> r = p.get_result();
  std::thread producer([p = std::move(p)]() mutable { p.set_value(); });
  r.get();
  EXPECT_FALSE(r.valid());
  producer.join();

  troupe::promise<void> q;
  troupe::result<void> s = q.get_result();
  q.set_exception(std::make_exception_ptr(std::runtime_error("void failed")));
  EXPECT_THROW(s.get(), std::runtime_error);
}

TEST(Result, MoveOnlyValue) {
  troupe::promise<std::unique_ptr<int>> p;
  auto r = p.get_result();
  p.set_value(std::make_unique<int>(7));
  std::unique_ptr<int> v = r.get();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 7);
}

// Counts live instances, to check that a value nobody takes is still destroyed exactly once.
struct Counted {
  static inline std::atomic<int> live{0};
  int v;
  explicit Counted(int x) : v(x) { ++live; }
  Counted(const Counted& o) : v(o.v) { ++live; }
  Counted(Counted&& o) noexcept : v(o.v) { ++live; }
  ~Counted() { --live; }
};

TEST(Result, ValuesAreDestroyedExactlyOnce) {
  Counted::live = 0;
  {
    troupe::promise<Counted> p;
    auto r = p.get_result();
    p.set_value(Counted(1));  // never taken
  }
  EXPECT_EQ(Counted::live.load(), 0);
  {
    troupe::promise<Counted> p;
    auto r = p.get_result();
    const Counted c(2);
    p.set_value(c);  // copied in
    Counted got = r.get();
    EXPECT_EQ(got.v, 2);
  }
  EXPECT_EQ(Counted::live.load(), 0);
  {
    troupe::promise<Counted> p;
    p.set_value(Counted(3));  // result never retrieved
  }
  EXPECT_EQ(Counted::live.load(), 0);
  {
    troupe::result<Counted> r;
    {
      troupe::promise<Counted> p;
      r = p.get_result();
      p.set_value(Counted(4));
    }  // promise gone first; the result alone keeps the state
    EXPECT_EQ(r.get().v, 4);
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

TEST(Result, ResultDroppedBeforeTheValueArrives) {
  Counted::live = 0;
  troupe::promise<Counted> p;
  { auto r = p.get_result(); }
  p.set_value(Counted(5));  // nobody listens: stored, then freed with the promise
  EXPECT_EQ(Counted::live.load(), 1);
}

TEST(Result, ResultDroppedBeforeTheValueArrivesIsFreed) {
  Counted::live = 0;
  {
    troupe::promise<Counted> p;
    { auto r = p.get_result(); }
    p.set_value(Counted(6));
  }
  EXPECT_EQ(Counted::live.load(), 0);
}

TEST(Result, SecondGetThrows) {
  troupe::promise<int> p;
  auto r = p.get_result();
  p.set_value(1);
  EXPECT_EQ(r.get(), 1);
  try {
    (void)r.get();
    ADD_FAILURE() << "second get() should throw";
  } catch (const troupe::error& e) {
    EXPECT_NE(what_of(e).find("called twice"), std::string::npos) << e.what();
  }
}

// Single consumer, enforced: many threads race get() on one result; exactly one receives the
// value, every other one gets troupe::error — none hangs, none sees a torn value.
TEST(Result, GetFromManyThreadsExactlyOneWins) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 50; ++round) {
    troupe::promise<std::vector<int>> p;
    auto r = p.get_result();
    std::atomic<int> winners{0}, refused{0}, go{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        while (go.load() == 0) std::this_thread::yield();
        try {
          std::vector<int> v = r.get();
          EXPECT_EQ(v, (std::vector<int>{1, 2, 3}));
          ++winners;
        } catch (const troupe::error&) {
          ++refused;
        }
      });
    }
    go = 1;
    if (round % 2 == 0) std::this_thread::yield();
    p.set_value(std::vector<int>{1, 2, 3});
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
  }
}

// wait() does not consume: any number of threads may wait on one result at once.
TEST(Result, WaitFromManyThreads) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 50; ++round) {
    troupe::promise<int> p;
    auto r = p.get_result();
    std::atomic<int> woke{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        if (t % 2 == 0) {
          r.wait();
        } else {
          while (!r.wait_for(1h)) {
          }
        }
        EXPECT_TRUE(r.ready());
        ++woke;
      });
    }
    p.set_value(round);
    for (auto& t : threads) t.join();
    EXPECT_EQ(woke.load(), kThreads);
    EXPECT_EQ(r.get(), round);
  }
}

// Many results, each with its own producer and consumer thread, all at once (shared
// parking slots must wake the right sleepers).
TEST(Result, ManyIndependentResultsAcrossThreads) {
  constexpr int kPairs = 16;
  constexpr int kPerPair = 500;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < kPairs; ++i) {
    threads.emplace_back([i, &wrong] {
      for (int k = 0; k < kPerPair; ++k) {
        troupe::promise<int> p;
        auto r = p.get_result();
        std::thread producer(
            [p = std::move(p), v = i * kPerPair + k]() mutable { p.set_value(v); });
        if (r.get() != i * kPerPair + k) ++wrong;
        producer.join();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Result, WaitForTimesOutWhileNothingIsSet) {
  troupe::promise<int> p;
  auto r = p.get_result();
  EXPECT_FALSE(r.wait_for(1ms));
  EXPECT_FALSE(r.wait_for(0s));
  EXPECT_FALSE(r.wait_for(-5s));
  EXPECT_FALSE(r.wait_for(std::chrono::duration<double, std::milli>(0.5)));
  EXPECT_FALSE(r.ready());
  EXPECT_TRUE(r.valid()) << "a timed-out wait does not consume";
  p.set_value(9);
  EXPECT_TRUE(r.wait_for(0s));
  EXPECT_TRUE(r.wait_for(std::chrono::seconds::max())) << "huge timeouts must not overflow";
  EXPECT_EQ(r.get(), 9);
}

TEST(Result, WaitForWokenBeforeTheDeadline) {
  troupe::promise<int> p;
  auto r = p.get_result();
  std::thread producer([p = std::move(p)]() mutable { p.set_value(3); });
  // Generous bound; the assertion is only that a set value is seen, not how fast.
  bool ready = false;
  while (!ready) ready = r.wait_for(10min);
  EXPECT_EQ(r.get(), 3);
  producer.join();
}

TEST(Result, BrokenPromiseMakesGetThrowNotHang) {
  troupe::result<int> r;
  {
    troupe::promise<int> p;
    r = p.get_result();
  }
  EXPECT_TRUE(r.ready());
  r.wait();
  try {
    (void)r.get();
    ADD_FAILURE() << "get() on a broken promise should throw";
  } catch (const troupe::error& e) {
    EXPECT_NE(what_of(e).find("broken promise"), std::string::npos) << e.what();
  }
}

TEST(Result, BrokenPromiseWakesABlockedGet) {
  for (int round = 0; round < 100; ++round) {
    troupe::promise<int> p;
    auto r = p.get_result();
    std::thread producer([p = std::move(p)]() mutable {
      std::this_thread::yield();
      troupe::promise<int> gone = std::move(p);  // destroyed without a value
    });
    EXPECT_THROW((void)r.get(), troupe::error);
    producer.join();
  }
}

TEST(Result, MovedFromPromiseIsNotBroken) {
  troupe::promise<int> p;
  auto r = p.get_result();
  troupe::promise<int> q = std::move(p);
  EXPECT_FALSE(p.valid());
  EXPECT_FALSE(r.ready()) << "moving the promise must not break it";
  q.set_value(5);
  EXPECT_EQ(r.get(), 5);
  troupe::promise<int> a, b;
  auto ra = a.get_result();
  a = std::move(b);  // a's old state is abandoned by the assignment
  EXPECT_THROW((void)ra.get(), troupe::error);
}

TEST(Result, MisuseThrowsTroupeError) {
  troupe::promise<int> p;
  auto r = p.get_result();
  EXPECT_THROW((void)p.get_result(), troupe::error);
  p.set_value(1);
  EXPECT_THROW(p.set_value(2), troupe::error);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(1)), troupe::error);
  EXPECT_EQ(r.get(), 1) << "the first value stands";

  troupe::promise<int> q;
  EXPECT_THROW(q.set_exception(nullptr), troupe::error);
  troupe::promise<int> moved = std::move(q);
  EXPECT_THROW(q.set_value(1), troupe::error);
  EXPECT_THROW((void)q.get_result(), troupe::error);

  troupe::result<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.ready());
  EXPECT_THROW((void)empty.get(), troupe::error);
  EXPECT_THROW(empty.wait(), troupe::error);
  EXPECT_THROW((void)empty.wait_for(1ms), troupe::error);
  troupe::result<int> r2 = moved.get_result();
  troupe::result<int> r3 = std::move(r2);
  EXPECT_FALSE(r2.valid());
  EXPECT_TRUE(r3.valid());
}

// ---- the worker-thread rule ---------------------------------------------------------------

struct Probe {
  troupe::result<int>* r;
};
struct Prober : troupe::actor<Prober, Probe> {
  std::atomic<int>* get_refused;
  std::atomic<int>* wait_refused;
  std::atomic<int>* wait_for_refused;
  std::atomic<int>* ready_seen;
  Prober(std::atomic<int>* a, std::atomic<int>* b, std::atomic<int>* c, std::atomic<int>* d)
      : get_refused(a), wait_refused(b), wait_for_refused(c), ready_seen(d) {}
  void on(Probe p) {
    try {
      (void)p.r->get();
    } catch (const troupe::error& e) {
      if (std::string(e.what()).find("worker thread") != std::string::npos) ++*get_refused;
    }
    try {
      p.r->wait();
    } catch (const troupe::error&) {
      ++*wait_refused;
    }
    try {
      (void)p.r->wait_for(0s);
    } catch (const troupe::error&) {
      ++*wait_for_refused;
    }
    if (p.r->ready()) ++*ready_seen;  // never blocks: allowed
  }
};

TEST(Result, BlockingCallsThrowOnAWorkerThread) {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  troupe::runtime rt(cfg);
  std::atomic<int> get_refused{0}, wait_refused{0}, wait_for_refused{0}, ready_seen{0};
  auto a = rt.spawn<Prober>(&get_refused, &wait_refused, &wait_for_refused, &ready_seen);

  troupe::promise<int> pending;  // not set: get() would block the worker
  auto r1 = pending.get_result();
  troupe::promise<int> done;  // already set: refused all the same (deterministic rule)
  auto r2 = done.get_result();
  done.set_value(2);

  a.send(Probe{&r1});
  a.send(Probe{&r2});
  a.close();
  a.join();
  EXPECT_EQ(get_refused.load(), 2);
  EXPECT_EQ(wait_refused.load(), 2);
  EXPECT_EQ(wait_for_refused.load(), 2);
  EXPECT_EQ(ready_seen.load(), 1);
  // A refused get() did not consume: the value is still there for a non-worker thread.
  EXPECT_TRUE(r2.valid());
  EXPECT_EQ(r2.get(), 2);
  pending.set_value(1);
  EXPECT_EQ(r1.get(), 1);
  rt.shutdown();
}

}  // namespace
