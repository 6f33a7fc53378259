// troupe::dead_letter::sender: a dead letter names the actor that sent it when that actor's
// own send found the receiver stopped — one send from a handler, several sends to the same
// stopped actor in one handler (the worker's outbox chain, flushed early, before the actor
// goes idle, and after the turn), a send from a handler of another runtime, a result set by
// a handler for a then() of a stopped actor — and is 0 for a send or a result set from a
// thread outside the pool and for messages queued before the stop and drained after it.
// to_string() adds " from actor N" when the sender is known.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Add {
  int n;
};

// Receives Adds. Its first Add{-1} blocks until released, so Adds queue behind it.
struct Sink : troupe::actor<Sink, Add> {
  explicit Sink(std::latch* entered = nullptr, std::latch* release = nullptr)
      : entered_(entered), release_(release) {}
  void on(Add a) {
    if (a.n == -1) {
      entered_->count_down();
      release_->wait();
    }
  }

 private:
  std::latch* entered_;
  std::latch* release_;
};

// Sends `count` Adds to its target per Go, then a Note to `noted` if it has one, then
// itself a Go for each of `more_rounds`.
struct Go {
  int count;
  int more_rounds = 0;
};
struct Note {};
struct Noted : troupe::actor<Noted, Note> {
  explicit Noted(std::atomic<bool>* flag) : flag_(flag) {}
  void on(Note) { flag_->store(true, std::memory_order_release); }

 private:
  std::atomic<bool>* flag_;
};
struct Sender : troupe::actor<Sender, Go> {
  explicit Sender(Sink::handle target, Noted::handle noted = {})
      : target_(std::move(target)), noted_(std::move(noted)) {}
  void on(Go g) {
    for (int i = 0; i < g.count; ++i) target_.send(Add{i});
    if (noted_) noted_.send(Note{});  // another receiver: the outbox chain goes out first
    if (g.more_rounds > 0) self().send(Go{g.count, g.more_rounds - 1});
  }

 private:
  Sink::handle target_;
  Noted::handle noted_;
};

// A result's continuation delivered to a stopped actor: the delivery is a dead letter.
struct Start {};
struct Waiter : troupe::actor<Waiter, Start> {
  explicit Waiter(troupe::result<int>* r) : r_(r) {}
  void on(Start) {
    std::move(*r_).then(*this, [](troupe::result<int>) {});
  }

 private:
  troupe::result<int>* r_;
};
struct Setter : troupe::actor<Setter, Start> {
  explicit Setter(troupe::promise<int>* p) : p_(p) {}
  void on(Start) { p_->set_value(1); }

 private:
  troupe::promise<int>* p_;
};

struct Seen {
  std::mutex mu;
  std::vector<troupe::dead_letter> letters;
  troupe::runtime_config config(unsigned workers, unsigned batch = troupe::runtime_config{}.batch) {
    troupe::runtime_config c = with_workers(workers, batch);
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      std::lock_guard lock(mu);
      letters.push_back(d);
    };
    return c;
  }
  /// How many were sent to `receiver` by `sender`, and how many to `receiver` in all.
  std::pair<std::size_t, std::size_t> count(troupe::actor_id receiver, troupe::actor_id sender) {
    std::lock_guard lock(mu);
    std::size_t from = 0, to = 0;
    for (const auto& d : letters) {
      if (d.receiver != receiver) continue;
      ++to;
      from += d.sender == sender ? 1 : 0;
    }
    return {from, to};
  }
};

Sink::handle stopped_sink(troupe::runtime& rt) {
  auto sink = rt.spawn<Sink>();
  sink.close();
  sink.join();
  return sink;
}

class DeadLetterSender : public ::testing::TestWithParam<unsigned> {};

TEST_P(DeadLetterSender, OneSendFromAHandlerNamesTheSender) {
  Seen seen;
  troupe::runtime rt(seen.config(GetParam()));
  auto sink = stopped_sink(rt);
  auto sender = rt.spawn<Sender>(sink);
  sender.send(Go{1});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(seen.count(sink.id(), sender.id()), std::make_pair(std::size_t{1}, std::size_t{1}));
}

TEST_P(DeadLetterSender, SeveralSendsFromOneHandlerAllNameTheSender) {
  // 3: the first goes out at once, the other two as the outbox chain at the turn's end.
  // 200: the chain is also pushed early, every worker::outbox_flush_every (64) messages.
  for (const int count : {2, 3, 200}) {
    Seen seen;
    troupe::runtime rt(seen.config(GetParam()));
    auto sink = stopped_sink(rt);
    auto sender = rt.spawn<Sender>(sink);
    sender.send(Go{count});
    shutdown_and_expect_accounting(rt);
    const auto n = static_cast<std::size_t>(count);
    EXPECT_EQ(seen.count(sink.id(), sender.id()), std::make_pair(n, n)) << count << " sends";
  }
}

TEST_P(DeadLetterSender, AChainPushedAfterTheTurnEndedNamesTheSender) {
  // Batch 1 and a Go sent to itself: each turn ends with the sender still runnable, so the
  // worker pushes the outbox chain after the turn, when no actor's turn is running.
  Seen seen;
  troupe::runtime rt(seen.config(GetParam(), 1));
  auto sink = stopped_sink(rt);
  auto sender = rt.spawn<Sender>(sink);
  sender.send(Go{3, 2});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(seen.count(sink.id(), sender.id()), std::make_pair(std::size_t{9}, std::size_t{9}));
}

TEST_P(DeadLetterSender, ASendFromAnotherRuntimesHandlerNamesTheSender) {
  Seen seen;
  troupe::runtime rt(seen.config(GetParam()));
  troupe::runtime other(with_workers(1));
  auto sink = stopped_sink(rt);
  auto sender = other.spawn<Sender>(sink);
  sender.send(Go{3});
  shutdown_and_expect_accounting(other);
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(seen.count(sink.id(), sender.id()), std::make_pair(std::size_t{3}, std::size_t{3}));
}

TEST_P(DeadLetterSender, ASendFromAThreadOutsideThePoolHasNoSender) {
  Seen seen;
  troupe::runtime rt(seen.config(GetParam()));
  auto sink = stopped_sink(rt);
  sink.send(Add{1});
  std::thread([&sink] { sink.send(Add{2}); }).join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(seen.count(sink.id(), 0), std::make_pair(std::size_t{2}, std::size_t{2}));
}

TEST_P(DeadLetterSender, AResultSetByAHandlerForAStoppedActorNamesTheSetter) {
  for (const bool by_actor : {true, false}) {
    Seen seen;
    troupe::runtime rt(seen.config(GetParam()));
    troupe::promise<int> p;
    troupe::result<int> r = p.get_result();
    auto waiter = rt.spawn<Waiter>(&r);
    waiter.send(Start{});
    waiter.close();
    waiter.join();  // its continuation is still waiting for the result
    troupe::actor_id setter_id = 0;
    if (by_actor) {
      auto setter = rt.spawn<Setter>(&p);
      setter_id = setter.id();
      setter.send(Start{});
      setter.close();
      setter.join();
    } else {
      p.set_value(1);  // from this thread, outside the pool
    }
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(seen.count(waiter.id(), setter_id), std::make_pair(std::size_t{1}, std::size_t{1}))
        << (by_actor ? "set by an actor's handler" : "set by an outside thread");
  }
}

TEST(DeadLetterSenderQueued, MessagesQueuedBeforeTheStopHaveNoSender) {
  // Two workers: the sink blocks one in its handler while the sender runs on the other.
  Seen seen;
  troupe::runtime rt(seen.config(2));
  std::latch entered{1}, release{1};
  std::atomic<bool> noted_flag{false};
  auto sink = rt.spawn<Sink>(&entered, &release);
  auto noted = rt.spawn<Noted>(&noted_flag);
  auto sender = rt.spawn<Sender>(sink, noted);
  sink.send(Add{-1});
  entered.wait();
  sender.send(Go{5});  // queued behind Add{-1}: the first at once, four as a chain
  // The Note follows the chain out of the outbox, so once it is handled all five are queued.
  while (!noted_flag.load(std::memory_order_acquire)) std::this_thread::yield();
  sink.kill();
  release.count_down();
  sink.join();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(seen.count(sink.id(), 0), std::make_pair(std::size_t{5}, std::size_t{5}))
      << "the mailbox keeps no sender";
  std::lock_guard lock(seen.mu);
  for (const auto& d : seen.letters) EXPECT_EQ(d.reason, troupe::dead_letter_reason::killed);
}

INSTANTIATE_TEST_SUITE_P(Workers, DeadLetterSender, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

TEST(DeadLetterSenderText, ToStringNamesAKnownSender) {
  const troupe::dead_letter known{17, typeid(long), troupe::dead_letter_reason::killed, 9};
  EXPECT_EQ(troupe::to_string(known), "dead letter: long to actor 17 from actor 9 (killed)");
  const troupe::dead_letter unknown{17, typeid(long), troupe::dead_letter_reason::stopped};
  EXPECT_EQ(unknown.sender, 0u) << "three-field aggregate init leaves the sender unknown";
  EXPECT_EQ(troupe::to_string(unknown), "dead letter: long to actor 17 (stopped)");
}

}  // namespace
