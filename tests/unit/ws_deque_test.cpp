// Sequential semantics of the bounded Chase–Lev deque (runtime/lockfree/ws_deque.hpp):
// owner push/take at the bottom (LIFO), steal at the top (FIFO), "full" instead of growth,
// and index wrap-around. The concurrent behaviour is covered by
// tests/stress/ws_deque_stress_test.cpp.
#include "lockfree/ws_deque.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <random>

namespace troupe::detail {
namespace {

using item = std::uintptr_t;

// Every random choice comes from one seed, printed on failure; TROUPE_TEST_SEED replays it.
std::uint32_t test_seed() {
  if (const char* env = std::getenv("TROUPE_TEST_SEED")) {
    return static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10));
  }
  return std::random_device{}();
}

TEST(WsDeque, ReportsTheCapacityItWasBuiltWith) {
  EXPECT_EQ(ws_deque<item>(2).capacity(), 2u);
  EXPECT_EQ(ws_deque<item>(4).capacity(), 4u);
  EXPECT_EQ(ws_deque<item>(1024).capacity(), 1024u);
}

TEST(WsDeque, ANewDequeIsEmpty) {
  ws_deque<item> d(8);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.maybe_nonempty());
  item x = 42;
  EXPECT_FALSE(d.take(x));
  EXPECT_FALSE(d.steal(x));
  EXPECT_EQ(x, 42u) << "a failed take/steal must not write its output";
}

TEST(WsDeque, PushAndTakeAreLastInFirstOut) {
  ws_deque<item> d(8);
  for (item i = 1; i <= 5; ++i) ASSERT_TRUE(d.push(i));
  for (item i = 5; i >= 1; --i) {
    item x = 0;
    ASSERT_TRUE(d.take(x));
    EXPECT_EQ(x, i);
  }
  item x = 0;
  EXPECT_FALSE(d.take(x));
}

TEST(WsDeque, StealIsFirstInFirstOut) {
  ws_deque<item> d(8);
  for (item i = 1; i <= 5; ++i) ASSERT_TRUE(d.push(i));
  for (item i = 1; i <= 5; ++i) {
    item x = 0;
    ASSERT_TRUE(d.steal(x));  // single thread: no lost race, so no spurious failure
    EXPECT_EQ(x, i);
  }
  item x = 0;
  EXPECT_FALSE(d.steal(x));
}

TEST(WsDeque, TakeAndStealMeetInTheMiddle) {
  ws_deque<item> d(8);
  for (item i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  item x = 0;
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(x, 1u);
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(x, 4u);
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(x, 2u);
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(x, 3u);
  EXPECT_FALSE(d.take(x));
  EXPECT_FALSE(d.steal(x));
}

TEST(WsDeque, PushIsRefusedAtCapacityAndChangesNothing) {
  ws_deque<item> d(4);
  for (item i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  EXPECT_EQ(d.size(), 4u);
  // INV-DEQUE-3: no slot in [top_, bottom_) is overwritten; the deque reports full.
  EXPECT_FALSE(d.push(99));
  EXPECT_FALSE(d.push(100));
  EXPECT_EQ(d.size(), 4u);
  item x = 0;
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(x, 4u) << "the refused push must not have replaced the newest item";
  for (item i = 1; i <= 3; ++i) {
    ASSERT_TRUE(d.steal(x));
    EXPECT_EQ(x, i) << "the refused push must not have overwritten the oldest item";
  }
  EXPECT_FALSE(d.take(x));
}

TEST(WsDeque, PushSucceedsAgainOnceAStealMakesRoom) {
  ws_deque<item> d(4);
  for (item i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  ASSERT_FALSE(d.push(5));
  item x = 0;
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(x, 1u);
  // The slot of item 1 is reused for item 5 (it is physically the same slot: 4 & 3 == 0).
  EXPECT_TRUE(d.push(5));
  EXPECT_FALSE(d.push(6));
  for (item i = 2; i <= 5; ++i) {
    ASSERT_TRUE(d.steal(x));
    EXPECT_EQ(x, i);
  }
}

TEST(WsDeque, TakingTheLastItemLeavesAUsableEmptyDeque) {
  ws_deque<item> d(4);
  ASSERT_TRUE(d.push(7));
  item x = 0;
  // The t == b path of take(): the owner races (and here wins) the CAS on top_
  // (INV-DEQUE-1).
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(x, 7u);
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.maybe_nonempty());
  EXPECT_FALSE(d.take(x));
  EXPECT_FALSE(d.steal(x));
  // bottom_ was restored after the CAS: the deque keeps working, with full capacity.
  for (item i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  EXPECT_FALSE(d.push(5));
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(x, 1u);
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(x, 4u);
}

TEST(WsDeque, TakeOnEmptyDoesNotDisturbLaterPushes) {
  ws_deque<item> d(4);
  item x = 0;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.take(x));
  EXPECT_EQ(d.size(), 0u);
  for (item i = 1; i <= 4; ++i) ASSERT_TRUE(d.push(i));
  EXPECT_FALSE(d.push(5)) << "empty takes must restore bottom_ exactly";
  EXPECT_EQ(d.size(), 4u);
}

TEST(WsDeque, StealFromEmptyFailsAndKeepsTheDequeUsable) {
  ws_deque<item> d(4);
  item x = 5;
  EXPECT_FALSE(d.steal(x));
  EXPECT_EQ(x, 5u);
  ASSERT_TRUE(d.push(1));
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(x, 1u);
  EXPECT_FALSE(d.steal(x));
  EXPECT_EQ(d.size(), 0u);
}

TEST(WsDeque, SizeCountsTheItemsHeld) {
  ws_deque<item> d(8);
  EXPECT_EQ(d.size(), 0u);
  for (item i = 1; i <= 6; ++i) {
    ASSERT_TRUE(d.push(i));
    EXPECT_EQ(d.size(), i);
  }
  item x = 0;
  ASSERT_TRUE(d.take(x));
  EXPECT_EQ(d.size(), 5u);
  ASSERT_TRUE(d.steal(x));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(d.maybe_nonempty());
  while (d.take(x)) {
  }
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.maybe_nonempty());
}

TEST(WsDeque, WrapsAroundItsRingManyTimesWithCapacityFour) {
  // Steal-then-push moves the window [top_, bottom_) around the 4-slot ring; after
  // 10'000 rounds the indices are far past the capacity and every item must still come
  // out in order.
  ws_deque<item> d(4);
  item next_in = 0;
  item next_out = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d.push(next_in++));
  for (int round = 0; round < 10'000; ++round) {
    item x = 0;
    ASSERT_TRUE(d.steal(x));
    ASSERT_EQ(x, next_out++) << "round " << round;
    ASSERT_TRUE(d.push(next_in++)) << "round " << round;
    ASSERT_EQ(d.size(), 3u);
  }
  item x = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d.steal(x));
    EXPECT_EQ(x, next_out++);
  }
  EXPECT_FALSE(d.steal(x));
}

TEST(WsDeque, MatchesASequentialModelUnderRandomOperations) {
  // A model check with one thread: random push/take/steal against std::deque, on a small
  // ring so that wrap-around and "full" happen constantly.
  const std::uint32_t seed = test_seed();
  SCOPED_TRACE(testing::Message() << "seed=" << seed);
  std::mt19937 rng(seed);
  for (std::size_t cap : {2u, 4u, 16u}) {
    SCOPED_TRACE(testing::Message() << "capacity=" << cap);
    ws_deque<item> d(cap);
    std::deque<item> model;
    item next = 1;
    int fulls = 0;
    unsigned push_percent = 50;
    for (int step = 0; step < 20'000; ++step) {
      // Alternate filling and draining phases so both "full" and "empty" are visited.
      if (step % 200 == 0) push_percent = (step / 200) % 2 == 0 ? 75 : 25;
      const unsigned r = rng() % 100;
      const unsigned op = r < push_percent ? 0 : (r % 2 == 0 ? 1 : 2);
      item x = 0;
      if (op == 0) {
        const bool pushed = d.push(next);
        ASSERT_EQ(pushed, model.size() < cap) << "step " << step;
        if (pushed) model.push_back(next);
        fulls += pushed ? 0 : 1;
        ++next;
      } else if (op == 1) {
        const bool got = d.take(x);
        ASSERT_EQ(got, !model.empty()) << "step " << step;
        if (got) {
          ASSERT_EQ(x, model.back()) << "step " << step;
          model.pop_back();
        }
      } else {
        const bool got = d.steal(x);
        ASSERT_EQ(got, !model.empty()) << "step " << step;
        if (got) {
          ASSERT_EQ(x, model.front()) << "step " << step;
          model.pop_front();
        }
      }
      ASSERT_EQ(d.size(), model.size()) << "step " << step;
    }
    EXPECT_GT(fulls, 0) << "the walk never hit the capacity; the test is not testing it";
  }
}

}  // namespace
}  // namespace troupe::detail
