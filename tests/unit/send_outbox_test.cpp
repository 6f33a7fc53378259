// The worker's send outbox (runtime/sched/worker.hpp): a handler's repeated sends to one
// actor within a turn go out as one chain at the end of the turn. These tests check that
// batching never reorders anything a user can observe: per-sender order, causal order
// through a third actor, close() behind buffered sends, and sends across runtimes.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
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

INSTANTIATE_TEST_SUITE_P(Workers, SendOutbox, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
