// Stress: a runtime's name table (runtime/actor/name_table.hpp, INV-NAME-1 and INV-NAME-2)
// under many threads at once. Run it under TSan and ASan.
//
//   * Threads (and handlers, on the workers) register, look up and unregister a small set of
//     names while the actors they name stop (close, kill, failure) and their last refs are
//     dropped, so actors are freed while lookups run: a lookup that reached a freed actor is
//     a use-after-free for ASan. A lookup for a type no actor handles must always be empty.
//     After the last phase, which stops every actor and never unregisters, no name may be
//     left (lookup empty and unregister_name() false for each).
//   * register_name() racing with the actor's stop, round after round: after join() the
//     table holds no entry for the name (unregister_name() returns false).
//   * lookup() spinning on a name while its actor stops and its last ref is dropped: every
//     ref it gets is the round's actor, and the actor is destroyed exactly once.
//
// Random choices derive from one seed (printed on failure, settable with
// TROUPE_TEST_SEED=<n>). Scaled down under the sanitizers.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::seed_trace;
using troupe::test::shutdown_and_expect_accounting;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kIterations = 400;  // per thread and phase
constexpr int kRaceRounds = 400;
constexpr int kReleaseRounds = 150;
#else
constexpr int kIterations = 4'000;
constexpr int kRaceRounds = 3'000;
constexpr int kReleaseRounds = 1'500;
#endif
constexpr int kThreads = 4;
constexpr std::size_t kNames = 16;

const std::array<std::string, kNames>& names() {
  static const std::array<std::string, kNames> all = [] {
    std::array<std::string, kNames> a;
    for (std::size_t i = 0; i < kNames; ++i) a[i] = "name-" + std::to_string(i);
    return a;
  }();
  return all;
}

struct Add {
  long n;
};
struct Sub {
  long n;
};
struct Mul {  // no actor handles it
  long n;
};
struct Boom {};
struct Probe {  // a handler's turn: look a name up, send to it, take another name
  std::size_t look;
  std::size_t take;
};

std::atomic<int> g_alive{0};
std::atomic<int> g_destroyed{0};
std::atomic<bool> g_typecheck_broken{false};  // a lookup<Mul> found something

struct Calc : troupe::actor<Calc, Add, Sub, Probe, Boom> {
  Calc() { g_alive.fetch_add(1); }
  ~Calc() override {
    g_alive.fetch_sub(1);
    g_destroyed.fetch_add(1);
  }
  void on(Add a) { total += a.n; }
  void on(Sub s) { total -= s.n; }
  void on(Probe p) {
    if (auto r = lookup<Sub, Add>(names()[p.look])) r->send(Sub{1});
    if (lookup<Mul>(names()[p.look])) g_typecheck_broken.store(true);
    (void)register_name(names()[p.take], self());
  }
  void on(Boom) { throw std::runtime_error("boom"); }
  long total = 0;
};
using calc_ref = troupe::ref<Add, Sub, Probe, Boom>;

troupe::runtime_config quiet() {
  troupe::runtime_config c = troupe::test::with_workers(2);
  c.on_failure = [](const troupe::failure&) {};  // Boom is expected
  return c;
}

// One thread's part of a phase. `unregisters`: whether it may unregister names too.
void churn(troupe::runtime& rt, std::uint64_t seed, bool unregisters) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng] { return static_cast<std::size_t>(rng() % kNames); };
  std::vector<calc_ref> held;  // a few actors outlive their iteration, stopped later
  for (int i = 0; i < kIterations; ++i) {
    calc_ref c = rt.spawn<Calc>();
    if (rng() % 2 == 0) (void)rt.register_name(names()[pick()], c);
    switch (rng() % 4) {  // look up with various lists: exact, subsets, reordered
      case 0:
        if (auto r = rt.lookup<Add>(names()[pick()])) r->send(Add{1});
        break;
      case 1:
        if (auto r = rt.lookup<Sub, Add>(names()[pick()])) r->send(Sub{1});
        break;
      case 2:
        if (auto r = rt.lookup<Add, Sub, Probe, Boom>(names()[pick()])) r->send(Add{2});
        break;
      default:
        if (rt.lookup<Mul>(names()[pick()])) g_typecheck_broken.store(true);
        break;
    }
    if (rng() % 4 == 0) c.send(Probe{pick(), pick()});
    if (unregisters && rng() % 8 == 0) (void)rt.unregister_name(names()[pick()]);
    switch (rng() % 4) {
      case 0:
        c.close();
        break;
      case 1:
        c.kill();
        break;
      case 2:
        c.send(Boom{});
        break;
      default:
        held.push_back(c);  // still running; stopped below, or by shutdown
        break;
    }
    if (held.size() > 8) {
      held.front().close();
      held.erase(held.begin());
    }
  }  // `c` is dropped each iteration: actors are freed while others look names up
  if (unregisters) {
    for (auto& h : held) h.kill();
  }
}

TEST(NamesStress, ManyThreadsRegisterLookUpUnregisterWhileActorsStop) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  g_alive.store(0);
  g_destroyed.store(0);
  g_typecheck_broken.store(false);
  {
    troupe::runtime rt(quiet());
    for (int phase = 0; phase < 2; ++phase) {
      const bool unregisters = phase == 0;  // the last phase never unregisters
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back(churn, std::ref(rt),
                             mix(seed + static_cast<std::uint64_t>(phase) * kThreads +
                                 static_cast<std::uint64_t>(t)),
                             unregisters);
      }
      for (auto& th : threads) th.join();
    }
    shutdown_and_expect_accounting(rt);
    // Every actor has stopped: every name must be gone, not merely hidden from lookup().
    for (const std::string& n : names()) {
      EXPECT_FALSE(rt.lookup<Add>(n).has_value()) << n;
      EXPECT_FALSE(rt.unregister_name(n)) << "a name outlived its actor: " << n;
    }
  }
  EXPECT_FALSE(g_typecheck_broken.load()) << "lookup<Mul> found an actor that does not handle Mul";
  EXPECT_EQ(g_alive.load(), 0) << "a name kept an actor alive";
}

// register_name() on one thread, the stop on another, started together.
TEST(NamesStress, RegisterRacingTheStopNeverLeavesAnEntry) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  troupe::runtime rt(quiet());
  int won = 0;  // registrations that came before the stop
  for (int round = 0; round < kRaceRounds && !::testing::Test::HasFailure(); ++round) {
    calc_ref c = rt.spawn<Calc>();
    const std::uint64_t spin = rng() % 500;
    const std::uint64_t how = rng() % 3;
    std::atomic<bool> go{false};
    bool ok = false;
    std::thread namer([&] {
      while (!go.load(std::memory_order_acquire)) {
      }
      for (std::uint64_t s = spin; s != 0; --s) {
        std::atomic_signal_fence(std::memory_order_seq_cst);  // keep the spin
      }
      ok = rt.register_name("racer", c);
    });
    go.store(true, std::memory_order_release);
    if (how == 0) c.close();
    if (how == 1) c.kill();
    if (how == 2) c.send(Boom{});
    namer.join();
    c.join();
    won += ok ? 1 : 0;
    ASSERT_FALSE(rt.lookup<Add>("racer").has_value()) << "round " << round;
    ASSERT_FALSE(rt.unregister_name("racer")) << "a stale entry after join, round " << round;
  }
  RecordProperty("registered_before_stop", won);
  shutdown_and_expect_accounting(rt);
}

// lookup() spinning while the named actor stops and its last ref goes (INV-NAME-1).
TEST(NamesStress, LookupRacingTheLastReleaseNeverReachesAFreedActor) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  std::mt19937_64 rng(seed);
  g_destroyed.store(0);
  troupe::runtime rt(quiet());
  for (int round = 0; round < kReleaseRounds && !::testing::Test::HasFailure(); ++round) {
    calc_ref c = rt.spawn<Calc>();
    const troupe::actor_id id = c.id();
    ASSERT_TRUE(rt.register_name("target", c));
    std::atomic<bool> go{false};
    std::atomic<bool> done{false};
    bool wrong_actor = false;
    std::thread looker([&] {
      while (!go.load(std::memory_order_acquire)) {
      }
      while (!done.load(std::memory_order_acquire)) {
        if (auto r = rt.lookup<Add>("target")) {
          if (r->id() != id) wrong_actor = true;
          r->send(Add{1});  // handled or a dead letter, whichever the stop allows
        }                   // this release may be the actor's last
      }
    });
    const int before = g_destroyed.load();
    go.store(true, std::memory_order_release);
    for (std::uint64_t spin = rng() % 2'000; spin != 0; --spin) {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // keep the spin
    }
    if (rng() % 2 == 0) {
      c.kill();
    } else {
      c.close();
    }
    c = {};  // maybe the last ref, maybe not
    troupe::test::wait_until("the named actor's destruction",
                             [&] { return g_destroyed.load() == before + 1; });
    done.store(true, std::memory_order_release);
    looker.join();
    EXPECT_FALSE(wrong_actor) << "round " << round;
    EXPECT_FALSE(rt.lookup<Add>("target").has_value()) << "round " << round;
    EXPECT_FALSE(rt.unregister_name("target")) << "round " << round;
  }
  shutdown_and_expect_accounting(rt);
}

}  // namespace
