// The timer service's hierarchical timing wheel (runtime/timer/timing_wheel.hpp), alone and
// single-threaded: a node comes out of pop_due() exactly once unless removed, never before
// its tick (INV-WHEEL-4) and never after a poll that should have returned it (INV-WHEEL-2/3),
// equal ticks in insertion order; far timers beyond the wheel's span come out too.
#include "timer/timing_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "support/troupe_test_support.hpp"

namespace troupe::detail {

struct timer_node_test_access {
  static void set_due(timer_node* n, std::int64_t ns) { n->due_ = ns; }
  static std::int64_t due(const timer_node* n) { return n->due_; }
};

namespace {

using tick = timing_wheel::tick;
constexpr std::int64_t ms = timing_wheel::tick_ns;

struct test_node final : timer_node {
  explicit test_node(int i) : index(i) {}
  bool fire() noexcept override { return true; }
  void retire(bool) noexcept override {}
  int index;
};

struct nodes {
  std::vector<std::unique_ptr<test_node>> all;
  test_node* make(std::int64_t due_ns) {
    all.push_back(std::make_unique<test_node>(static_cast<int>(all.size())));
    timer_node_test_access::set_due(all.back().get(), due_ns);
    return all.back().get();
  }
};

std::vector<int> drain(timing_wheel& w, tick now) {
  std::vector<int> out;
  while (timer_node* n = w.pop_due(now)) out.push_back(static_cast<test_node*>(n)->index);
  return out;
}

TEST(TimingWheel, ANodeComesOutAtItsTickNotBefore) {
  timing_wheel w;
  nodes ns;
  w.insert(ns.make(5 * ms));
  w.insert(ns.make(5 * ms - 1));  // rounds up to tick 5 as well: never early
  w.insert(ns.make(5 * ms + 1));  // tick 6
  EXPECT_EQ(w.next_wake(), std::optional<tick>(5));
  EXPECT_TRUE(drain(w, 4).empty());
  EXPECT_EQ(drain(w, 5), (std::vector<int>{0, 1})) << "same tick: insertion order";
  EXPECT_EQ(w.next_wake(), std::optional<tick>(6));
  EXPECT_EQ(drain(w, 100), std::vector<int>{2});
  EXPECT_EQ(w.next_wake(), std::nullopt) << "empty: the thread may sleep without a deadline";
}

TEST(TimingWheel, ASparseWheelWakesOnlyAtTheDueTick) {
  timing_wheel w;
  nodes ns;
  w.insert(ns.make(100'000 * ms));  // level 2
  // Not at the next tick, nor at the start of the level-2 slot holding it: at its due tick.
  EXPECT_EQ(w.next_wake(), std::optional<tick>(100'000));
  EXPECT_EQ(drain(w, 100'000), std::vector<int>{0});
}

TEST(TimingWheel, ACrowdedSlotWakesAtMostOncePerLevelOnItsWayDown) {
  timing_wheel w;
  nodes ns;
  for (unsigned i = 0; i <= timing_wheel::wake_scan_limit; ++i) w.insert(ns.make(100'000 * ms));
  const std::optional<tick> first = w.next_wake();
  ASSERT_TRUE(first.has_value());
  EXPECT_GT(*first, tick{64}) << "an empty level 0 must not make the wheel tick";
  int wakes = 0;
  tick now = 0;
  std::vector<int> out;
  while (out.empty()) {
    const std::optional<tick> next = w.next_wake();
    ASSERT_TRUE(next.has_value());
    now = *next;
    ++wakes;
    out = drain(w, now);
  }
  EXPECT_EQ(now, tick{100'000});
  EXPECT_EQ(out.size(), timing_wheel::wake_scan_limit + 1);
  EXPECT_LE(wakes, static_cast<int>(timing_wheel::levels)) << "one wake per level at most";
}

TEST(TimingWheel, RemovedNodesNeverComeOut) {
  timing_wheel w;
  nodes ns;
  for (int i = 0; i < 10; ++i) w.insert(ns.make((i + 1) * 70 * ms));
  for (int i = 0; i < 10; i += 2) w.remove(ns.all[static_cast<std::size_t>(i)].get());
  EXPECT_EQ(drain(w, 10'000), (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_EQ(w.next_wake(), std::nullopt);
}

TEST(TimingWheel, TimersBeyondTheSpanAreParkedAndStillComeOutOnTime) {
  timing_wheel w;
  nodes ns;
  const std::int64_t far_tick = static_cast<std::int64_t>(timing_wheel::span) * 3 + 12345;
  w.insert(ns.make(far_tick * ms));
  tick now = 0;
  int wakes = 0;
  std::vector<int> out;
  while (out.empty()) {
    const std::optional<tick> next = w.next_wake();
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(*next, now);
    now = *next;
    out = drain(w, now);
    ASSERT_LT(++wakes, 1000);
  }
  EXPECT_EQ(now, static_cast<tick>(far_tick));
}

// A node parked from beyond the span sits in a slot it is not due in; a nearer node inserted
// later, once the wheel has moved on, may land in a later slot. The wake-up must still come
// before the nearer node's due tick.
TEST(TimingWheel, AParkedFarNodeDoesNotHideANearerOneInALaterSlot) {
  timing_wheel w;
  nodes ns;
  const tick level5 = tick{1} << 30;
  w.insert(ns.make(static_cast<std::int64_t>(3 * timing_wheel::span) * ms));  // parked
  w.insert(ns.make(static_cast<std::int64_t>(2 * level5) * ms));              // moves the wheel on
  tick now = 0;
  std::vector<int> out;
  while (out.empty()) {
    const std::optional<tick> next = w.next_wake();
    ASSERT_TRUE(next.has_value());
    now = *next;
    out = drain(w, now);
  }
  ASSERT_EQ(out, std::vector<int>{1});
  const tick near = now + timing_wheel::span - level5;
  w.insert(ns.make(static_cast<std::int64_t>(near) * ms));
  const std::optional<tick> wake = w.next_wake();
  ASSERT_TRUE(wake.has_value());
  EXPECT_LE(*wake, near);
  while (out.size() < 2) {
    const std::optional<tick> next = w.next_wake();
    ASSERT_TRUE(next.has_value());
    ASSERT_LE(*next, near);
    now = *next;
    for (int i : drain(w, now)) out.push_back(i);
  }
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
  EXPECT_EQ(now, near);
}

// Random due times over every level, random removals, polls at random steps: each kept node
// comes out exactly once, at a poll `now` with tick_of(due) <= now, and after the previous
// poll's now (it was not due then).
TEST(TimingWheel, RandomScheduleEachKeptNodeOnceNeverEarlyNeverSkipped) {
  const std::uint64_t seed = troupe::test::base_seed();
  SCOPED_TRACE(troupe::test::seed_trace(seed));
  std::mt19937_64 rng(seed);
  timing_wheel w;
  nodes ns;
  std::vector<char> removed;
  std::vector<int> seen;
  tick now = 0;
  tick prev = 0;
  auto random_due = [&]() -> std::int64_t {
    const unsigned digits = static_cast<unsigned>(rng() % 5);  // up to level 4
    const std::uint64_t range = std::uint64_t{64} << (6 * digits);
    return static_cast<std::int64_t>((now + rng() % range) * ms + static_cast<tick>(rng() % ms));
  };
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 50; ++i) {
      w.insert(ns.make(random_due()));
      removed.push_back(0);
      seen.push_back(0);
    }
    for (int i = 0; i < 10; ++i) {
      const std::size_t k = rng() % ns.all.size();
      timer_node* n = ns.all[k].get();
      if (!removed[k] && !seen[k]) {
        w.remove(n);
        removed[k] = 1;
      }
    }
    // The thread would sleep until next_wake(): never past a node's due tick.
    tick earliest = std::numeric_limits<tick>::max();
    for (std::size_t k = 0; k < ns.all.size(); ++k) {
      if (removed[k] || seen[k]) continue;
      const tick t = timing_wheel::tick_of(timer_node_test_access::due(ns.all[k].get()));
      if (t < earliest) earliest = t;
    }
    const std::optional<tick> wake = w.next_wake();
    if (earliest != std::numeric_limits<tick>::max()) {
      ASSERT_TRUE(wake.has_value());
      ASSERT_LE(*wake, std::max(earliest, now)) << "would sleep past a due node";
    }
    prev = now;
    now += rng() % 3 == 0 ? rng() % 100'000 : rng() % 200;
    while (timer_node* n = w.pop_due(now)) {
      const int k = static_cast<test_node*>(n)->index;
      const tick t = timing_wheel::tick_of(timer_node_test_access::due(n));
      ASSERT_LE(t, now) << "early";
      ASSERT_GT(t, prev) << "should have come out at the previous poll";
      ASSERT_FALSE(removed[static_cast<std::size_t>(k)]);
      ASSERT_EQ(seen[static_cast<std::size_t>(k)]++, 0) << "twice";
    }
  }
  // Everything left comes out once the clock passes the last due time.
  while (const std::optional<tick> next = w.next_wake()) {
    now = *next;
    while (timer_node* n = w.pop_due(now))
      ++seen[static_cast<std::size_t>(static_cast<test_node*>(n)->index)];
  }
  for (std::size_t k = 0; k < ns.all.size(); ++k) {
    ASSERT_EQ(static_cast<int>(seen[k]) + static_cast<int>(removed[k]), 1) << "node " << k;
  }
}

}  // namespace
}  // namespace troupe::detail
