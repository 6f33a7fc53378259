// ask() (troupe/ask.hpp) and result::then() (troupe/result.hpp): request/response from
// outside the pool, from event actors through continuations, and from coroutine actors
// through co_await; every way an ask can end (reply, fail, drop, timeout, stopped
// responder, stopped asker), each exactly once and accounted for in stats.
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

using square_request = troupe::request<int, long>;

struct Squarer : troupe::actor<Squarer, square_request> {
  void on(square_request r) { r.reply(long{r.value()} * r.value()); }
};

// Keeps requests until told to answer them: lets a test decide when (or whether) the
// reply comes.
struct Release {};
struct Holder : troupe::actor<Holder, square_request, Release> {
  explicit Holder(std::atomic<int>* received = nullptr) : received_(received) {}
  void on(square_request r) {
    held_.push_back(std::move(r));
    if (received_ != nullptr) received_->fetch_add(1);
  }
  void on(Release) {
    for (auto& r : held_) r.reply(long{r.value()} * r.value());
    held_.clear();
  }
  void on_stop() { held_.clear(); }  // unanswered: the askers' results break now
  std::atomic<int>* received_;
  std::vector<square_request> held_;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Polls `done` (a test helper, not a timing assertion: the deadline only turns a hang into
// a failure).
template <class Pred>
bool eventually(Pred done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Records dead letters (any thread).
struct dead_letter_log {
  std::mutex mu;
  std::vector<std::pair<troupe::actor_id, std::string>> entries;

  troupe::runtime_config config(unsigned workers) {
    troupe::runtime_config c = with_workers(workers);
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      entries.emplace_back(d.receiver, d.message_type.name());
    };
    return c;
  }
  std::size_t count(const std::type_info& t) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (auto& e : entries) n += e.second == t.name() ? 1 : 0;
    return n;
  }
};

class Ask : public ::testing::TestWithParam<unsigned> {};

// ---- from outside the pool --------------------------------------------------------------

TEST_P(Ask, GetFromOutsideReturnsTheReply) {
  troupe::runtime rt(with_workers(GetParam()));
  auto sq = rt.spawn<Squarer>();
  EXPECT_EQ(troupe::ask(sq, 7).get(), 49);
  EXPECT_EQ(troupe::ask(sq, 9, 10s).get(), 81);  // a timeout that does not pass
  auto r = troupe::ask(sq, -3);
  ASSERT_TRUE(r.wait_for(60s));
  EXPECT_EQ(r.get(), 9);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 3u);  // the requests; no reply went to an actor
}

struct Greeter : troupe::actor<Greeter, troupe::request<std::string, std::string>,
                               troupe::request<long, void>> {
  void on(troupe::request<std::string, std::string> r) { r.reply("hello, " + r.value()); }
  void on(troupe::request<long, void> r) {
    last = r.value();
    r.reply();
  }
  long last = 0;
};

TEST_P(Ask, PicksTheRequestByArgumentTypeIncludingConversionsAndVoidReplies) {
  troupe::runtime rt(with_workers(GetParam()));
  auto g = rt.spawn<Greeter>();
  // const char* is no request's Req, but only request<std::string, ...> can take it.
  EXPECT_EQ(troupe::ask(g, "world").get(), "hello, world");
  troupe::result<void> done = troupe::ask(g, 5L);
  done.get();
  shutdown_and_expect_accounting(rt);
}

struct Failer : troupe::actor<Failer, square_request> {
  void on(square_request r) {
    if (r.value() < 0) {
      r.fail(std::make_exception_ptr(std::domain_error("negative")));
      return;
    }
    if (r.value() == 0) return;  // dropped without a reply
    r.reply(long{r.value()});
  }
};

TEST_P(Ask, FailIsAskFailedCarryingTheExceptionAndADroppedRequestIsAskDropped) {
  troupe::runtime rt(with_workers(GetParam()));
  auto f = rt.spawn<Failer>();
  try {
    troupe::ask(f, -1).get();
    ADD_FAILURE() << "fail() must fail the result";
  } catch (const troupe::ask_failed& e) {
    EXPECT_EQ(e.cause_text(), "negative");
    EXPECT_EQ(std::string(e.what()), "troupe: ask: the responder failed the request: negative");
    EXPECT_THROW(std::rethrow_exception(e.cause()), std::domain_error);
  }
  EXPECT_THROW(troupe::ask(f, 0).get(), troupe::ask_dropped);
  EXPECT_EQ(troupe::ask(f, 4).get(), 4);  // the responder is unharmed
  shutdown_and_expect_accounting(rt);
}

TEST_P(Ask, AskingAStoppedResponderBreaksTheResultAndDeadLettersTheRequest) {
  dead_letter_log log;
  troupe::runtime rt(log.config(GetParam()));
  auto sq = rt.spawn<Squarer>();
  sq.close();
  sq.join();
  auto r = troupe::ask(sq, 3, 10s);
  try {
    r.get();
    ADD_FAILURE() << "a dead-lettered request must fail the result";
  } catch (const troupe::ask_stopped& e) {
    EXPECT_EQ(e.reason(), troupe::dead_letter_reason::stopped);
  }
  EXPECT_EQ(log.count(typeid(square_request)), 1u);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
}

// ---- one error type per way an ask ends without a reply ---------------------------------------

static_assert(std::is_base_of_v<troupe::error, troupe::ask_error>);
static_assert(std::is_base_of_v<troupe::ask_error, troupe::ask_failed>);
static_assert(std::is_base_of_v<troupe::ask_error, troupe::ask_dropped>);
static_assert(std::is_base_of_v<troupe::ask_error, troupe::ask_stopped>);
static_assert(std::is_base_of_v<troupe::ask_error, troupe::ask_timeout>);

struct Boom {};
// Throws before answering a request for 13 (the request dies in the unwinding), and on Boom.
struct Fragile : troupe::actor<Fragile, square_request, Boom> {
  void on(square_request r) {
    if (r.value() == 13) throw std::runtime_error("unlucky");
    r.reply(long{r.value()});
  }
  void on(Boom) { throw std::runtime_error("boom"); }
};

// Which ask_error `r` ended with: its name, and for ask_stopped the reason.
template <class T>
std::string error_of(troupe::result<T> r) {
  try {
    r.get();
    return "a value";
  } catch (const troupe::ask_failed& e) {
    return "ask_failed(" + e.cause_text() + ")";
  } catch (const troupe::ask_dropped&) {
    return "ask_dropped";
  } catch (const troupe::ask_stopped& e) {
    return std::string("ask_stopped(") + troupe::to_string(e.reason()) + ")";
  } catch (const troupe::ask_timeout&) {
    return "ask_timeout";
  } catch (const troupe::error& e) {
    return std::string("another troupe::error: ") + e.what();
  }
}

TEST_P(Ask, EveryWayAnAskEndsWithoutAReplyIsCaughtByItsOwnType) {
  troupe::runtime_config c = with_workers(GetParam());
  c.on_failure = [](const troupe::failure&) {};  // the failures below are intended
  troupe::runtime rt(std::move(c));

  auto failer = rt.spawn<Failer>();
  EXPECT_EQ(error_of(troupe::ask(failer, -1)), "ask_failed(negative)");
  EXPECT_EQ(error_of(troupe::ask(failer, 0)), "ask_dropped") << "returned without replying";

  auto fragile = rt.spawn<Fragile>();
  EXPECT_EQ(error_of(troupe::ask(fragile, 13)), "ask_dropped") << "threw before replying";
  fragile.join();  // that exception failed the responder
  EXPECT_EQ(error_of(troupe::ask(fragile, 1)), "ask_stopped(failed)");

  auto closed = rt.spawn<Squarer>();
  closed.close();  // the request queues behind the sentinel and is drained as a dead letter
  EXPECT_EQ(error_of(troupe::ask(closed, 2)), "ask_stopped(stopped)");

  auto killed = rt.spawn<Squarer>();
  killed.kill();
  killed.join();
  EXPECT_EQ(error_of(troupe::ask(killed, 2)), "ask_stopped(killed)");

  auto failed = rt.spawn<Fragile>();
  failed.send(Boom{});
  failed.join();
  EXPECT_EQ(error_of(troupe::ask(failed, 2, 10s)), "ask_stopped(failed)");

  auto holder = rt.spawn<Holder>();
  EXPECT_EQ(error_of(troupe::ask(holder, 2, 1ms)), "ask_timeout");

  auto late = rt.spawn<Squarer>();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(error_of(troupe::ask(late, 2)), "ask_stopped(shutdown)");
}

TEST(AskErrors, MisuseIsReportedClearly) {
  troupe::runtime rt(with_workers(1));
  Squarer::handle empty;
  EXPECT_THROW(troupe::ask(empty, 1), troupe::error);
  EXPECT_THROW(troupe::ask(empty, 1, 1s), troupe::error);
  shutdown_and_expect_accounting(rt);
}

struct TwiceReplier : troupe::actor<TwiceReplier, square_request> {
  explicit TwiceReplier(std::promise<std::string>* out) : out_(out) {}
  void on(square_request r) {
    r.reply(1L);
    try {
      r.reply(2L);
      out_->set_value("no error");
    } catch (const troupe::error& e) {
      out_->set_value(e.what());
    }
  }
  std::promise<std::string>* out_;
};

TEST(AskErrors, AnsweringTwiceThrows) {
  troupe::runtime rt(with_workers(1));
  std::promise<std::string> second;
  auto a = rt.spawn<TwiceReplier>(&second);
  EXPECT_EQ(troupe::ask(a, 1).get(), 1);
  EXPECT_NE(second.get_future().get().find("already answered"), std::string::npos);
  shutdown_and_expect_accounting(rt);
}

// ---- timeouts ---------------------------------------------------------------------------

TEST_P(Ask, TimeoutWhenNoReplyComesAndALateReplyIsDiscardedAndCounted) {
  dead_letter_log log;
  troupe::runtime rt(log.config(GetParam()));
  auto h = rt.spawn<Holder>();
  auto r = troupe::ask(h, 6, 20ms);
  try {
    r.get();
    ADD_FAILURE() << "the holder never replied: expected ask_timeout";
  } catch (const troupe::ask_timeout& e) {
    EXPECT_EQ(e.timeout(), 20ms);
    EXPECT_NE(std::string(e.what()).find("20 ms"), std::string::npos) << e.what();
  }
  h.send(Release{});  // now the reply comes, after the timeout: discarded, counted
  h.close();
  h.join();
  EXPECT_EQ(log.count(typeid(long)), 1u);
  shutdown_and_expect_accounting(rt);
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, 3u);  // the request, Release, and the late reply
  EXPECT_EQ(s.dead_lettered, 1u);
}

TEST_P(Ask, AZeroTimeoutFailsAtOnceUnlessTheReplyWinsAndNeverBoth) {
  troupe::runtime rt(with_workers(GetParam()));
  auto sq = rt.spawn<Squarer>();
  int replies = 0, timeouts = 0;
  for (int i = 0; i < 200; ++i) {
    try {
      EXPECT_EQ(troupe::ask(sq, i, 0ms).get(), long{i} * i);
      ++replies;
    } catch (const troupe::ask_timeout&) {
      ++timeouts;
    }
  }
  EXPECT_EQ(replies + timeouts, 200);
  shutdown_and_expect_accounting(rt);
}

// ---- event actors: continuations -----------------------------------------------------------

struct Go {
  int n;
};

struct Outcome {
  long value = 0;
  std::string error;
};

// Asks `target` for n*n on each Go and reports what the continuation saw.
struct Asker : troupe::actor<Asker, Go> {
  Asker(troupe::ref<square_request, Release> target, std::chrono::milliseconds timeout,
        std::promise<Outcome>* out)
      : target_(std::move(target)), timeout_(timeout), out_(out) {}

  void on(Go g) {
    troupe::ask(target_, g.n, timeout_).then(*this, [this](troupe::result<long> r) {
      ++continuations_;
      Outcome o;
      try {
        o.value = r.get();  // ready: allowed in the continuation, on the worker
      } catch (const troupe::error& e) {
        o.error = e.what();
      }
      out_->set_value(o);
    });
  }

  troupe::ref<square_request, Release> target_;
  std::chrono::milliseconds timeout_;
  std::promise<Outcome>* out_;
  int continuations_ = 0;
};

TEST_P(Ask, AnEventActorGetsTheReplyInAContinuation) {
  troupe::runtime rt(with_workers(GetParam()));
  std::atomic<int> received{0};
  auto h = rt.spawn<Holder>(&received);
  std::promise<Outcome> out;
  auto a = rt.spawn<Asker>(h, 60s, &out);
  a.send(Go{12});
  ASSERT_TRUE(eventually([&] { return received.load() == 1; }));
  h.send(Release{});
  const Outcome o = out.get_future().get();
  EXPECT_EQ(o.value, 144);
  EXPECT_EQ(o.error, "");
  shutdown_and_expect_accounting(rt);
  // Go, the request, Release, and the reply delivered to the asker.
  EXPECT_EQ(rt.stats().sent, 4u);
  EXPECT_EQ(rt.stats().handled, 4u);
}

TEST_P(Ask, AContinuationGetsTheTimeoutError) {
  troupe::runtime rt(with_workers(GetParam()));
  auto h = rt.spawn<Holder>();
  std::promise<Outcome> out;
  auto a = rt.spawn<Asker>(h, 10ms, &out);
  a.send(Go{3});
  const Outcome o = out.get_future().get();
  EXPECT_NE(o.error.find("no reply within 10 ms"), std::string::npos) << o.error;
  h.send(Release{});  // the late reply is a dead letter
  shutdown_and_expect_accounting(rt);
}

struct GetOnWorker : troupe::actor<GetOnWorker, Go> {
  GetOnWorker(Squarer::handle sq, std::promise<std::string>* out) : sq_(sq), out_(out) {}
  void on(Go g) {
    auto r = troupe::ask(sq_, g.n);
    try {
      (void)r.get();
      out_->set_value("no error");
    } catch (const troupe::error& e) {
      out_->set_value(e.what());
    }
  }
  Squarer::handle sq_;
  std::promise<std::string>* out_;
};

TEST(AskErrors, GetInsideAHandlerIsRefusedEvenForAnAsk) {
  troupe::runtime rt(with_workers(2));
  auto sq = rt.spawn<Squarer>();
  std::promise<std::string> out;
  auto a = rt.spawn<GetOnWorker>(sq, &out);
  a.send(Go{2});
  EXPECT_NE(out.get_future().get().find("worker thread"), std::string::npos);
  shutdown_and_expect_accounting(rt);
}

TEST_P(Ask, AReplyToAStoppedAskerIsADeadLetterNotACrash) {
  dead_letter_log log;
  troupe::runtime rt(log.config(GetParam()));
  std::atomic<int> received{0};
  auto h = rt.spawn<Holder>(&received);
  std::promise<Outcome> out;
  auto a = rt.spawn<Asker>(h, 60s, &out);
  a.send(Go{5});
  ASSERT_TRUE(eventually([&] { return received.load() == 1; }));
  a.close();
  a.join();  // the asker stops with its continuation still pending
  h.send(Release{});
  h.close();
  h.join();
  EXPECT_EQ(log.count(typeid(troupe::result<long>)), 1u);
  {
    std::lock_guard lock(log.mu);
    bool found = false;
    for (auto& e : log.entries) found |= e.first == a.id();
    EXPECT_TRUE(found) << "the dead letter names the asker";
  }
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
}

struct Worker : troupe::actor<Worker, Go> {
  Worker(troupe::task_worker::handle w, std::promise<int>* out) : w_(std::move(w)), out_(out) {}
  void on(Go g) {
    troupe::submit(
        w_, [](int x) { return x + 1; }, g.n)
        .then(*this, [this](troupe::result<int> r) { out_->set_value(r.get()); });
  }
  troupe::task_worker::handle w_;
  std::promise<int>* out_;
};

TEST_P(Ask, ThenWorksForAnyResultIncludingSubmit) {
  troupe::runtime rt(with_workers(GetParam()));
  auto w = rt.spawn<troupe::task_worker>();
  std::promise<int> out;
  auto a = rt.spawn<Worker>(w, &out);
  a.send(Go{41});
  EXPECT_EQ(out.get_future().get(), 42);
  shutdown_and_expect_accounting(rt);
}

// ---- coroutine actors: co_await ----------------------------------------------------------

struct Seq {
  int n;
};

// Asks on each Go and logs the outcome (then counts it in `answered`), and each Seq; logs
// "exit" at the close.
struct CoroAsker : troupe::coro_actor<CoroAsker, Go, Seq> {
  CoroAsker(troupe::ref<square_request, Release> target, std::chrono::milliseconds timeout,
            std::vector<std::string>* log, std::atomic<int>* answered)
      : target_(std::move(target)), timeout_(timeout), log_(log), answered_(answered) {}

  task run() {
    try {
      for (;;) {
        auto m = co_await recv();
        if (auto* g = std::get_if<Go>(&m)) {
          try {
            const long v = co_await troupe::ask(target_, g->n, timeout_);
            log_->push_back("reply " + std::to_string(v));
          } catch (const troupe::ask_timeout&) {
            log_->push_back("timeout");
          }
          answered_->fetch_add(1);
        } else {
          log_->push_back("seq " + std::to_string(std::get<Seq>(m).n));
        }
      }
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }

  troupe::ref<square_request, Release> target_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string>* log_;
  std::atomic<int>* answered_;
};

// The same conversation as a blocking actor: await() parks the fiber, not the worker.
struct BlockingAsker : troupe::blocking_actor<BlockingAsker, Go, Seq> {
  BlockingAsker(troupe::ref<square_request, Release> target, std::chrono::milliseconds timeout,
                std::vector<std::string>* log, std::atomic<int>* answered)
      : target_(std::move(target)), timeout_(timeout), log_(log), answered_(answered) {}

  void run() {
    try {
      for (;;) {
        auto m = recv();
        if (auto* g = std::get_if<Go>(&m)) {
          try {
            const long v = await(troupe::ask(target_, g->n, timeout_));
            log_->push_back("reply " + std::to_string(v));
          } catch (const troupe::ask_timeout&) {
            log_->push_back("timeout");
          }
          answered_->fetch_add(1);
        } else {
          log_->push_back("seq " + std::to_string(std::get<Seq>(m).n));
        }
      }
    } catch (const troupe::actor_exit&) {
      log_->push_back("exit");
    }
  }

  troupe::ref<square_request, Release> target_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string>* log_;
  std::atomic<int>* answered_;
};

// For a coroutine or blocking asker: awaiting a reply leaves the worker free and the actor
// idle, and the messages that arrive meanwhile are received afterwards, in order. (The close
// comes once the asker awaits nothing: one that arrives during an await ends it, see
// await_test.cpp.)
template <class Asker>
void awaits_idly_with_messages_kept_in_order(unsigned workers) {
  troupe::runtime rt(with_workers(workers));
  std::atomic<int> received{0};
  auto h = rt.spawn<Holder>(&received);
  std::vector<std::string> log;  // written by the actor, read after join()
  std::atomic<int> answered{0};
  auto c = rt.spawn<Asker>(h, 60s, &log, &answered);
  c.send(Go{4});
  // The asker awaits the holder; these queue up behind the Go.
  constexpr int kQueued = 300;
  for (int i = 0; i < kQueued; ++i) c.send(Seq{i});
  c.send(Go{5});
  ASSERT_TRUE(eventually([&] { return received.load() == 1; }));
  // While the actor awaits, it goes idle and the workers sleep: an actor that spun on its
  // queued messages would burn a worker's CPU until the reply. A CPU-time measure over an
  // idle second (as in idle_cpu_test), not a timing of anything.
  std::this_thread::sleep_for(100ms);  // settle: the stash fills, the workers' spinning ends
  const double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(process_cpu_seconds() - cpu_before, 0.05) << "a worker stayed busy while awaiting";
  h.send(Release{});
  ASSERT_TRUE(eventually([&] { return received.load() == 2; }));  // the second Go's ask
  h.send(Release{});
  ASSERT_TRUE(eventually([&] { return answered.load() == 2; }));
  c.close();
  c.join();
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kQueued + 3));
  EXPECT_EQ(log.front(), "reply 16");
  for (int i = 0; i < kQueued; ++i) {
    EXPECT_EQ(log[static_cast<std::size_t>(i) + 1], "seq " + std::to_string(i));
  }
  EXPECT_EQ(log[kQueued + 1], "reply 25");
  EXPECT_EQ(log.back(), "exit");
  shutdown_and_expect_accounting(rt);
}

// For a coroutine or blocking asker: a timeout surfaces as ask_timeout, the messages that
// arrived during the await are received after it, and those behind the close are dead
// letters.
template <class Asker>
void gets_ask_timeout_and_dead_letters_behind_the_close(unsigned workers) {
  troupe::runtime rt(with_workers(workers));
  auto h = rt.spawn<Holder>();  // never released: the ask times out
  std::vector<std::string> log;
  std::atomic<int> answered{0};
  auto c = rt.spawn<Asker>(h, 20ms, &log, &answered);
  c.send(Go{2});
  for (int i = 0; i < 5; ++i) c.send(Seq{i});
  ASSERT_TRUE(eventually([&] { return answered.load() == 1; }));  // the timeout, not a close
  c.close();
  for (int i = 5; i < 8; ++i) c.send(Seq{i});  // behind the close: never received
  c.join();
  ASSERT_EQ(log.size(), 7u);
  EXPECT_EQ(log[0], "timeout");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(log[static_cast<std::size_t>(i) + 1], "seq " + std::to_string(i));
  }
  EXPECT_EQ(log[6], "exit");
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().dead_lettered, 3u);
}

TEST_P(Ask, ACoroutineAwaitsTheReplyIdlyWhileMessagesStayQueuedInOrder) {
  awaits_idly_with_messages_kept_in_order<CoroAsker>(GetParam());
}

TEST_P(Ask, ABlockingActorAwaitsTheReplyIdlyWhileMessagesStayQueuedInOrder) {
  awaits_idly_with_messages_kept_in_order<BlockingAsker>(GetParam());
}

TEST_P(Ask, ACoroutineGetsAskTimeoutAndMessagesAfterTheCloseAreDeadLetters) {
  gets_ask_timeout_and_dead_letters_behind_the_close<CoroAsker>(GetParam());
}

TEST_P(Ask, ABlockingActorGetsAskTimeoutAndMessagesAfterTheCloseAreDeadLetters) {
  gets_ask_timeout_and_dead_letters_behind_the_close<BlockingAsker>(GetParam());
}

struct CoroFailure : troupe::coro_actor<CoroFailure, Go> {
  CoroFailure(troupe::ref<square_request> f, std::promise<std::string>* out)
      : f_(std::move(f)), out_(out) {}
  task run() {
    const Go g = co_await recv();
    try {
      (void)co_await troupe::ask(f_, g.n);
      out_->set_value("no error");
    } catch (const troupe::ask_failed& e) {
      out_->set_value(std::string("ask_failed: ") + e.cause_text());
    } catch (const troupe::ask_dropped&) {
      out_->set_value("ask_dropped");
    } catch (const troupe::error& e) {
      out_->set_value(e.what());
    }
  }
  troupe::ref<square_request> f_;
  std::promise<std::string>* out_;
};

TEST_P(Ask, ACoroutineSeesFailAndDropAsExceptions) {
  troupe::runtime rt(with_workers(GetParam()));
  auto f = rt.spawn<Failer>();
  {
    std::promise<std::string> out;
    auto c = rt.spawn<CoroFailure>(f, &out);
    c.send(Go{-1});
    EXPECT_EQ(out.get_future().get(), "ask_failed: negative");
    c.join();  // run() returned: the actor stopped by itself
  }
  {
    std::promise<std::string> out;
    auto c = rt.spawn<CoroFailure>(f, &out);
    c.send(Go{0});
    EXPECT_EQ(out.get_future().get(), "ask_dropped");
    c.join();
  }
  shutdown_and_expect_accounting(rt);
}

INSTANTIATE_TEST_SUITE_P(Workers, Ask, ::testing::Values(1u, 2u),
                         [](const testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "_workers";
                         });

}  // namespace
