// troupe::task_worker + troupe::submit (the recipe's Worker): values, exceptions and void
// results; std::async-style argument passing (decay copies, moves, std::ref); per-submitter
// FIFO; the task's function and arguments destroyed before the result is ready; broken
// promises for tasks that reach a stopped worker (closed, or after shutdown); an empty
// handle; submitting from inside an actor (get() there throws; the wait-free pattern works);
// and the runtime's accounting.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::with_workers;

void shutdown_and_expect_accounting(troupe::runtime& rt) {
  troupe::test::shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().failed, 0u) << "a task_worker never fails: f's exceptions go to the result";
}

long ipow(long base, int exp) {
  long r = 1;
  while (exp-- > 0) r *= base;
  return r;
}

struct Multiply {
  int factor;
  int operator()(int x) const { return x * factor; }
};

TEST(TaskWorker, SubmitReturnsTheValue) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  troupe::result<long> a = troupe::submit(w, ipow, 2, 10);
  troupe::result<long> b = troupe::submit(w, &ipow, 3L, 4);
  auto c = troupe::submit(w, Multiply{6}, 7);
  auto d = troupe::submit(
      w, [](const std::string& s, int n) { return s + std::to_string(n); }, "n=", 5);
  EXPECT_EQ(a.get(), 1024);
  EXPECT_EQ(b.get(), 81);
  EXPECT_EQ(c.get(), 42);
  EXPECT_EQ(d.get(), "n=5");
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, ExceptionsAreDeliveredThroughTheResult) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  auto bad = troupe::submit(
      w,
      [](int x) -> int {
        if (x < 0) throw std::invalid_argument("negative: " + std::to_string(x));
        return x;
      },
      -3);
  auto after = troupe::submit(w, [] { return 1; });
  try {
    (void)bad.get();
    ADD_FAILURE() << "get() should rethrow the task's exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "negative: -3");
  }
  EXPECT_EQ(after.get(), 1) << "the worker keeps running after a task threw";
  EXPECT_FALSE(w.stopped());
  auto thrown_int = troupe::submit(w, []() -> void { throw 17; });
  try {
    thrown_int.get();
    ADD_FAILURE() << "non-std exceptions are delivered too";
  } catch (int v) {
    EXPECT_EQ(v, 17);
  }
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, VoidResultPublishesTheSideEffects) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  std::vector<int> written;  // plain memory: get() must order the task's writes before us
  troupe::result<void> r = troupe::submit(
      w,
      [](std::vector<int>& out) {
        out.assign({1, 2, 3});
      },
      std::ref(written));
  r.get();
  EXPECT_EQ(written, (std::vector<int>{1, 2, 3}));
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, ArgumentsAreDecayCopiedLikeStdAsync) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  std::string s = "original";
  auto copied = troupe::submit(
      w, [](std::string x) { return x + "!"; }, s);
  s = "changed after submit";  // the task holds its own copy
  EXPECT_EQ(copied.get(), "original!");

  auto moved = troupe::submit(
      w, [](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
      std::make_unique<int>(41));
  std::unique_ptr<int> out = moved.get();
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, 42);

  int target = 0;
  troupe::submit(
      w, [](int& t) { t = 5; }, std::ref(target))
      .get();
  EXPECT_EQ(target, 5);
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, FunctionAndArgumentsAreDestroyedBeforeTheResultIsReady) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  auto token = std::make_shared<int>(1);
  auto r = troupe::submit(
      w, [t = token](std::shared_ptr<int> u) { return *t + *u; }, token);
  EXPECT_EQ(r.get(), 2);
  EXPECT_EQ(token.use_count(), 1) << "the task's copies must be gone when get() returns";
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, TasksFromOneThreadRunInSubmissionOrder) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  constexpr int kTasks = 2000;
  std::vector<int> order;  // touched only by the worker's tasks, read after the last get()
  std::vector<troupe::result<void>> results;
  results.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    results.push_back(troupe::submit(w, [&order, i] { order.push_back(i); }));
  }
  for (auto& r : results) r.get();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(order[i], i) << "at " << i;
  shutdown_and_expect_accounting(rt);
}

TEST(TaskWorker, SubmitToAClosedWorkerBreaksThePromise) {
  std::atomic<int> dead{0};
  troupe::runtime_config cfg = with_workers(2);
  cfg.on_dead_letter = [&dead](const troupe::dead_letter&) { ++dead; };
  troupe::runtime rt(cfg);
  auto w = rt.spawn<troupe::task_worker>();
  std::atomic<int> ran{0};
  auto before = troupe::submit(w, [&ran] { return ++ran; });
  w.close();  // the sentinel sits between the two tasks
  auto behind = troupe::submit(w, [&ran] { return ++ran; });
  w.join();
  auto after = troupe::submit(w, [&ran] { return ++ran; });

  EXPECT_EQ(before.get(), 1) << "a task sent before close() runs";
  for (troupe::result<int>* r : {&behind, &after}) {
    EXPECT_TRUE(r->ready()) << "a dead-lettered task completes its result at once";
    try {
      (void)r->get();
      ADD_FAILURE() << "get() should throw: the task was never run";
    } catch (const troupe::error& e) {
      EXPECT_NE(std::string(e.what()).find("the task was never run: its worker had stopped"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(dead.load(), 2);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().dead_lettered, 2u);
}

TEST(TaskWorker, SubmitAfterShutdownBreaksThePromise) {
  troupe::runtime rt(with_workers(1));
  auto w = rt.spawn<troupe::task_worker>();
  rt.shutdown();
  bool ran = false;
  auto r = troupe::submit(w, [&ran] { ran = true; });
  EXPECT_THROW(r.get(), troupe::error);
  EXPECT_FALSE(ran);
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
}

TEST(TaskWorker, SubmitToAnEmptyHandleThrows) {
  troupe::task_worker::handle none;
  bool ran = false;
  EXPECT_THROW((void)troupe::submit(none, [&ran] { ran = true; }), troupe::error);
  EXPECT_FALSE(ran);
}

TEST(TaskWorker, GetInsideATaskThrowsThroughItsOwnResult) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  troupe::promise<int> p;
  auto inner = p.get_result();
  auto outer = troupe::submit(w, [&inner] { return inner.get(); });  // would block a worker
  EXPECT_THROW((void)outer.get(), troupe::error);
  p.set_value(1);
  EXPECT_EQ(inner.get(), 1) << "the refused get() did not consume the inner result";
  shutdown_and_expect_accounting(rt);
}

// ---- submitting from inside another actor ------------------------------------------------

struct Start {
  troupe::task_worker::handle worker;
  int x;
};
struct Done {
  long value;
};
struct Client : troupe::actor<Client, Start, Done> {
  troupe::promise<long>* report;  // set by the last Done, read by the test thread
  std::atomic<int>* get_refused;
  Client(troupe::promise<long>* r, std::atomic<int>* g) : report(r), get_refused(g) {}

  void on(Start s) {
    // Blocking on the result here is refused...
    auto r = troupe::submit(s.worker, ipow, 2L, s.x);
    try {
      (void)r.get();
    } catch (const troupe::error&) {
      ++*get_refused;
    }
    // ...the wait-free way: the task sends its value back to us as a message.
    (void)troupe::submit(s.worker, [me = self(), x = s.x] { me.send(Done{ipow(3, x)}); });
  }
  void on(Done d) { report->set_value(d.value); }
};

TEST(TaskWorker, SubmitFromInsideAnActor) {
  troupe::runtime rt(with_workers(2));
  auto w = rt.spawn<troupe::task_worker>();
  troupe::promise<long> report;
  auto got = report.get_result();
  std::atomic<int> get_refused{0};
  auto c = rt.spawn<Client>(&report, &get_refused);
  c.send(Start{w, 4});
  EXPECT_EQ(got.get(), 81);
  EXPECT_EQ(get_refused.load(), 1);
  shutdown_and_expect_accounting(rt);
}

}  // namespace
