// troupe::weak_ref (weak_ref.hpp): it names an actor without keeping it alive; lock() gives a
// ref while the actor's memory is alive (stopped or not) and an empty ref once it is gone —
// for event, coroutine and blocking actors, narrowed or not — and a room <-> session cycle
// broken with weak_refs frees everything (also LeakSanitizer-clean under the asan preset).
// Racing lock() against the last release: tests/stress/weak_ref_stress_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <type_traits>
#include <typeindex>
#include <unordered_set>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Add {
  long n;
};
struct Sub {
  long n;
};

std::atomic<int> g_alive{0};
std::atomic<long> g_total{0};

struct EventAdder : troupe::actor<EventAdder, Add, Sub> {
  EventAdder() { g_alive.fetch_add(1); }
  ~EventAdder() override { g_alive.fetch_sub(1); }
  void on(Add a) { g_total.fetch_add(a.n); }
  void on(Sub s) { g_total.fetch_sub(s.n); }
};

struct CoroAdder : troupe::coro_actor<CoroAdder, Add, Sub> {
  CoroAdder() { g_alive.fetch_add(1); }
  ~CoroAdder() override { g_alive.fetch_sub(1); }
  task run() {
    for (;;) {
      auto m = co_await recv();
      if (auto* a = std::get_if<Add>(&m)) g_total.fetch_add(a->n);
      if (auto* s = std::get_if<Sub>(&m)) g_total.fetch_sub(s->n);
    }
  }
};

struct BlockingAdder : troupe::blocking_actor<BlockingAdder, Add, Sub> {
  BlockingAdder() { g_alive.fetch_add(1); }
  ~BlockingAdder() override { g_alive.fetch_sub(1); }
  void run() {
    for (;;) {
      auto m = recv();
      if (auto* a = std::get_if<Add>(&m)) g_total.fetch_add(a->n);
      if (auto* s = std::get_if<Sub>(&m)) g_total.fetch_sub(s->n);
    }
  }
};

static_assert(std::is_nothrow_copy_constructible_v<troupe::weak_ref<Add, Sub>>);
static_assert(sizeof(troupe::weak_ref<Add, Sub>) == sizeof(troupe::actor_id),
              "a weak_ref is the actor's id and nothing else");
static_assert(std::is_convertible_v<troupe::ref<Add, Sub>, troupe::weak_ref<Sub>>,
              "made from a ref, narrowing as a ref does");

// The life of a weak_ref to an actor of each kind: lock() while running, while stopped but
// held, and after the last ref went.
template <class Adder>
void weak_ref_follows_the_actors_memory(unsigned workers) {
  g_alive.store(0);
  g_total.store(0);
  std::mutex mu;
  std::vector<std::type_index> dead;
  troupe::runtime_config c = with_workers(workers);
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    std::lock_guard lock(mu);
    dead.emplace_back(d.message_type);
  };
  troupe::runtime rt(std::move(c));
  troupe::ref<Add, Sub> strong = rt.spawn<Adder>();
  const troupe::actor_id id = strong.id();
  const troupe::weak_ref<Add, Sub> weak = strong;
  const troupe::weak_ref<Sub> weak_sub = strong;  // narrowed from a ref
  const troupe::weak_ref<Add> weak_add = weak;    // narrowed from a weak_ref
  EXPECT_EQ(weak.id(), id);
  EXPECT_EQ(weak_add.id(), id);

  {  // running: lock() gives a ref that sends
    troupe::ref<Add, Sub> r = weak.lock();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(r, strong);
    r.send(Add{10});
    troupe::ref<Sub> s = weak_sub.lock();
    ASSERT_TRUE(static_cast<bool>(s));
    s.send(Sub{3});
    weak_add.lock().send(Add{100});
  }
  strong.close();
  strong.join();
  EXPECT_EQ(g_total.load(), 107);

  {  // stopped but held by `strong`: lock() still gives the ref; sends are dead letters
    troupe::ref<Add, Sub> r = weak.lock();
    ASSERT_TRUE(static_cast<bool>(r));
    EXPECT_TRUE(r.stopped());
    r.send(Sub{1});
    weak_add.lock().send(Add{1});
  }
  EXPECT_EQ(g_alive.load(), 1);
  // The last handle: the actor is freed, once the worker that stopped it has also dropped
  // its life reference (finish() does so just after `terminated`, which join() waits for).
  strong = {};
  troupe::test::wait_until("the actor's memory to be freed", [] { return g_alive.load() == 0; });
  EXPECT_FALSE(static_cast<bool>(weak.lock()));
  EXPECT_FALSE(static_cast<bool>(weak_sub.lock()));
  EXPECT_FALSE(static_cast<bool>(weak_add.lock()));
  EXPECT_EQ(weak.id(), id) << "the id stays, for logs and maps";

  // A new actor, maybe at the same address, is not reached through the old weak_ref.
  troupe::ref<Add, Sub> next = rt.spawn<Adder>();
  EXPECT_FALSE(static_cast<bool>(weak.lock()));
  next.close();
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(g_total.load(), 107);
  std::lock_guard lock(mu);
  EXPECT_EQ(dead, (std::vector<std::type_index>{typeid(Sub), typeid(Add)}));
}

class WeakRef : public ::testing::TestWithParam<unsigned> {};

TEST_P(WeakRef, AnEventActorIsReachableUntilItsMemoryIsGone) {
  weak_ref_follows_the_actors_memory<EventAdder>(GetParam());
}
TEST_P(WeakRef, ACoroutineActorIsReachableUntilItsMemoryIsGone) {
  weak_ref_follows_the_actors_memory<CoroAdder>(GetParam());
}
TEST_P(WeakRef, ABlockingActorIsReachableUntilItsMemoryIsGone) {
  weak_ref_follows_the_actors_memory<BlockingAdder>(GetParam());
}

TEST(WeakRef, AWeakRefKeepsNothingAlive) {
  g_alive.store(0);
  troupe::weak_ref<Add> weak;
  {
    troupe::runtime rt(with_workers(1));
    troupe::ref<Add, Sub> strong = rt.spawn<EventAdder>();
    weak = strong;
    rt.shutdown();  // the actor stopped; only `strong` holds it
    EXPECT_EQ(g_alive.load(), 1);
  }  // `strong` goes
  EXPECT_EQ(g_alive.load(), 0);
  EXPECT_FALSE(static_cast<bool>(weak.lock()));
}

TEST(WeakRef, EmptyWeakRefsLockToEmptyRefs) {
  troupe::weak_ref<Add> none;
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_EQ(none.id(), 0u);
  EXPECT_FALSE(static_cast<bool>(none.lock()));
  const troupe::ref<Add, Sub> empty;
  troupe::weak_ref<Add> from_empty = empty;
  EXPECT_FALSE(static_cast<bool>(from_empty));
  EXPECT_FALSE(static_cast<bool>(from_empty.lock()));
  EXPECT_EQ(from_empty, none);
}

TEST(WeakRef, WeakRefsToOneActorAreEqualAndHashAlike) {
  troupe::runtime rt(with_workers(1));
  troupe::ref<Add, Sub> a = rt.spawn<EventAdder>();
  troupe::ref<Add, Sub> b = rt.spawn<EventAdder>();
  troupe::weak_ref<Add, Sub> wa1 = a, wa2 = a, wb = b;
  EXPECT_EQ(wa1, wa2);
  EXPECT_FALSE(wa1 == wb);
  std::unordered_set<troupe::weak_ref<Add, Sub>> set{wa1, wa2, wb};
  EXPECT_EQ(set.size(), 2u);
  shutdown_and_expect_accounting(rt);
}

// ---- breaking a cycle (docs/guide.md, "Breaking reference cycles") ----------------------------

struct Say {
  int n;
};
struct Join {
  troupe::ref<Say> session;
};
struct Ack {};

std::atomic<int> g_rooms{0};
std::atomic<int> g_sessions{0};
std::atomic<int> g_heard{0};
std::atomic<int> g_acks{0};

// The room holds its sessions strongly; each session holds its room weakly, so nothing keeps
// a stopped room and its sessions alive once the room's handles are gone. (Were the session's
// handle a ref, each side would keep the other's memory forever: LeakSanitizer would report
// the lot at exit under the asan preset.)
struct Room : troupe::actor<Room, Join, Say, Ack> {
  Room() { g_rooms.fetch_add(1); }
  ~Room() override { g_rooms.fetch_sub(1); }
  void on(Join j) { members_.push_back(std::move(j.session)); }
  void on(Say s) {
    for (auto& m : members_) m.send(s);
  }
  void on(Ack) { g_acks.fetch_add(1); }
  std::vector<troupe::ref<Say>> members_;
};

struct Session : troupe::actor<Session, Say> {
  explicit Session(troupe::weak_ref<Ack> room) : room_(room) { g_sessions.fetch_add(1); }
  ~Session() override { g_sessions.fetch_sub(1); }
  void on(Say) {
    g_heard.fetch_add(1);
    if (troupe::ref<Ack> room = room_.lock()) room.send(Ack{});  // a ref while it lives
  }
  troupe::weak_ref<Ack> room_;
};

TEST(WeakRef, ARoomAndItsSessionsInACycleBrokenByWeakRefsAreAllFreed) {
  g_rooms.store(0);
  g_sessions.store(0);
  g_heard.store(0);
  g_acks.store(0);
  constexpr int sessions = 50;
  {
    troupe::runtime rt(with_workers(2));
    troupe::ref<Join, Say, Ack> room = rt.spawn<Room>();
    for (int i = 0; i < sessions; ++i) {
      room.send(Join{rt.spawn<Session>(troupe::weak_ref<Ack>(room))});
    }
    room.send(Say{1});
    shutdown_and_expect_accounting(rt);  // drains first: every Say and Ack is handled
    EXPECT_EQ(g_heard.load(), sessions);
    EXPECT_EQ(g_acks.load(), sessions) << "each session reached the room through lock()";
    EXPECT_EQ(g_rooms.load(), 1) << "held by `room`";
    EXPECT_EQ(g_sessions.load(), sessions) << "held by the room";
  }
  EXPECT_EQ(g_rooms.load(), 0) << "nothing keeps the room once its handle is gone";
  EXPECT_EQ(g_sessions.load(), 0) << "and its members went with it";
}

INSTANTIATE_TEST_SUITE_P(Workers, WeakRef, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
