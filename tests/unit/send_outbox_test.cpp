// The worker's send outbox (runtime/sched/worker.hpp): a handler's repeated sends to one
// actor within a turn go out as chains, every worker::outbox_flush_every messages and at the
// end of the turn. These tests check that batching never reorders anything a user can
// observe: per-sender order, causal order through a third actor, close() behind buffered
// sends, sends across runtimes, and a long one-loop sender delivered exactly once, in order;
// and that such a sender's receiver starts before the loop ends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Note {
  std::string text;
};

struct Log : troupe::actor<Log, Note> {
  explicit Log(std::vector<std::string>* out) : out_(out) {}
  void on(Note n) { out_->push_back(std::move(n.text)); }
  std::vector<std::string>* out_;
};

// Relay: forwards what it gets to the log, adding a prefix.
struct Relay : troupe::actor<Relay, Note> {
  explicit Relay(troupe::ref<Note> log, std::atomic<bool>* forwarded = nullptr)
      : log_(std::move(log)), forwarded_(forwarded) {}
  void on(Note n) {
    log_.send(Note{"via relay: " + n.text});
    if (forwarded_ != nullptr) forwarded_->store(true);
  }
  troupe::ref<Note> log_;
  std::atomic<bool>* forwarded_;
};

struct Go {};

// Sends three notes to the log (the 2nd and 3rd are batched), then one to the relay, which
// forwards it to the log: the forwarded note must come after all three.
struct Source : troupe::actor<Source, Go> {
  // wait_for: if set, the handler keeps its turn open until the relay (on another
  // runtime) has forwarded, so the forwarded note races the batched ones deterministically.
  Source(troupe::ref<Note> log, troupe::ref<Note> relay, std::atomic<bool>* wait_for = nullptr)
      : log_(std::move(log)), relay_(std::move(relay)), wait_for_(wait_for) {}
  void on(Go) {
    log_.send(Note{"1"});
    log_.send(Note{"2"});
    log_.send(Note{"3"});
    relay_.send(Note{"4"});
    relay_.close();
    if (wait_for_ != nullptr) {
      while (!wait_for_->load()) {
      }
    }
  }
  troupe::ref<Note> log_;
  troupe::ref<Note> relay_;
  std::atomic<bool>* wait_for_;
};

class SendOutbox : public ::testing::TestWithParam<unsigned> {};

TEST_P(SendOutbox, BatchedSendsStayAheadOfAMessageTheyCausallyPrecede) {
  for (int round = 0; round < 200; ++round) {
    troupe::runtime rt(with_workers(GetParam()));
    std::vector<std::string> out;
    auto log = rt.spawn<Log>(&out);
    auto relay = rt.spawn<Relay>(log);
    auto src = rt.spawn<Source>(log, relay);
    src.send(Go{});
    relay.join();  // closed by the source after its send
    log.close();
    log.join();
    ASSERT_EQ(out, (std::vector<std::string>{"1", "2", "3", "via relay: 4"})) << "round " << round;
    shutdown_and_expect_accounting(rt);
  }
}

struct Burst {
  int n;
};

// Sends n notes to the log, then closes it, all in one handler: the sentinel must come
// after the batched notes, so none becomes a dead letter.
struct Closer : troupe::actor<Closer, Burst> {
  explicit Closer(troupe::ref<Note> log) : log_(std::move(log)) {}
  void on(Burst b) {
    for (int i = 0; i < b.n; ++i) log_.send(Note{std::to_string(i)});
    log_.close();
  }
  troupe::ref<Note> log_;
};

TEST_P(SendOutbox, CloseFromAHandlerLandsBehindItsBatchedSends) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::string> out;
  auto log = rt.spawn<Log>(&out);
  auto closer = rt.spawn<Closer>(log);
  closer.send(Burst{1000});
  log.join();
  ASSERT_EQ(out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], std::to_string(i));
  rt.shutdown();
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
  shutdown_and_expect_accounting(rt);
}

// Across runtimes: a handler batches notes to a local log, then sends to an actor of
// another runtime, which forwards to the same log while the handler is still running. The
// forwarded note must still come last.
TEST_P(SendOutbox, ASendToAnotherRuntimeFlushesEarlierBatchedSendsFirst) {
  for (int round = 0; round < 100; ++round) {
    troupe::runtime rt(with_workers(GetParam()));
    troupe::runtime other(with_workers(1));
    std::vector<std::string> out;
    auto log = rt.spawn<Log>(&out);
    std::atomic<bool> forwarded{false};
    auto relay = other.spawn<Relay>(log, &forwarded);
    auto src = rt.spawn<Source>(log, relay, &forwarded);
    src.send(Go{});
    relay.join();
    log.close();
    log.join();
    ASSERT_EQ(out, (std::vector<std::string>{"1", "2", "3", "via relay: 4"})) << "round " << round;
    other.shutdown();
    shutdown_and_expect_accounting(rt);
  }
}

struct Seq {
  std::uint32_t n;  // 1, 2, ... in send order
};

// Records the sequence numbers it receives; `seen` counts them for the sender to watch.
struct SeqLog : troupe::actor<SeqLog, Seq> {
  SeqLog(std::vector<std::uint32_t>* out, std::atomic<std::uint32_t>* seen)
      : out_(out), seen_(seen) {}
  void on(Seq s) {
    out_->push_back(s.n);
    // release: pairs with the sender's acquire load (only a count, read as a progress sign).
    seen_->fetch_add(1, std::memory_order_release);
  }
  std::vector<std::uint32_t>* out_;
  std::atomic<std::uint32_t>* seen_;
};

struct Loop {
  std::uint32_t count;
  // Nonzero: after this many sends the handler waits (bounded) until the log has taken a
  // message, then records in `started_early` whether it did, and sends the rest.
  std::uint32_t wait_after;
};

// Sends its whole count to the log in one handler loop, never yielding the worker.
struct LoopSender : troupe::actor<LoopSender, Loop> {
  LoopSender(troupe::ref<Seq> log, std::atomic<std::uint32_t>* seen,
             std::atomic<bool>* started_early)
      : log_(std::move(log)), seen_(seen), started_early_(started_early) {}
  void on(Loop l) {
    for (std::uint32_t i = 1; i <= l.count; ++i) {
      log_.send(Seq{i});
      if (i == l.wait_after) started_early_->store(wait_until_log_started());
    }
  }
  // Spins, yielding the CPU, until the log has taken a message or a generous deadline
  // passes (the deadline only turns a hang into a failure; success never waits for it).
  bool wait_until_log_started() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // acquire: pairs with SeqLog's release fetch_add.
    while (seen_->load(std::memory_order_acquire) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
  troupe::ref<Seq> log_;
  std::atomic<std::uint32_t>* seen_;
  std::atomic<bool>* started_early_;
};

// Not a multiple of any flush interval, and many intervals long.
constexpr std::uint32_t kLoopCount = 100'003;

TEST_P(SendOutbox, AOneLoopSenderIsDeliveredExactlyOnceInOrder) {
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::uint32_t> out;
  std::atomic<std::uint32_t> seen{0};
  std::atomic<bool> started_early{false};
  auto log = rt.spawn<SeqLog>(&out, &seen);
  auto sender = rt.spawn<LoopSender>(log, &seen, &started_early);
  sender.send(Loop{kLoopCount, 0});
  sender.close();
  sender.join();
  log.close();  // after the sender stopped: its sends are all in the log's mailbox
  log.join();
  ASSERT_EQ(out.size(), kLoopCount);
  std::uint32_t misplaced = 0;
  for (std::uint32_t i = 0; i < kLoopCount; ++i) misplaced += out[i] != i + 1;
  EXPECT_EQ(misplaced, 0u) << "messages out of send order or duplicated";
  rt.shutdown();
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
  shutdown_and_expect_accounting(rt);
}

// The receiver of a one-loop sender must not wait for the loop to end: the outbox pushes
// its chain every outbox_flush_every messages, and the woken receiver is stealable. The
// sender waits mid-loop for the receiver's first message; without both it waits forever
// (here: until the deadline), since the receiver's messages or the receiver itself stay
// with the sender's busy worker.
TEST_P(SendOutbox, AOneLoopSendersReceiverStartsBeforeTheLoopEnds) {
  if (GetParam() < 2) GTEST_SKIP() << "the receiver needs a worker the sender does not hold";
  troupe::runtime rt(with_workers(GetParam()));
  std::vector<std::uint32_t> out;
  std::atomic<std::uint32_t> seen{0};
  std::atomic<bool> started_early{false};
  auto log = rt.spawn<SeqLog>(&out, &seen);
  auto sender = rt.spawn<LoopSender>(log, &seen, &started_early);
  sender.send(Loop{kLoopCount, kLoopCount / 2});
  sender.close();
  sender.join();
  log.close();
  log.join();
  EXPECT_TRUE(started_early.load()) << "the receiver took nothing while the sender's loop ran";
  ASSERT_EQ(out.size(), kLoopCount);
  std::uint32_t misplaced = 0;
  for (std::uint32_t i = 0; i < kLoopCount; ++i) misplaced += out[i] != i + 1;
  EXPECT_EQ(misplaced, 0u) << "messages out of send order or duplicated";
  shutdown_and_expect_accounting(rt);
}

INSTANTIATE_TEST_SUITE_P(Workers, SendOutbox, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
