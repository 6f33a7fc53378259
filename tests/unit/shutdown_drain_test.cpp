// shutdown() drains before it closes: messages in flight between live actors when it is
// called are delivered, not dead-lettered (the chat shape: rooms fanning out to sessions);
// actors that keep each other busy forever hold it up only until runtime_config::
// drain_timeout, after which it says so and closes them anyway; messages an actor has set
// aside (a blocking actor's selective receive) count as delivered, so they do not hold the
// drain up; drain_timeout = 0 closes at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::with_workers;

// ---- the chat shape ------------------------------------------------------------------------

struct Deliver {
  std::uint32_t room;
  std::uint32_t seq;
};
struct Session : troupe::actor<Session, Deliver> {
  Session(std::atomic<std::uint64_t>* got, std::atomic<std::uint64_t>* out_of_order)
      : got_(got), out_of_order_(out_of_order) {}
  void on(Deliver d) {
    if (d.seq != next_) out_of_order_->fetch_add(1, std::memory_order_relaxed);
    next_ = d.seq + 1;
    got_->fetch_add(1, std::memory_order_relaxed);
  }
  std::uint32_t next_ = 0;
  std::atomic<std::uint64_t>* got_;
  std::atomic<std::uint64_t>* out_of_order_;
};

struct Join {
  troupe::ref<Deliver> session;
};
struct Publish {
  std::uint32_t seq;
};
struct Room : troupe::actor<Room, Join, Publish> {
  explicit Room(std::uint32_t id) : id_(id) {}
  void on(Join j) { members_.push_back(std::move(j.session)); }
  void on(Publish p) {
    for (auto& m : members_) m.send(Deliver{id_, p.seq});  // the whole fan-out in one loop
  }
  std::uint32_t id_;
  std::vector<troupe::ref<Deliver>> members_;
};

std::uint64_t chat_dead_letters(std::chrono::milliseconds drain_timeout) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr std::uint32_t kRooms = 10, kPerRoom = 50, kPublishes = 40;
#else
  constexpr std::uint32_t kRooms = 20, kPerRoom = 100, kPublishes = 100;
#endif
  troupe::runtime_config cfg = with_workers(2);
  cfg.drain_timeout = drain_timeout;
  troupe::runtime rt(cfg);
  std::atomic<std::uint64_t> got{0}, out_of_order{0};
  std::vector<troupe::ref<Join, Publish>> rooms;
  for (std::uint32_t r = 0; r < kRooms; ++r) {
    rooms.push_back(rt.spawn<Room>(r));
    for (std::uint32_t s = 0; s < kPerRoom; ++s) {
      rooms.back().send(Join{rt.spawn<Session>(&got, &out_of_order)});
    }
  }
  for (std::uint32_t p = 0; p < kPublishes; ++p) {
    for (auto& room : rooms) room.send(Publish{p});
  }
  rt.shutdown();  // right after the last publish: most deliveries are still in flight
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
  EXPECT_EQ(s.spawned, s.stopped);
  EXPECT_EQ(out_of_order.load(), 0u);
  // Without a drain, publishes still queued at the close are dead letters, and so never
  // fan out: fewer deliveries, each counted.
  EXPECT_LE(got.load(), std::uint64_t{kRooms} * kPerRoom * kPublishes);
  if (drain_timeout.count() != 0) {
    EXPECT_EQ(got.load(), std::uint64_t{kRooms} * kPerRoom * kPublishes);
  }
  return s.dead_lettered;
}

TEST(ShutdownDrain, MessagesInFlightBetweenLiveActorsAreDeliveredNotDeadLettered) {
  EXPECT_EQ(chat_dead_letters(60s), 0u)
      << "shutdown() closed sessions while the rooms' deliveries were still in flight";
}

// ---- actors that never settle ----------------------------------------------------------------

struct Ball {};
struct Player : troupe::actor<Player, Ball> {
  explicit Player(const troupe::ref<Ball>* peer) : peer_(peer) {}
  void on(Ball) { peer_->send(Ball{}); }
  const troupe::ref<Ball>* peer_;
};

TEST(ShutdownDrain, ActorsThatKeepEachOtherBusyHoldItUpOnlyUntilTheDrainLimitAndItSaysSo) {
  troupe::runtime_config cfg = with_workers(2);
  cfg.drain_timeout = 200ms;
  troupe::runtime rt(cfg);
  troupe::ref<Ball> a_peer, b_peer;
  auto a = rt.spawn<Player>(&a_peer);
  auto b = rt.spawn<Player>(&b_peer);
  a_peer = b;
  b_peer = a;
  a.send(Ball{});  // bounces forever
  testing::internal::CaptureStderr();
  rt.shutdown();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("drain limit of 200 ms"), std::string::npos) << err;
  EXPECT_TRUE(a.stopped());
  EXPECT_TRUE(b.stopped());
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
  EXPECT_GT(s.handled, 0u);
  a_peer = {};  // the cycle of handles
  b_peer = {};
}

// ---- set-aside messages count as delivered ---------------------------------------------------

struct Job {
  int n;
};
struct Go {};
struct Picky : troupe::blocking_actor<Picky, Job, Go> {
  explicit Picky(std::atomic<int>* gos) : gos_(gos) {}
  void run() {
    for (;;) {
      (void)recv<Go>();  // Jobs pile up in the stash, never received
      gos_->fetch_add(1);
    }
  }
  std::atomic<int>* gos_;
};

TEST(ShutdownDrain, MessagesASelectiveReceiveSkippedDoNotHoldTheDrainUp) {
  troupe::runtime_config cfg = with_workers(2);
  cfg.drain_timeout = 10min;  // a drain that waited for the stash would hang the test
  troupe::runtime rt(cfg);
  std::atomic<int> gos{0};
  auto p = rt.spawn<Picky>(&gos);
  for (int i = 0; i < 100; ++i) p.send(Job{i});
  p.send(Go{});
  testing::internal::CaptureStderr();
  rt.shutdown();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("drain limit"), std::string::npos) << err;
  EXPECT_EQ(gos.load(), 1);
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
  EXPECT_EQ(s.dead_lettered, 100u) << "the skipped jobs are dead letters at the stop";
}

TEST(ShutdownDrain, AZeroDrainTimeoutClosesAtOnceAndStillLosesNothingUncounted) {
  // The old behaviour: close at once. Deliveries still queued become dead letters, counted.
  (void)chat_dead_letters(0ms);
}

}  // namespace

// An actor that stops on its own while shutdown() drains (here: it closes itself in the
// handler of the last message in flight) can leave its registry shard empty before the
// close walk starts. That shard must still count as stopped: shutdown() used to wait for it
// forever.
struct ClosesItself : troupe::actor<ClosesItself, int> {
  void on(int) {
    std::this_thread::sleep_for(20ms);  // still in flight when the drain starts looking
    self().close();
  }
};

TEST(ShutdownDrain, AnActorThatStopsOnItsOwnDuringTheDrainDoesNotHoldShutdownUp) {
  for (int round = 0; round < 3; ++round) {
    troupe::runtime rt(with_workers(2));
    auto a = rt.spawn<ClosesItself>();  // from outside the pool: the outside threads' shard
    a.send(1);
    troupe::test::returns_within("shutdown() after the only actor stopped on its own",
                                 [&rt] { rt.shutdown(); });
    EXPECT_TRUE(a.stopped());
    EXPECT_EQ(rt.stats().handled, 1u);
  }
}
