// Supervision under restart storms (run under ThreadSanitizer by the tsan presets; the asan
// preset's LeakSanitizer checks that nothing leaks):
//   * children (event, coroutine and blocking actors) that fail on some messages and are killed at
//   random by another thread, fed by
//     several sender threads: every message is handled at most once, per-sender order holds
//     across restarts (the mailbox is kept), and handled + dead-lettered accounts for every
//     message sent; for one_for_one, one_for_all and rest_for_one;
//   * a supervisor closed in the middle of such a storm stops all its children (none is left
//     suspended) and the runtime shuts down.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::returns_within;
using troupe::test::seed_trace;
using troupe::test::wait_until;

constexpr int senders = 3;
constexpr int per_sender = 3'000;

struct Msg {
  int sender;
  int seq;
  bool fail;
};

// Shared by all incarnations of all children (their own state resets on restart).
struct ledger {
  ledger() : handled(senders * per_sender), last_seq(senders * 8) {
    for (auto& x : last_seq) x.store(-1);
  }
  std::vector<std::atomic<int>> handled;
  std::vector<std::atomic<int>> last_seq;
  std::atomic<long> errors{0};
  std::atomic<long> handled_total{0};
  std::atomic<long> starts{0};
};

// What every child does with a message, whatever its kind.
void record_message(ledger* l, int index, const Msg& m) {
  // Per-sender order, for this child's mailbox: strictly increasing across restarts.
  auto& last = l->last_seq[static_cast<std::size_t>(index * senders + m.sender)];
  if (m.seq <= last.load(std::memory_order_relaxed)) l->errors.fetch_add(1);
  last.store(m.seq, std::memory_order_relaxed);
  if (l->handled[static_cast<std::size_t>(m.sender * per_sender + m.seq)].fetch_add(1) != 0) {
    l->errors.fetch_add(1);  // handled twice
  }
  l->handled_total.fetch_add(1);
  if (m.fail) throw std::runtime_error("storm");
}

struct Child : troupe::actor<Child, Msg> {
  Child(ledger* l, int index) : l_(l), index_(index) {}
  void on_start() { l_->starts.fetch_add(1); }
  void on(Msg m) { record_message(l_, index_, m); }
  ledger* l_;
  int index_;
};

// The same as a coroutine: each restart starts run() again.
struct CoroChild : troupe::coro_actor<CoroChild, Msg> {
  CoroChild(ledger* l, int index) : l_(l), index_(index) {}
  task run() {
    l_->starts.fetch_add(1);
    for (;;) record_message(l_, index_, co_await recv());
  }
  ledger* l_;
  int index_;
};

// And as a blocking actor: each restart runs run() on a new fiber.
struct BlockingChild : troupe::blocking_actor<BlockingChild, Msg> {
  BlockingChild(ledger* l, int index) : l_(l), index_(index) {}
  void run() {
    l_->starts.fetch_add(1);
    for (;;) record_message(l_, index_, recv());
  }
  ledger* l_;
  int index_;
};

// Child 0 is an event actor, 1 a coroutine actor, 2 a blocking actor; all have the handle
// ref<Msg>.
troupe::ref<Msg> start_storm_child(const troupe::supervisor::handle& sup, troupe::child_options o,
                                   ledger* l, int i) {
  if (i == 1) return troupe::start_child<CoroChild>(sup, o, l, i);
  if (i == 2) return troupe::start_child<BlockingChild>(sup, o, l, i);
  return troupe::start_child<Child>(sup, o, l, i);
}

troupe::runtime_config storm_config(std::atomic<long>* dead) {
  troupe::runtime_config c;
  c.workers = 3;
  c.on_failure = [](const troupe::failure&) {};
  c.on_dead_letter = [dead](const troupe::dead_letter&) { dead->fetch_add(1); };
  return c;
}

void storm(troupe::restart_strategy strategy, std::uint64_t seed) {
  std::atomic<long> dead{0};
  auto l = std::make_unique<ledger>();
  troupe::runtime rt(storm_config(&dead));
  auto sup = rt.spawn<troupe::supervisor>(troupe::supervisor_options{
      .strategy = strategy, .max_restarts = 1'000'000, .within = std::chrono::seconds(1)});
  constexpr int kids = 3;
  std::vector<troupe::ref<Msg>> children;
  for (int i = 0; i < kids; ++i) children.push_back(start_storm_child(sup, {}, l.get(), i));
  // Each sender feeds the messages of its share to one child (sender s -> child s % kids).
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      std::uint64_t x = mix(seed + static_cast<std::uint64_t>(s));
      for (int i = 0; i < per_sender; ++i) {
        x = mix(x);
        children[static_cast<std::size_t>(s % kids)].send(Msg{s, i, x % 50 == 0});
      }
    });
  }
  std::atomic<bool> done{false};
  std::thread killer([&] {
    std::uint64_t x = mix(seed ^ 0x5eed);
    while (!done.load()) {
      x = mix(x);
      children[x % kids].kill();
      std::this_thread::sleep_for(std::chrono::microseconds(200 + x % 800));
    }
  });
  for (auto& t : threads) t.join();
  // Everything sent is handled or dead-lettered (a kill dead-letters the message it finds).
  wait_until("every message handled or dead-lettered",
             [&] { return l->handled_total.load() + dead.load() == senders * per_sender; });
  done.store(true);
  killer.join();
  EXPECT_EQ(l->errors.load(), 0);
  EXPECT_GT(l->starts.load(), kids) << "no restart happened";
  returns_within("shutdown after a storm", [&] { rt.shutdown(); });
  const troupe::runtime_stats st = rt.stats();
  EXPECT_EQ(st.sent, st.handled + st.dead_lettered);
  EXPECT_EQ(st.spawned, st.stopped);
}

TEST(SupervisorStress, OneForOneStorm) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  storm(troupe::restart_strategy::one_for_one, seed);
}

TEST(SupervisorStress, OneForAllStorm) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  storm(troupe::restart_strategy::one_for_all, seed);
}

TEST(SupervisorStress, RestForOneStorm) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  storm(troupe::restart_strategy::rest_for_one, seed);
}

TEST(SupervisorStress, ClosingTheSupervisorMidStormStopsEveryChild) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  for (int round = 0; round < 20; ++round) {
    std::atomic<long> dead{0};
    auto l = std::make_unique<ledger>();
    troupe::runtime rt(storm_config(&dead));
    auto sup = rt.spawn<troupe::supervisor>(
        troupe::supervisor_options{.strategy = static_cast<troupe::restart_strategy>(round % 3),
                                   .max_restarts = 1'000'000,
                                   .within = std::chrono::seconds(1)});
    std::vector<troupe::ref<Msg>> children;
    for (int i = 0; i < 3; ++i) {
      children.push_back(
          start_storm_child(sup, {.shutdown = std::chrono::milliseconds(20)}, l.get(), i));
    }
    std::thread sender([&] {
      std::uint64_t x = mix(seed + static_cast<std::uint64_t>(round));
      for (int i = 0; i < per_sender; ++i) {
        x = mix(x);
        children[x % 3].send(Msg{0, i, x % 7 == 0});
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(mix(seed + round) % 2000));
    sup.close();
    sender.join();
    returns_within("every child of a closed supervisor to stop", [&] {
      for (auto& c : children) c.join();
    });
    returns_within("shutdown", [&] { rt.shutdown(); });
    const troupe::runtime_stats st = rt.stats();
    EXPECT_EQ(st.sent, st.handled + st.dead_lettered);
    EXPECT_EQ(st.spawned, st.stopped);
  }
}

}  // namespace
