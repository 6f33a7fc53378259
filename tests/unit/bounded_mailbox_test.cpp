// Bounded mailboxes (troupe/bounded.hpp): a declared capacity and the spawn option; the
// queue length; muting of event, coroutine and blocking senders (the receiver's queue stays
// near its capacity, nothing is lost or reordered); outside threads that block, try_send and
// send_for; timer sends that never wait; cycles that do not deadlock; a receiver that stops
// or a sender killed while muted. Many actors at once: tests/stress/bounded_stress_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::returns_within;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

struct Item {
  long seq;
};

// What a sink saw: items in order, and the largest queue length it observed.
struct Seen {
  std::atomic<long> count{0};
  std::atomic<long> next{0};
  std::atomic<bool> out_of_order{false};
  std::atomic<std::size_t> max_queued{0};
  std::atomic<bool> gate_open{true};
  std::atomic<bool> entered{false};
  void note(long seq, std::size_t queued) {
    if (seq != next.load()) out_of_order = true;
    next = seq + 1;
    if (queued > max_queued.load()) max_queued = queued;
    ++count;
  }
};

// A slow receiver: spins a little per item, and records its own queue length.
struct Sink : troupe::actor<Sink, Item> {
  static constexpr std::size_t mailbox_capacity = 64;
  explicit Sink(std::shared_ptr<Seen> s) : seen(std::move(s)) {}
  void on(Item i) {
    seen->entered = true;
    while (!seen->gate_open.load()) std::this_thread::sleep_for(100us);
    seen->note(i.seq, self().queue_length().value_or(0));
    for (int k = 0; k < 200; ++k) work = work + k;  // a slow consumer
  }
  std::shared_ptr<Seen> seen;
  volatile long work = 0;
};

struct PlainSink : troupe::actor<PlainSink, Item> {
  void on(Item) {}
};

// A Sink held at its gate in the handler of Item{0}: nothing more is taken until
// seen->gate_open.
troupe::ref<Item> spawn_gated_sink(troupe::runtime& rt, const std::shared_ptr<Seen>& seen) {
  seen->gate_open = false;
  auto s = rt.spawn<Sink>(seen);
  s.send(Item{0});  // taken at once; its handler waits at the gate
  wait_until("the sink to enter its first handler", [&] { return seen->entered.load(); });
  return s;
}

// spawn_gated_sink(), then Item{1} .. Item{capacity}: the mailbox is exactly full.
troupe::ref<Item> spawn_full_sink(troupe::runtime& rt, const std::shared_ptr<Seen>& seen) {
  auto s = spawn_gated_sink(rt, seen);
  for (long i = 1; i <= static_cast<long>(Sink::mailbox_capacity); ++i) s.send(Item{i});
  return s;
}

TEST(Bounded, ADeclaredCapacityOrTheSpawnOptionBoundsTheMailboxAndItsLengthIsObservable) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto declared = rt.spawn<Sink>(seen);
  auto optioned = rt.spawn<PlainSink>(troupe::bounded{10});
  auto plain = rt.spawn<PlainSink>();
  ASSERT_TRUE(declared.queue_length().has_value());
  ASSERT_TRUE(optioned.queue_length().has_value());
  EXPECT_FALSE(plain.queue_length().has_value()) << "an unbounded mailbox does not count";
  shutdown_and_expect_accounting(rt);
}

TEST(Bounded, TheQueueLengthCountsWhatIsQueued) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = spawn_gated_sink(rt, seen);
  for (long i = 1; i <= 10; ++i) s.send(Item{i});
  EXPECT_EQ(s.queue_length(), 10u);
  seen->gate_open = true;
  wait_until("the sink to take all", [&] { return seen->count.load() == 11; });
  EXPECT_EQ(s.queue_length(), 0u);
  shutdown_and_expect_accounting(rt);
}

// ---- senders inside the pool -------------------------------------------------------------

struct Next {};
constexpr long chunk = 16;

// An event actor that sends `chunk` items per turn, then a Next to itself.
struct ChunkProducer : troupe::actor<ChunkProducer, Next> {
  ChunkProducer(troupe::ref<Item> s, long n) : sink(std::move(s)), total(n) {}
  void on(Next) {
    for (long k = 0; k < chunk && sent < total; ++k) sink.send(Item{sent++});
    if (sent < total) self().send(Next{});
  }
  troupe::ref<Item> sink;
  long total;
  long sent = 0;
};

// A blocking actor that sends everything in one loop.
struct LoopProducer : troupe::blocking_actor<LoopProducer, Next> {
  LoopProducer(troupe::ref<Item> s, long n) : sink(std::move(s)), total(n) {}
  void run() {
    (void)recv();
    for (long i = 0; i < total; ++i) sink.send(Item{i});
  }
  troupe::ref<Item> sink;
  long total;
};

// A coroutine actor that awaits each send.
struct CoroProducer : troupe::coro_actor<CoroProducer, Next> {
  CoroProducer(troupe::ref<Item> s, long n) : sink(std::move(s)), total(n) {}
  task run() {
    (void)co_await recv();
    for (long i = 0; i < total; ++i) co_await send(sink, Item{i});
  }
  troupe::ref<Item> sink;
  long total;
};

template <class Producer>
void run_pipeline(std::size_t allowed_over, bool expect_muted) {
  constexpr long total = 20'000;
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = rt.spawn<Sink>(seen);
  auto p = rt.spawn<Producer>(s, total);
  p.send(Next{});
  returns_within("the pipeline to deliver everything", [&] {
    wait_until(
        "all items", [&] { return seen->count.load() == total; }, 120s);
  });
  EXPECT_FALSE(seen->out_of_order.load());
  EXPECT_LE(seen->max_queued.load(), Sink::mailbox_capacity + allowed_over)
      << "the receiver's queue grew past its capacity by more than one turn's sends";
  p.close();
  shutdown_and_expect_accounting(rt);
  if (expect_muted) {
    EXPECT_GT(rt.stats().muted, 0u);
  }
}

TEST(Bounded, AnEventActorIsMutedAfterTheTurnThatFilledTheMailbox) {
  // One turn's sends, and the handler after it (the mute is seen at the next message).
  run_pipeline<ChunkProducer>(2 * chunk, true);
}

TEST(Bounded, ABlockingActorsSendParksItsFiberUntilThereIsRoom) {
  run_pipeline<LoopProducer>(2, true);
}

TEST(Bounded, ACoroutineThatAwaitsItsSendsWaitsForRoom) { run_pipeline<CoroProducer>(2, true); }

// ---- senders outside the pool ----------------------------------------------------------

TEST(Bounded, AnOutsideThreadBlocksInSendUntilThereIsRoom) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = spawn_full_sink(rt, seen);
  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    s.send(Item{static_cast<long>(Sink::mailbox_capacity) + 1});
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load()) << "send() to a full mailbox returned while nothing drained";
  EXPECT_EQ(s.queue_length(), Sink::mailbox_capacity);
  seen->gate_open = true;
  blocked.join();
  wait_until("every item",
             [&] { return seen->count.load() == 2 + static_cast<long>(Sink::mailbox_capacity); });
  EXPECT_FALSE(seen->out_of_order.load());
  EXPECT_LE(seen->max_queued.load(), Sink::mailbox_capacity);
  shutdown_and_expect_accounting(rt);
}

struct Owned {
  std::unique_ptr<int> value;
};
struct OwnedSink : troupe::actor<OwnedSink, Owned> {
  explicit OwnedSink(std::shared_ptr<Seen> s) : seen(std::move(s)) {}
  void on(Owned) {
    seen->entered = true;
    while (!seen->gate_open.load()) std::this_thread::sleep_for(100us);
    ++seen->count;
  }
  std::shared_ptr<Seen> seen;
};

TEST(Bounded, TrySendAndSendForRefuseAFullMailboxAndLeaveTheMessageUntouched) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  seen->gate_open = false;
  auto s = rt.spawn<OwnedSink>(troupe::bounded{2}, seen);
  EXPECT_TRUE(s.try_send(Owned{std::make_unique<int>(0)}));
  wait_until("the sink to enter its first handler", [&] { return seen->entered.load(); });
  EXPECT_TRUE(s.try_send(Owned{std::make_unique<int>(1)}));
  EXPECT_TRUE(s.send_for(Owned{std::make_unique<int>(2)}, 10ms));
  Owned kept{std::make_unique<int>(3)};
  EXPECT_FALSE(s.try_send(std::move(kept)));
  ASSERT_NE(kept.value, nullptr) << "a refused try_send moved the message away";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s.send_for(std::move(kept), 20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms) << "send_for gave up early";
  ASSERT_NE(kept.value, nullptr) << "a send_for that timed out moved the message away";
  std::thread opener([&] {
    std::this_thread::sleep_for(20ms);
    seen->gate_open = true;
  });
  EXPECT_TRUE(s.send_for(std::move(kept), 60s)) << "send_for did not get the room made for it";
  opener.join();
  wait_until("every message", [&] { return seen->count.load() == 4; });
  // An unbounded actor always takes them.
  auto plain = rt.spawn<PlainSink>();
  EXPECT_TRUE(plain.try_send(Item{0}));
  EXPECT_TRUE(plain.send_for(Item{1}, 0ms));
  shutdown_and_expect_accounting(rt);
}

struct TriesSendFor : troupe::actor<TriesSendFor, Next> {
  TriesSendFor(troupe::ref<Item> s, std::shared_ptr<std::atomic<int>> r)
      : sink(std::move(s)), result(std::move(r)) {}
  void on(Next) {
    try {
      (void)sink.send_for(Item{0}, 1ms);
      *result = 1;
    } catch (const troupe::error&) {
      *result = 2;
    }
  }
  troupe::ref<Item> sink;
  std::shared_ptr<std::atomic<int>> result;
};

TEST(Bounded, SendForInsideAHandlerThatWouldWaitIsAClearError) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = spawn_full_sink(rt, seen);
  auto result = std::make_shared<std::atomic<int>>(0);
  auto a = rt.spawn<TriesSendFor>(s, result);
  a.send(Next{});
  wait_until("the handler", [&] { return result->load() != 0; });
  EXPECT_EQ(result->load(), 2) << "send_for() on a worker must throw rather than wait";
  seen->gate_open = true;
  shutdown_and_expect_accounting(rt);
}

// ---- what never waits, and what ends a wait -------------------------------------------

struct Flag : troupe::actor<Flag, Next> {
  explicit Flag(std::shared_ptr<std::atomic<bool>> f) : fired(std::move(f)) {}
  void on(Next) { *fired = true; }
  std::shared_ptr<std::atomic<bool>> fired;
};

TEST(Bounded, TimerSendsToAFullMailboxNeverHoldUpTheTimerThread) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = spawn_full_sink(rt, seen);
  for (long i = 0; i < 5; ++i) {
    troupe::send_after(s, 1ms, Item{static_cast<long>(Sink::mailbox_capacity) + 1 + i});
  }
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto f = rt.spawn<Flag>(fired);
  troupe::send_after(f, 5ms, Next{});
  wait_until("a later timer while the full mailbox has not drained", [&] { return fired->load(); });
  EXPECT_EQ(seen->count.load(), 0) << "the gate is still closed";
  seen->gate_open = true;
  wait_until("every item",
             [&] { return seen->count.load() == 6 + static_cast<long>(Sink::mailbox_capacity); });
  shutdown_and_expect_accounting(rt);
}

TEST(Bounded, AReceiverThatStopsReleasesItsMutedSenders) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  seen->gate_open = false;
  auto s = rt.spawn<Sink>(seen);
  auto p = rt.spawn<LoopProducer>(s, 10'000);
  p.send(Next{});
  wait_until("the producer to fill the mailbox",
             [&] { return s.queue_length().value_or(0) >= Sink::mailbox_capacity; });
  s.kill();  // after the handler in progress, which the gate holds
  seen->gate_open = true;
  p.close();
  returns_within("the muted producer to finish once its receiver stopped", [&] { p.join(); });
  shutdown_and_expect_accounting(rt);
  EXPECT_GT(rt.stats().dead_lettered, 0u);
}

TEST(Bounded, AMutedSenderThatIsKilledStopsOnceRunAgain) {
  troupe::runtime rt(with_workers(2));
  auto seen = std::make_shared<Seen>();
  auto s = rt.spawn<Sink>(seen);
  auto p = rt.spawn<LoopProducer>(s, 20'000);  // a kill is seen at its next receive
  p.send(Next{});
  wait_until("the producer to be muted", [&] { return rt.stats().muted > 0; });
  p.kill();
  returns_within("the killed producer to stop", [&] { p.join(); });
  shutdown_and_expect_accounting(rt);
}

// ---- supervision ------------------------------------------------------------------------

struct Crash {};
struct BoundedChild : troupe::actor<BoundedChild, Item, Crash> {
  static constexpr std::size_t mailbox_capacity = 16;
  explicit BoundedChild(std::shared_ptr<std::atomic<long>> c) : count(std::move(c)) {}
  void on(Item) { ++*count; }
  void on(Crash) { throw std::runtime_error("crash"); }
  std::shared_ptr<std::atomic<long>> count;
};

TEST(Bounded, ASupervisedChildKeepsItsBoundedMailboxAcrossARestart) {
  troupe::runtime rt(with_workers(2));
  auto sup = rt.spawn<troupe::supervisor>(troupe::supervisor_options{});
  auto count = std::make_shared<std::atomic<long>>(0);
  auto c = troupe::start_child<BoundedChild>(sup, {}, count);
  ASSERT_TRUE(c.queue_length().has_value()) << "a declared capacity holds for a child too";
  c.send(Crash{});
  for (long i = 0; i < 100; ++i) c.send(Item{i});  // from outside: waits for room
  wait_until("every item, after the restart", [&] { return count->load() == 100; });
  EXPECT_TRUE(c.queue_length().has_value());
  sup.close();
  returns_within("the supervisor to stop", [&] { sup.join(); });
  rt.shutdown();
}

// ---- cycles ----------------------------------------------------------------------------

struct Volley {
  long left;
};

// Two bounded actors that answer every volley with a burst to each other: every mailbox
// in the cycle fills, and neither may mute the other into a deadlock.
struct Player : troupe::actor<Player, Volley, troupe::ref<Volley>> {
  static constexpr std::size_t mailbox_capacity = 8;
  explicit Player(std::shared_ptr<std::atomic<long>> d) : done(std::move(d)) {}
  void on(troupe::ref<Volley> p) { peer = std::move(p); }
  void on(Volley v) {
    ++*done;
    if (v.left <= 0 || !peer) return;
    for (int k = 0; k < 3; ++k) peer.send(Volley{v.left - 1});
  }
  std::shared_ptr<std::atomic<long>> done;
  troupe::ref<Volley> peer;
};

TEST(Bounded, ACycleOfBoundedActorsThatFillEachOtherDoesNotDeadlock) {
  troupe::runtime rt(with_workers(2));
  auto done = std::make_shared<std::atomic<long>>(0);
  auto a = rt.spawn<Player>(done);
  auto b = rt.spawn<Player>(done);
  a.send(troupe::ref<Volley>(b));
  b.send(troupe::ref<Volley>(a));
  // 1 + 3 + 9 + ... + 3^9 volleys from each starting one.
  long expected = 0;
  for (long k = 0, p = 1; k <= 9; ++k, p *= 3) expected += p;
  wait_until("the peers to be set",
             [&] { return a.queue_length() == 0u && b.queue_length() == 0u; });
  a.send(Volley{9});
  b.send(Volley{9});
  returns_within("the cycle to finish", [&] {
    wait_until(
        "every volley", [&] { return done->load() == 2 * expected; }, 120s);
  });
  a.close();
  b.close();
  shutdown_and_expect_accounting(rt);
}

}  // namespace
