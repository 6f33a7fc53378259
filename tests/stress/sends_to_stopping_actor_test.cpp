// Stress: threads that keep sending to an actor while it is closed, joined, shut down or has
// its runtime destroyed never hold those calls up, and a send to a stopped actor costs a
// bounded amount (it dead-letters its own message, never a stream of other threads').
//
// Each test runs sender threads in tight loops against one receiver of each kind (event,
// coroutine, blocking). Once the receiver is closed and the call under test (join(),
// shutdown(), ~runtime) has returned, every sender must still make kAfterStop more sends —
// so a send that were to drain other senders' messages would keep every sender going, and
// nothing would end. The test's own watchdog bounds each call (kBound, wide on purpose: the
// calls take milliseconds; a broken runtime takes forever) and stops the senders if it
// fires, so a regression fails with a message instead of hanging.
//
// What is checked: the call returned within kBound; no single send() took kBound; each
// sender's messages were handled as a gap-free prefix in order (per-sender FIFO, exactly
// once), the rest dead-lettered; sent == handled + dead_lettered.
//
// Every random choice derives from one seed (printed on failure, settable with
// TROUPE_TEST_SEED=<n>). Scaled down under the sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::seed_trace;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSenders = 4;
constexpr int kAfterStop = 2'000;
constexpr int kRounds = 2;
#else
constexpr int kSenders = 8;
constexpr int kAfterStop = 20'000;
constexpr int kRounds = 4;
#endif
constexpr auto kBound = 60s;

struct Msg {
  std::uint32_t sender;
  std::uint32_t seq;
};

// What the receiver saw: per sender, the next sequence number expected.
struct Ledger {
  explicit Ledger(int senders) : next(static_cast<std::size_t>(senders)) {}
  std::vector<std::uint32_t> next;  // receiver only (turns are ordered)
  std::atomic<std::uint64_t> out_of_order{0};
  std::atomic<std::uint64_t> handled{0};
  void take(const Msg& m) {
    if (next[m.sender] != m.seq) out_of_order.fetch_add(1, std::memory_order_relaxed);
    next[m.sender] = m.seq + 1;
    handled.fetch_add(1, std::memory_order_relaxed);
  }
};

struct EventReceiver : troupe::actor<EventReceiver, Msg> {
  explicit EventReceiver(Ledger* l) : l_(l) {}
  void on(Msg m) { l_->take(m); }
  Ledger* l_;
};

struct CoroReceiver : troupe::coro_actor<CoroReceiver, Msg> {
  explicit CoroReceiver(Ledger* l) : l_(l) {}
  task run() {
    for (;;) {
      const Msg m = co_await recv();
      l_->take(m);
    }
  }
  Ledger* l_;
};

struct BlockingReceiver : troupe::blocking_actor<BlockingReceiver, Msg> {
  explicit BlockingReceiver(Ledger* l) : l_(l) {}
  void run() {
    for (;;) l_->take(recv());
  }
  Ledger* l_;
};

// Calls `fn` on another thread after `bound` unless disarmed first.
class watchdog {
 public:
  watchdog(clock_type::duration bound, std::function<void()> fn)
      : thread_([this, bound, fn = std::move(fn)] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, bound, [this] { return disarmed_; })) {
            fired_ = true;
            lock.unlock();
            fn();
          }
        }) {}
  ~watchdog() {
    disarm();
    thread_.join();
  }
  void disarm() {
    std::lock_guard lock(mu_);
    disarmed_ = true;
    cv_.notify_all();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// The sender threads of one round.
class senders {
 public:
  template <class Ref>
  senders(const Ref& target, int n, std::uint64_t seed) : sent_(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, target, i, seed] { run(target, i, seed); });
    }
  }
  ~senders() { stop_and_join(); }

  /// Waits until every sender has sent at least `n` messages.
  void wait_sent(std::uint64_t n) {
    for (auto& s : sent_) {
      while (s.load(std::memory_order_acquire) < n) std::this_thread::yield();
    }
  }
  /// From now on each sender counts its sends; once all have made kAfterStop, they stop.
  void call_returned() { after_.store(true, std::memory_order_release); }
  void stop() { stop_.store(true, std::memory_order_release); }
  void stop_and_join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::uint64_t total_sent() const {
    std::uint64_t t = 0;
    for (const auto& s : sent_) t += s.load(std::memory_order_acquire);
    return t;
  }
  clock_type::duration longest_send() const { return clock_type::duration(longest_.load()); }

 private:
  template <class Ref>
  void run(const Ref& target, int index, std::uint64_t seed) {
    std::mt19937_64 rng(mix(seed + static_cast<std::uint64_t>(index)));
    auto& sent = sent_[static_cast<std::size_t>(index)];
    std::uint32_t seq = 0;
    int after = 0;
    bool counted = false;
    while (!stop_.load(std::memory_order_acquire)) {
      const auto t0 = clock_type::now();
      target.send(Msg{static_cast<std::uint32_t>(index), seq++});
      const auto took = (clock_type::now() - t0).count();
      long long prev = longest_.load(std::memory_order_relaxed);
      while (took > prev && !longest_.compare_exchange_weak(prev, took)) {
      }
      sent.store(seq, std::memory_order_release);
      if (!counted && after_.load(std::memory_order_acquire) && ++after >= kAfterStop) {
        counted = true;
        if (done_.fetch_add(1) + 1 == static_cast<int>(sent_.size())) stop();
      }
      if ((rng() & 1023) == 0) std::this_thread::yield();  // vary the interleavings
    }
  }

  std::vector<std::atomic<std::uint64_t>> sent_;
  std::atomic<bool> after_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> done_{0};
  std::atomic<long long> longest_{0};
  std::vector<std::thread> threads_;
};

enum class ending { close_and_join, shutdown, destroy_runtime };

const char* name_of(ending e) {
  switch (e) {
    case ending::close_and_join:
      return "close()+join()";
    case ending::shutdown:
      return "shutdown()";
    case ending::destroy_runtime:
      return "~runtime";
  }
  return "?";
}

template <class Receiver>
void hammer_while_ending(ending how, std::chrono::nanoseconds dead_letter_cost) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", ending by " + name_of(how));
    auto dead = std::make_shared<std::atomic<std::uint64_t>>(0);
    troupe::runtime_config cfg = troupe::test::with_workers(2);
    cfg.on_dead_letter = [dead, dead_letter_cost](const troupe::dead_letter&) {
      dead->fetch_add(1, std::memory_order_relaxed);
      if (dead_letter_cost.count() != 0) {  // a callback that does some work per letter
        const auto until = clock_type::now() + dead_letter_cost;
        while (clock_type::now() < until) {
        }
      }
    };
    auto rt = std::make_unique<troupe::runtime>(cfg);
    Ledger ledger(kSenders);
    auto target = rt->spawn<Receiver>(&ledger);
    troupe::runtime_stats stats{};
    {
      senders s(target, kSenders, mix(seed + static_cast<std::uint64_t>(round)));
      s.wait_sent(1'000);
      watchdog dog(kBound, [&s] { s.stop(); });  // lets a hung call finish, then we fail
      const auto t0 = clock_type::now();
      switch (how) {
        case ending::close_and_join:
          target.close();
          target.join();
          break;
        case ending::shutdown:
          rt->shutdown();
          break;
        case ending::destroy_runtime:
          rt.reset();
          break;
      }
      const auto took = clock_type::now() - t0;
      s.call_returned();
      s.stop_and_join();
      dog.disarm();
      EXPECT_FALSE(dog.fired()) << name_of(how) << " did not return within "
                                << std::chrono::duration_cast<std::chrono::seconds>(kBound).count()
                                << " s while other threads kept sending";
      EXPECT_LT(took, kBound) << name_of(how) << " is held up by the senders";
      EXPECT_LT(s.longest_send(), kBound)
          << "a send() to a stopped actor ran for "
          << std::chrono::duration_cast<std::chrono::milliseconds>(s.longest_send()).count()
          << " ms: it drained other threads' messages";
      EXPECT_TRUE(target.stopped());
      if (rt) {
        rt->shutdown();
        stats = rt->stats();
      }
      const std::uint64_t sent = s.total_sent();
      EXPECT_EQ(ledger.out_of_order.load(), 0u) << "per-sender order broken";
      EXPECT_EQ(sent, ledger.handled.load() + dead->load())
          << "sent=" << sent << " handled=" << ledger.handled.load() << " dead=" << dead->load();
      if (rt) {
        EXPECT_EQ(stats.sent, stats.handled + stats.dead_lettered);
        EXPECT_EQ(stats.sent, sent);
        EXPECT_EQ(stats.dead_lettered, dead->load());
      }
    }
  }
}

template <class Receiver>
class SendsToStoppingActor : public ::testing::Test {};
using Kinds = ::testing::Types<EventReceiver, CoroReceiver, BlockingReceiver>;
class KindNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, EventReceiver>) return "event";
    if constexpr (std::is_same_v<T, CoroReceiver>) return "coroutine";
    return "blocking";
  }
};
TYPED_TEST_SUITE(SendsToStoppingActor, Kinds, KindNames);

TYPED_TEST(SendsToStoppingActor, CloseAndJoinReturnWhileOtherThreadsKeepSending) {
  hammer_while_ending<TypeParam>(ending::close_and_join, 0ns);
}

TYPED_TEST(SendsToStoppingActor, JoinReturnsWhenEveryDeadLetterCostsAMicrosecond) {
  hammer_while_ending<TypeParam>(ending::close_and_join, 1us);
}

TYPED_TEST(SendsToStoppingActor, ShutdownReturnsWhileOtherThreadsKeepSending) {
  hammer_while_ending<TypeParam>(ending::shutdown, 0ns);
}

TYPED_TEST(SendsToStoppingActor, RuntimeDestructorReturnsWhileOtherThreadsKeepSending) {
  hammer_while_ending<TypeParam>(ending::destroy_runtime, 0ns);
}

}  // namespace
