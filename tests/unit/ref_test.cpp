// troupe::ref<Msgs...>, the typed handle: empty handles, copy/move, comparison, ordering,
// hashing, the message types it accepts, its identity (id()), and that it keeps the actor's
// memory alive — also across threads and past the actor's stop and the runtime's end.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
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
struct Other {};

std::atomic<long> g_total{0};
std::atomic<int> g_destroyed{0};

struct Adder : troupe::actor<Adder, Add, Sub> {
  ~Adder() override { g_destroyed.fetch_add(1, std::memory_order_relaxed); }
  void on(Add a) { g_total.fetch_add(a.n, std::memory_order_relaxed); }
  void on(Sub s) { g_total.fetch_sub(s.n, std::memory_order_relaxed); }
};

using AdderRef = troupe::ref<Add, Sub>;

// ---- types ------------------------------------------------------------------------------------

static_assert(std::is_same_v<Adder::handle, AdderRef>, "spawn<T> returns T::handle = ref<Msgs...>");
static_assert(std::is_nothrow_default_constructible_v<AdderRef>);
static_assert(std::is_nothrow_copy_constructible_v<AdderRef>);
static_assert(std::is_nothrow_move_constructible_v<AdderRef>);
static_assert(std::is_nothrow_copy_assignable_v<AdderRef>);
static_assert(std::is_nothrow_move_assignable_v<AdderRef>);
static_assert(std::equality_comparable<AdderRef>);
static_assert(std::three_way_comparable<AdderRef, std::strong_ordering>);
static_assert(sizeof(AdderRef) == sizeof(void*), "a handle is one pointer: cheap to copy");
static_assert(!std::is_convertible_v<AdderRef, bool>, "operator bool is explicit");
// send() accepts each message type, as rvalue, lvalue and const lvalue...
static_assert(requires(const AdderRef r, Add a, const Sub s) {
  r.send(Add{1});
  r.send(a);
  r.send(s);
});
// ...and nothing else. The check for other types is a static_assert inside send() (for its
// readable message), so it is not visible to a requires-expression; that send(Other{}) and
// send(1) fail to compile was checked by hand with g++ -fsyntax-only:
//   "troupe::ref::send: the actor does not handle this message type ..."

// ---- empty handles ------------------------------------------------------------------------------

TEST(Ref, ADefaultConstructedRefIsEmpty) {
  const AdderRef r;
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.id(), 0u);
  EXPECT_EQ(r, AdderRef{});
  EXPECT_EQ(r <=> AdderRef{}, std::strong_ordering::equal);
  EXPECT_EQ(std::hash<AdderRef>{}(r), std::hash<AdderRef>{}(AdderRef{}));
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const troupe::error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception type: ") + e.what();
  } catch (...) {
    return "unexpected non-std exception";
  }
  return "no exception";
}

TEST(Ref, EveryOperationOnAnEmptyRefThrowsTroupeErrorNamingIt) {
  const AdderRef r;
  const std::string send = error_of([&] { r.send(Add{1}); });
  const std::string close = error_of([&] { r.close(); });
  const std::string join = error_of([&] { r.join(); });
  const std::string stopped = error_of([&] { (void)r.stopped(); });
  for (const auto& [what, op] : {std::pair{send, "send"}, std::pair{close, "close"},
                                 std::pair{join, "join"}, std::pair{stopped, "stopped"}}) {
    SCOPED_TRACE(op);
    EXPECT_EQ(what.rfind("troupe: ", 0), 0u) << what;
    EXPECT_NE(what.find(op), std::string::npos) << "message should name the operation: " << what;
    EXPECT_NE(what.find("empty"), std::string::npos) << "message should say why: " << what;
  }
  // A moved-from handle is empty too.
  troupe::runtime rt(with_workers(1));
  AdderRef a = rt.spawn<Adder>();
  AdderRef b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_NE(error_of([&] { a.send(Add{1}); }).find("troupe: "), std::string::npos);
  EXPECT_TRUE(static_cast<bool>(b));
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 0u) << "a throwing send must not count";
}

// ---- copy, move, compare, hash --------------------------------------------------------------

TEST(Ref, CopiesReferToTheSameActorAndMovesLeaveTheSourceEmpty) {
  g_total.store(0);
  troupe::runtime rt(with_workers(2));
  AdderRef a = rt.spawn<Adder>();
  ASSERT_TRUE(static_cast<bool>(a));
  EXPECT_NE(a.id(), 0u);
  AdderRef b = a;  // copy construction
  AdderRef c;
  c = b;  // copy assignment
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, c);
  EXPECT_EQ(a.id(), c.id());
  EXPECT_EQ(std::hash<AdderRef>{}(a), std::hash<AdderRef>{}(c));
  EXPECT_EQ(a <=> c, std::strong_ordering::equal);
  AdderRef d = std::move(c);           // move construction
  EXPECT_FALSE(static_cast<bool>(c));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(d, a);
  AdderRef e;
  e = std::move(d);                    // move assignment
  EXPECT_FALSE(static_cast<bool>(d));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(e, a);
  AdderRef& alias = e;
  e = alias;  // self-assignment keeps the handle
  EXPECT_EQ(e, a);
  a.send(Add{5});
  b.send(Add{6});
  e.send(Sub{1});
  e.close();
  a.join();
  EXPECT_TRUE(b.stopped());
  EXPECT_EQ(g_total.load(), 10);
  shutdown_and_expect_accounting(rt);
}

TEST(Ref, DistinctActorsCompareUnequalOrderConsistentlyAndWorkAsKeys) {
  troupe::runtime rt(with_workers(1));
  constexpr int n = 64;
  std::vector<AdderRef> refs;
  for (int i = 0; i < n; ++i) refs.push_back(rt.spawn<Adder>());
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const auto& x = refs[static_cast<std::size_t>(i)];
      const auto& y = refs[static_cast<std::size_t>(j)];
      if (i == j) {
        EXPECT_EQ(x, y);
        continue;
      }
      EXPECT_NE(x, y);
      EXPECT_NE(x.id(), y.id()) << "two live actors never share an id";
      // strong ordering: exactly one of x<y, y<x; antisymmetric with the reverse compare
      EXPECT_NE(x < y, y < x);
      EXPECT_EQ((x <=> y) == std::strong_ordering::less,
                (y <=> x) == std::strong_ordering::greater);
    }
  }
  std::set<AdderRef> ordered(refs.begin(), refs.end());
  std::unordered_set<AdderRef> hashed(refs.begin(), refs.end());
  std::map<AdderRef, int> mapped;
  std::unordered_map<troupe::actor_id, AdderRef> by_id;
  for (int i = 0; i < n; ++i) {
    mapped[refs[static_cast<std::size_t>(i)]] = i;
    by_id.emplace(refs[static_cast<std::size_t>(i)].id(), refs[static_cast<std::size_t>(i)]);
  }
  // inserting copies again adds nothing
  for (const auto& r : refs) {
    ordered.insert(r);
    hashed.insert(AdderRef(r));
  }
  EXPECT_EQ(ordered.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(hashed.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(mapped.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(by_id.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const AdderRef copy = refs[static_cast<std::size_t>(i)];
    EXPECT_EQ(mapped.at(copy), i);
    EXPECT_EQ(by_id.at(copy.id()), copy);
    EXPECT_EQ(hashed.count(copy), 1u);
    EXPECT_EQ(std::hash<AdderRef>{}(copy), std::hash<troupe::actor_id>{}(copy.id()));
  }
  shutdown_and_expect_accounting(rt);
}

// ---- identity --------------------------------------------------------------------------------

TEST(Ref, IdIsStableAndIsTheIdTheDeadLetterSinkReports) {
  std::vector<troupe::actor_id> receivers;  // callback runs on this thread or a worker
  std::atomic<int> callbacks{0};
  troupe::runtime_config c;
  c.workers = 2;
  std::mutex mu;
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    std::lock_guard lock(mu);
    receivers.push_back(d.receiver);
    callbacks.fetch_add(1);
  };
  troupe::runtime rt(std::move(c));
  AdderRef a = rt.spawn<Adder>();
  const troupe::actor_id id = a.id();
  a.send(Add{1});
  a.close();
  a.join();
  EXPECT_EQ(a.id(), id);
  a.send(Sub{1});
  a.send(Add{1});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(a.id(), id) << "stable for as long as any handle exists";
  std::lock_guard lock(mu);
  EXPECT_EQ(receivers, (std::vector<troupe::actor_id>{id, id}));
}

// ---- lifetime ------------------------------------------------------------------------------

TEST(Ref, ARefToAStoppedActorStillAcceptsSendsAsDeadLetters) {
  g_total.store(0);
  troupe::runtime rt(with_workers(2));
  AdderRef a = rt.spawn<Adder>();
  a.send(Add{3});
  a.close();
  a.join();
  for (int i = 0; i < 100; ++i) a.send(Add{1000});
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(g_total.load(), 3);
  EXPECT_EQ(rt.stats().dead_lettered, 100u);
}

TEST(Ref, RefsCopiedAndDroppedOnManyThreadsKeepTheActorUntilTheLastGoes) {
  g_total.store(0);
  g_destroyed.store(0);
  troupe::runtime rt(with_workers(2));
  AdderRef a = rt.spawn<Adder>();
  constexpr int threads = 4;
#if defined(__SANITIZE_THREAD__)
  constexpr int rounds = 5'000;
#else
  constexpr int rounds = 50'000;
#endif
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([a] {
      std::vector<AdderRef> held;
      for (int i = 0; i < rounds; ++i) {
        AdderRef copy = a;
        if (i % 64 == 0) copy.send(Add{1});
        held.push_back(std::move(copy));
        if (held.size() == 16) held.clear();
      }
    });
  }
  for (auto& t : ts) t.join();
  a.close();
  a.join();
  EXPECT_EQ(g_destroyed.load(), 0);
  EXPECT_EQ(g_total.load(), long{threads} * ((rounds + 63) / 64));
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(g_destroyed.load(), 0) << "`a` is still held";
  a = {};
  EXPECT_EQ(g_destroyed.load(), 1);
}

// Ids are never reused, even when an actor's memory is: a spawner on one worker spawns and
// closes a child per message, so each child stops and is freed on that worker before the next
// spawn there takes a block from the same thread cache of the actor pool.
struct Spawned {
  std::vector<troupe::actor_id> ids;
  std::set<std::uintptr_t> addresses;
  std::size_t spawns = 0;
};
struct Go {};
struct Child : troupe::actor<Child, Go> {
  explicit Child(Spawned* s) { s->addresses.insert(reinterpret_cast<std::uintptr_t>(this)); }
  void on(Go) {}
};
struct Spawner : troupe::actor<Spawner, Go> {
  explicit Spawner(Spawned* s) : s_(s) {}
  void on(Go) {
    troupe::ref<Go> c = spawn<Child>(s_);
    s_->ids.push_back(c.id());
    ++s_->spawns;
    c.close();  // it stops in a later turn of this worker, which then frees it
  }
  Spawned* s_;  // touched only by the handlers of the one worker
};

TEST(Ref, IdsOfSpawnedAndFreedActorsNeverRepeatEvenWhenTheirMemoryIsReused) {
  constexpr std::size_t n = 5000;
  Spawned s;
  troupe::actor_id spawner_id = 0;
  {
    troupe::runtime rt(with_workers(1));
    auto sp = rt.spawn<Spawner>(&s);
    spawner_id = sp.id();
    for (std::size_t i = 0; i < n; ++i) sp.send(Go{});
    sp.close();
    sp.join();
    rt.shutdown();
  }
  ASSERT_EQ(s.spawns, n);
  std::set<troupe::actor_id> unique(s.ids.begin(), s.ids.end());
  EXPECT_EQ(unique.size(), n) << "an id was handed out twice";
  EXPECT_EQ(unique.count(0), 0u) << "0 is the empty ref's id, never an actor's";
  EXPECT_EQ(unique.count(spawner_id), 0u);
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine keeps freed blocks from being reused
  EXPECT_LT(s.addresses.size(), n / 2) << "the children's memory was expected to be reused";
#endif
}

TEST(Ref, IdsTakenOnManyThreadsAtOnceNeverRepeat) {
  constexpr int threads = 4;
  constexpr int per_thread = 3000;  // several per-thread blocks of ids each
  troupe::runtime rt(with_workers(2));
  std::vector<std::vector<troupe::actor_id>> ids(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&rt, &mine = ids[static_cast<std::size_t>(t)]] {
      for (int i = 0; i < per_thread; ++i) {
        AdderRef a = rt.spawn<Adder>();
        mine.push_back(a.id());
        a.close();
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<troupe::actor_id> unique;
  for (const auto& v : ids) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), std::size_t{threads} * per_thread);
  shutdown_and_expect_accounting(rt);
}

TEST(Ref, ARefMayOutliveItsRuntimeAndStillSendsCloseJoinsAndIsFreed) {
  g_total.store(0);
  g_destroyed.store(0);
  AdderRef a;
  {
    troupe::runtime rt(with_workers(2));
    a = rt.spawn<Adder>();
    a.send(Add{2});
  }
  EXPECT_TRUE(a.stopped());
  EXPECT_EQ(g_total.load(), 2);
  a.send(Add{40});  // a dead letter; the runtime's counters are gone, nothing may crash
  a.close();
  a.join();
  EXPECT_EQ(g_total.load(), 2);
  EXPECT_EQ(g_destroyed.load(), 0);
  a = {};
  EXPECT_EQ(g_destroyed.load(), 1);
}

}  // namespace
