// Races of timed waits in coroutine and blocking actors: recv_for() and sleep_for() timers
// firing around sends, and close() or kill() arriving at any point of a wait. Checks that
// every message is received exactly once and in send order (a timeout never loses one), that
// a timer which fires after its wait has ended (too late to cancel) never ends a later wait
// (a recv_for(1h) that must get a message), that close and kill always stop the actor
// (join returns: a watchdog), that no timer is left pending once the actor has stopped, and
// that sent == handled + dead_lettered. Every random choice comes from one base seed
// (printed on failure; rerun with TROUPE_TEST_SEED=<n>). Scaled down under the sanitizers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "sched/runtime_core.hpp"
#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::returns_within;
using troupe::test::seed_trace;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;

#if defined(__SANITIZE_THREAD__)
constexpr int kMessages = 600;
constexpr int kRounds = 40;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kMessages = 2'000;
constexpr int kRounds = 150;
#else
constexpr int kMessages = 4'000;
constexpr int kRounds = 400;
#endif

template <class Ref>
std::size_t pending_timers(const Ref& r) {
  auto* a = troupe::detail::ref_access::actor_of(r, "pending_timers");
  return a->core()->timers().pending();
}

// What an actor saw; written by the actor, read by the test after join() (or atomically).
struct Log {
  std::atomic<int> received{0};      // messages received so far
  std::atomic<int> out_of_order{0};  // a message that was not the next one sent
  std::atomic<int> stale{0};         // a recv_for(1h) that yielded std::nullopt
  std::atomic<int> timeouts{0};
};

// The next wait, chosen by the actor's seed. After an even message its odd partner is on its
// way: recv_for(1h) must get it, whatever timer fired around the previous wait.
enum class wait_kind { recv, recv_for_short, recv_for_zero, sleep_short, recv_for_long };

wait_kind next_wait(std::mt19937_64& rng, int last) {
  if (last >= 0 && last % 2 == 0) return wait_kind::recv_for_long;
  // Sleeps are rare: each lasts at least until the timer thread's next 1 ms tick, and an
  // actor that falls behind the sender always finds a message and never times out.
  switch (rng() % 16) {
    case 0:
    case 1:
      return wait_kind::recv;
    case 2:
    case 3:
      return wait_kind::recv_for_zero;
    case 4:
      return wait_kind::sleep_short;
    default:
      return wait_kind::recv_for_short;
  }
}

// The same range as the sender's pauses, so that deadlines and sends often coincide.
std::chrono::microseconds short_time(std::mt19937_64& rng) {
  return std::chrono::microseconds(rng() % 1'000);
}

// Records one outcome; returns the message, or -1.
int note(Log& log, const std::optional<int>& m, wait_kind k) {
  if (!m) {
    if (k == wait_kind::recv_for_long) log.stale.fetch_add(1);
    log.timeouts.fetch_add(1);
    return -1;
  }
  // relaxed: only this actor writes `received`; the test reads it to know when to stop.
  const int want = log.received.load(std::memory_order_relaxed);
  if (*m != want) log.out_of_order.fetch_add(1);
  log.received.store(want + 1);
  return *m;
}

struct CoroMixed : troupe::coro_actor<CoroMixed, int> {
  CoroMixed(Log* log, std::uint64_t seed) : log_(log), rng_(seed) {}
  task run() {
    int last = -1;
    for (;;) {
      const wait_kind k = next_wait(rng_, last);
      std::optional<int> m;
      switch (k) {
        case wait_kind::recv:
          m = co_await recv();
          break;
        case wait_kind::recv_for_zero:
          m = co_await recv_for(0ms);
          break;
        case wait_kind::recv_for_short:
          m = co_await recv_for(short_time(rng_));
          break;
        case wait_kind::recv_for_long:
          m = co_await recv_for(1h);
          break;
        case wait_kind::sleep_short:
          co_await sleep_for(short_time(rng_));
          m = co_await recv_for(0ms);  // what came during the sleep, if anything
          break;
      }
      last = note(*log_, m, k);
    }
  }
  Log* log_;
  std::mt19937_64 rng_;
};

struct BlockingMixed : troupe::blocking_actor<BlockingMixed, int> {
  BlockingMixed(Log* log, std::uint64_t seed) : log_(log), rng_(seed) {}
  void run() {
    int last = -1;
    for (;;) {
      const wait_kind k = next_wait(rng_, last);
      std::optional<int> m;
      switch (k) {
        case wait_kind::recv:
          m = recv();
          break;
        case wait_kind::recv_for_zero:
          m = recv_for(0ms);
          break;
        case wait_kind::recv_for_short:
          m = recv_for(short_time(rng_));
          break;
        case wait_kind::recv_for_long:
          m = recv_for(1h);
          break;
        case wait_kind::sleep_short:
          sleep_for(short_time(rng_));
          m = recv_for(0ms);
          break;
      }
      last = note(*log_, m, k);
    }
  }
  Log* log_;
  std::mt19937_64 rng_;
};

// Sends 0, 1, 2, ... (read by the actor as pairs 2k, 2k+1), pausing up to 1 ms after half
// of them, so that sends land before, at and after the actor's short deadlines.
template <class Ref>
void send_with_jitter(Ref& a, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    a.send(i);
    if (rng() % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1'000));
  }
}

template <class Actor>
class TimedWaitRace : public ::testing::Test {};
using Kinds = ::testing::Types<CoroMixed, BlockingMixed>;
class KindNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, CoroMixed> ? "coroutine" : "blocking";
  }
};
TYPED_TEST_SUITE(TimedWaitRace, Kinds, KindNames);

TYPED_TEST(TimedWaitRace, TimeoutsAndSleepsAroundSendsLoseNothingAndNeverEndALaterWaitEarly) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  for (unsigned workers : {1u, 2u}) {
    troupe::runtime rt(with_workers(workers));
    Log log;
    auto a = rt.spawn<TypeParam>(&log, mix(seed + workers));
    std::thread sender([&] { send_with_jitter(a, kMessages, mix(seed ^ workers)); });
    sender.join();
    wait_until(
        "every message received", [&] { return log.received.load() == kMessages; },
        std::chrono::seconds(120));
    a.close();
    returns_within("join", [&] { a.join(); });
    EXPECT_EQ(log.received.load(), kMessages);
    EXPECT_EQ(log.out_of_order.load(), 0);
    EXPECT_EQ(log.stale.load(), 0) << "a late timer ended a recv_for(1h)";
    EXPECT_GT(log.timeouts.load(), 0) << "no wait timed out: the race was not exercised";
    EXPECT_EQ(pending_timers(a), 0u) << "a timer outlived its wait";
    shutdown_and_expect_accounting(rt);
    EXPECT_EQ(rt.stats().handled, static_cast<std::uint64_t>(kMessages));
  }
}

TYPED_TEST(TimedWaitRace, CloseOrKillAtAnyPointOfAWaitStopsTheActorAndLeavesNoTimer) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t s = mix(seed + static_cast<std::uint64_t>(round));
    SCOPED_TRACE("round " + std::to_string(round));
    std::mt19937_64 rng(s);
    const bool kill = rng() % 2 == 0;
    const int to_send = static_cast<int>(rng() % 200);
    const auto stop_after = std::chrono::microseconds(rng() % 2'000);
    troupe::runtime rt(with_workers(1 + static_cast<unsigned>(rng() % 2)));
    Log log;
    auto a = rt.spawn<TypeParam>(&log, mix(s));
    std::thread sender([&] { send_with_jitter(a, to_send, mix(s + 1)); });
    std::this_thread::sleep_for(stop_after);
    if (kill) {
      a.kill();
    } else {
      a.close();
    }
    returns_within(kill ? "join after kill" : "join after close", [&] { a.join(); });
    sender.join();
    EXPECT_EQ(log.out_of_order.load(), 0);
    EXPECT_EQ(log.stale.load(), 0);
    EXPECT_EQ(pending_timers(a), 0u) << "a timer outlived the actor";
    shutdown_and_expect_accounting(rt);
    if (::testing::Test::HasFailure()) return;
  }
}

// kill() a moment (0-50 µs, spinning) behind a send, so that it lands while the actor is in
// the middle of the turn that send started — possibly after its wait checked for a kill and
// before it parks again. It must still stop: join() returns.
TYPED_TEST(TimedWaitRace, KillRightBehindASendStopsAnActorAboutToParkAgain) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  for (int round = 0; round < kRounds * 5; ++round) {
    const std::uint64_t s = mix(seed + static_cast<std::uint64_t>(round));
    SCOPED_TRACE("round " + std::to_string(round));
    std::mt19937_64 rng(s);
    troupe::runtime rt(with_workers(1 + static_cast<unsigned>(rng() % 2)));
    Log log;
    auto a = rt.spawn<TypeParam>(&log, mix(s));
    const int to_send = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < to_send; ++i) a.send(i);
    const auto spin_until =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(rng() % 50'000);
    while (std::chrono::steady_clock::now() < spin_until) {
    }
    a.kill();
    returns_within("join after kill", [&] { a.join(); });
    EXPECT_EQ(log.out_of_order.load(), 0);
    EXPECT_EQ(pending_timers(a), 0u) << "a timer outlived the actor";
    shutdown_and_expect_accounting(rt);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
