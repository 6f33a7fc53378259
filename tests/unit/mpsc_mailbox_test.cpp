// Sequential semantics of the actor mailbox (include/troupe/detail/mpsc_mailbox.hpp).
// Everything here runs on one thread: it pins down the contract of push(), pop() and
// try_mark_idle() that the concurrent stress test (tests/stress/mpsc_mailbox_stress_test.cpp)
// then exercises under contention.
#include "troupe/detail/mpsc_mailbox.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <vector>

namespace troupe::detail {
namespace {

struct test_node : mailbox_node {
  int value = 0;
};

// Consumes everything that is fully queued; returns the values in the order taken and
// appends the retired nodes to *retired.
std::vector<int> drain(mpsc_mailbox& mb, std::vector<mailbox_node*>* retired) {
  std::vector<int> out;
  for (;;) {
    const mpsc_mailbox::taken t = mb.pop();
    if (t.node == nullptr) {
      EXPECT_EQ(t.retired, nullptr) << "an empty pop must not retire anything";
      return out;
    }
    if (t.retired != nullptr && retired != nullptr) retired->push_back(t.retired);
    out.push_back(static_cast<test_node*>(t.node)->value);
  }
}

// try_mark_idle() for tests that do not look at the node it retires.
bool mark_idle(mpsc_mailbox& mb) {
  mailbox_node* retired = nullptr;
  const bool idle = mb.try_mark_idle(retired);
  if (!idle) {
    EXPECT_EQ(retired, nullptr) << "a failed try_mark_idle() must not retire anything";
  }
  return idle;
}

TEST(MpscMailbox, ANewMailboxIsIdleAndItsFirstPushReturnsTrue) {
  mpsc_mailbox mb;
  // INV-MAILBOX-1: tail_ starts at the stub, nothing queued.
  EXPECT_TRUE(mb.is_stub(mb.dummy()));
  const mpsc_mailbox::taken t = mb.pop();
  EXPECT_EQ(t.node, nullptr);
  EXPECT_EQ(t.retired, nullptr);

  test_node a;
  // INV-MAILBOX-2: the mailbox starts idle, so the first push is the idle→non-empty
  // transition and alone returns true.
  EXPECT_TRUE(mb.push(&a));
}

TEST(MpscMailbox, LaterPushesReturnFalseUntilTheConsumerMarksIdle) {
  mpsc_mailbox mb;
  std::array<test_node, 5> nodes{};
  EXPECT_TRUE(mb.push(&nodes[0]));
  // INV-MAILBOX-2/3: the first pusher owns consumption; nobody else is told to schedule.
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    EXPECT_FALSE(mb.push(&nodes[i])) << "push #" << i;
  }
  // Even after everything is consumed, pushes keep returning false until try_mark_idle():
  // the consumer still owns the actor.
  drain(mb, nullptr);
  test_node late;
  EXPECT_FALSE(mb.push(&late));
}

TEST(MpscMailbox, PopReturnsMessagesInPushOrder) {
  mpsc_mailbox mb;
  std::array<test_node, 100> nodes{};
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].value = static_cast<int>(i);
    mb.push(&nodes[i]);
  }
  // INV-MAILBOX-1 and INV-MAILBOX-5: the queued messages are taken in push order.
  const std::vector<int> got = drain(mb, nullptr);
  ASSERT_EQ(got.size(), nodes.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<int>(i));
}

TEST(MpscMailbox, PopInterleavedWithPushKeepsFifoOrder) {
  mpsc_mailbox mb;
  std::array<test_node, 64> nodes{};
  std::vector<int> got;
  int next = 0;
  // Push two, pop one, repeatedly: the queue never empties until the end.
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].value = static_cast<int>(i);
    mb.push(&nodes[i]);
    if (i % 2 == 1) {
      const mpsc_mailbox::taken t = mb.pop();
      ASSERT_NE(t.node, nullptr);
      got.push_back(static_cast<test_node*>(t.node)->value);
    }
  }
  for (int v : drain(mb, nullptr)) got.push_back(v);
  ASSERT_EQ(got.size(), nodes.size());
  for (int v : got) EXPECT_EQ(v, next++);  // INV-MAILBOX-5
}

TEST(MpscMailbox, TheTakenNodeBecomesTheDummyAndTheStubIsNeverRetired) {
  mpsc_mailbox mb;
  test_node a;
  mb.push(&a);
  const mpsc_mailbox::taken t = mb.pop();
  EXPECT_EQ(t.node, &a);
  // The previous dummy was the stub: it is never handed back for reuse.
  EXPECT_EQ(t.retired, nullptr);
  // INV-MAILBOX-4: a stays in use as the dummy after being taken.
  EXPECT_EQ(mb.dummy(), &a);
  EXPECT_FALSE(mb.is_stub(mb.dummy()));
}

TEST(MpscMailbox, EachNodeIsRetiredExactlyOnceAndOnlyAfterItsSuccessorIsTaken) {
  mpsc_mailbox mb;
  std::array<test_node, 10> nodes{};
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].value = static_cast<int>(i);
    mb.push(&nodes[i]);
  }
  std::vector<mailbox_node*> retired;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const mpsc_mailbox::taken t = mb.pop();
    ASSERT_EQ(t.node, &nodes[i]);
    // INV-MAILBOX-4: pop #i retires exactly node i-1 (the dummy before it), never the
    // stub, never the node it returns.
    if (i == 0) {
      EXPECT_EQ(t.retired, nullptr);
    } else {
      EXPECT_EQ(t.retired, &nodes[i - 1]);
    }
    if (t.retired != nullptr) retired.push_back(t.retired);
  }
  EXPECT_EQ(mb.pop().node, nullptr);
  // The last node taken is still the dummy: not retired yet.
  EXPECT_EQ(mb.dummy(), &nodes.back());
  ASSERT_EQ(retired.size(), nodes.size() - 1);
  for (std::size_t i = 0; i + 1 < nodes.size(); ++i) EXPECT_EQ(retired[i], &nodes[i]);
}

TEST(MpscMailbox, MarkingIdleRetiresTheLastDummyAndRestsOnTheStub) {
  mpsc_mailbox mb;
  test_node a, b;
  EXPECT_TRUE(mb.push(&a));
  EXPECT_EQ(mb.pop().node, &a);
  EXPECT_EQ(mb.dummy(), &a);
  mailbox_node* retired = nullptr;
  ASSERT_TRUE(mb.try_mark_idle(retired));
  // INV-MAILBOX-2/4: idle means resting on the stub; a is handed back at once, so an idle
  // mailbox keeps no message node.
  EXPECT_EQ(retired, &a);
  EXPECT_TRUE(mb.is_stub(mb.dummy()));
  EXPECT_TRUE(mb.push(&b));
  const mpsc_mailbox::taken t = mb.pop();
  EXPECT_EQ(t.node, &b);
  EXPECT_EQ(t.retired, nullptr) << "the previous dummy was the stub";
  ASSERT_TRUE(mb.try_mark_idle(retired));
  EXPECT_EQ(retired, &b);
  ASSERT_TRUE(mb.push(&a)) << "a retired node can be pushed again";
  EXPECT_EQ(mb.pop().node, &a);
}

TEST(MpscMailbox, MarkingIdleFromTheStubRetiresNothing) {
  mpsc_mailbox mb;
  ASSERT_TRUE(mb.try_claim());
  test_node other;
  mailbox_node* retired = &other;  // must be overwritten
  ASSERT_TRUE(mb.try_mark_idle(retired));
  EXPECT_EQ(retired, nullptr);
  EXPECT_TRUE(mb.is_stub(mb.dummy()));
}

TEST(MpscMailbox, TryMarkIdleFailsWhileMessagesAreQueued) {
  mpsc_mailbox mb;
  test_node a, b;
  mb.push(&a);
  mb.push(&b);
  // INV-MAILBOX-2: the idle bit is set only when head_ == tail_.
  EXPECT_FALSE(mark_idle(mb));
  EXPECT_EQ(mb.pop().node, &a);
  EXPECT_FALSE(mark_idle(mb)) << "b is still queued";
  // A failed attempt keeps ownership: later pushes still return false.
  test_node c;
  EXPECT_FALSE(mb.push(&c));
  EXPECT_EQ(mb.pop().node, &b);
  EXPECT_EQ(mb.pop().node, &c);
  EXPECT_TRUE(mark_idle(mb));
}

TEST(MpscMailbox, TryMarkIdleSucceedsWhenEverythingIsConsumed) {
  mpsc_mailbox mb;
  test_node a;
  mb.push(&a);
  EXPECT_EQ(mb.pop().node, &a);
  EXPECT_EQ(mb.pop().node, nullptr);
  EXPECT_TRUE(mark_idle(mb));
}

TEST(MpscMailbox, TryMarkIdleFailsWhenTheMailboxIsAlreadyIdle) {
  // INV-MAILBOX-2: the bit is set only when head_ == tail_; once set, head_ carries it, so
  // a second give-up (or one on a fresh mailbox) fails instead of corrupting head_.
  mpsc_mailbox mb;
  EXPECT_FALSE(mark_idle(mb)) << "a fresh mailbox is already idle";
  test_node a;
  ASSERT_TRUE(mb.push(&a));
  ASSERT_EQ(mb.pop().node, &a);
  ASSERT_TRUE(mark_idle(mb));
  EXPECT_FALSE(mark_idle(mb)) << "already idle";
  test_node b;
  EXPECT_TRUE(mb.push(&b)) << "the failed attempts must not have cleared the idle bit";
}

TEST(MpscMailbox, AfterMarkIdleTheNextPushReturnsTrueAgain) {
  mpsc_mailbox mb;
  std::array<test_node, 8> nodes{};
  std::vector<mailbox_node*> retired;
  // Several busy/idle cycles: each idle→non-empty transition yields exactly one true
  // (INV-MAILBOX-2), with FIFO order and one retirement per node throughout.
  int value = 0;
  for (int round = 0; round < 4; ++round) {
    test_node& first = nodes[static_cast<std::size_t>(2 * round)];
    test_node& second = nodes[static_cast<std::size_t>(2 * round + 1)];
    first.value = value++;
    second.value = value++;
    EXPECT_TRUE(mb.push(&first)) << "round " << round;
    EXPECT_FALSE(mb.push(&second)) << "round " << round;
    const std::vector<int> got = drain(mb, &retired);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], first.value);
    EXPECT_EQ(got[1], second.value);
    mailbox_node* last = nullptr;
    EXPECT_TRUE(mb.try_mark_idle(last)) << "round " << round;
    EXPECT_EQ(last, &second) << "round " << round;
    retired.push_back(last);
  }
  // Every node has been retired, each exactly once, in order: pop() retires the first of
  // each round, try_mark_idle() the second.
  ASSERT_EQ(retired.size(), nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) EXPECT_EQ(retired[i], &nodes[i]);
  EXPECT_TRUE(mb.is_stub(mb.dummy()));
}

TEST(MpscMailbox, ARetiredNodeCanBePushedAgain) {
  // Two nodes alternating forever: the pattern of a pooled sender that reuses the node it
  // just got back. Safe because a node is retired only once it is no longer the dummy
  // (INV-MAILBOX-4).
  mpsc_mailbox mb;
  std::array<test_node, 2> nodes{};
  for (int i = 0; i < 1000; ++i) {
    test_node* n = &nodes[static_cast<std::size_t>(i % 2)];
    test_node* other = &nodes[static_cast<std::size_t>((i + 1) % 2)];
    n->value = i;
    EXPECT_EQ(mb.push(n), i == 0);
    const mpsc_mailbox::taken t = mb.pop();
    ASSERT_EQ(t.node, n) << "i=" << i;
    EXPECT_EQ(static_cast<test_node*>(t.node)->value, i);
    ASSERT_EQ(t.retired, i == 0 ? nullptr : other) << "i=" << i;
  }
  EXPECT_EQ(mb.pop().node, nullptr);
  EXPECT_TRUE(mark_idle(mb));
}

}  // namespace
}  // namespace troupe::detail
