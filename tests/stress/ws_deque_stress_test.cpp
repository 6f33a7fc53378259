// Concurrent stress test of the bounded Chase–Lev deque (runtime/lockfree/ws_deque.hpp):
// one owner pushes and takes at the bottom in a random mix (filling the ring until push()
// reports full, then refilling), while 1..3 thieves steal from the top. Items are the
// integers 0..N-1, each pushed once; a per-item counter checks that every item is returned
// by exactly one successful take() or steal() (INV-DEQUE-2), never garbage or a stale slot
// (INV-DEQUE-3), and that nothing is lost when the owner finally drains the deque.
// A second test lets the owner steal from its own deque as well, concurrently with thieves
// (the scheduler does that to take its oldest item).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "lockfree/ws_deque.hpp"

namespace troupe::detail {
namespace {

using item = std::uintptr_t;

#if defined(__SANITIZE_THREAD__)
constexpr std::size_t items_per_run = 150'000;
constexpr int rounds = 2;
#else
constexpr std::size_t items_per_run = 400'000;
constexpr int rounds = 5;
#endif

// Every random choice comes from one seed, printed on failure; TROUPE_TEST_SEED replays it.
std::uint32_t test_seed() {
  if (const char* env = std::getenv("TROUPE_TEST_SEED")) {
    return static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10));
  }
  return std::random_device{}();
}

class harness {
 public:
  harness(std::size_t capacity, int thieves, bool owner_steals, std::uint32_t seed)
      : deque_(capacity),
        thieves_(thieves),
        owner_steals_(owner_steals),
        seed_(seed),
        counts_(std::make_unique<std::atomic<std::uint8_t>[]>(items_per_run)),
        payload_(items_per_run, 0) {}

  void run() {
    std::vector<std::thread> threads;
    for (int i = 0; i < thieves_; ++i) threads.emplace_back([this, i] { thief(i); });
    owner();
    done_.store(true, std::memory_order_release);
    for (std::thread& t : threads) t.join();
  }

  void check_final_state() {
    // INV-DEQUE-2: every item was returned by exactly one successful take() or steal().
    std::size_t missing = 0;
    std::size_t first_missing = items_per_run;
    for (std::size_t i = 0; i < items_per_run; ++i) {
      const std::uint8_t c = counts_[i].load(std::memory_order_relaxed);
      if (c == 0 && missing++ == 0) first_missing = i;
      EXPECT_LE(c, 1) << "item " << i << " returned " << int{c} << " times";
    }
    EXPECT_EQ(missing, 0u) << "items lost, the first one is " << first_missing;
    EXPECT_EQ(taken_ + stolen_.load(), items_per_run);
    EXPECT_EQ(deque_.size(), 0u);
    item x = 0;
    EXPECT_FALSE(deque_.steal(x));
  }

  bool failed() const { return failed_.load(); }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(error_mutex_);
    return first_error_;
  }
  std::uint64_t fulls() const { return fulls_; }
  std::uint64_t stolen() const { return stolen_.load(); }

 private:
  void fail(const std::string& what) {
    // Only on the failure path: adds no synchronisation to a passing run.
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!failed_.exchange(true)) first_error_ = what;
  }

  static std::uint64_t stamp(item x) { return x * 0x9e3779b97f4a7c15u + 1; }

  // Counts one return of x; `who` is -1 for the owner's take, else the stealer.
  void record(item x, int who) {
    if (x >= items_per_run) {
      std::ostringstream os;
      os << (who < 0 ? "take" : "steal") << " returned garbage " << x;
      fail(os.str());
      return;
    }
    if (payload_[x] != stamp(x)) {
      std::ostringstream os;
      os << "item " << x << ": its payload is not visible to the " << (who < 0 ? "owner" : "thief");
      fail(os.str());
    }
    if (counts_[x].fetch_add(1, std::memory_order_relaxed) != 0) {
      std::ostringstream os;
      os << "item " << x << " returned twice (second time by "
         << (who < 0 ? std::string("take") : "stealer " + std::to_string(who)) << ")";
      fail(os.str());
    }
  }

  // One thread's successive steals return increasing items: the deque always holds items
  // in push order from top to bottom, new pushes are larger than anything held, and top_
  // only moves up (INV-DEQUE-1). A decrease means a stale slot or a top_ going backwards.
  void check_steal_order(item x, item& last, int who) {
    if (last != none && x <= last) {
      std::ostringstream os;
      os << "stealer " << who << " got " << x << " after " << last;
      fail(os.str());
    }
    last = x;
  }

  void owner() {
    std::mt19937 rng(seed_);
    const std::size_t cap = deque_.capacity();
    item next = 0;  // next item to push
    item last_steal = none;
    auto take_one = [&] {
      item x = 0;
      if (deque_.take(x)) {
        record(x, -1);
        ++taken_;
        return true;
      }
      return false;
    };
    auto steal_one = [&] {
      item x = 0;
      if (deque_.steal(x)) {
        record(x, thieves_);
        check_steal_order(x, last_steal, thieves_);
        stolen_.fetch_add(1, std::memory_order_relaxed);
      }
    };
    while (next < items_per_run && !failed()) {
      switch (rng() % 4) {
        case 0:  // fill until the ring reports full (or the items run out)
          while (next < items_per_run) {
            payload_[next] = stamp(next);
            if (!deque_.push(next)) {
              ++fulls_;
              break;
            }
            ++next;
          }
          break;
        case 1: {  // take a random number of items
          for (std::size_t k = 1 + rng() % cap; k > 0; --k) {
            if (!take_one()) break;
          }
          break;
        }
        default: {  // random mix of single operations
          for (int k = 1 + static_cast<int>(rng() % 32); k > 0 && next < items_per_run; --k) {
            const std::uint32_t r = rng() % 8;
            if (r < 4) {
              payload_[next] = stamp(next);
              if (deque_.push(next)) {
                ++next;
              } else {
                ++fulls_;
                take_one();  // refill after full: make room, the next push goes through
              }
            } else if (r < 7 || !owner_steals_) {
              take_one();
            } else {
              steal_one();
            }
          }
          break;
        }
      }
      if (rng() % 16 == 0) std::this_thread::yield();
    }
    // Final drain: take() fails only when the deque is empty (or a thief won the last
    // item, which also leaves it empty); no more pushes, so it stays empty.
    while (take_one()) {
    }
  }

  void thief(int id) {
    std::mt19937 rng(seed_ ^ (0x9e3779b9u * static_cast<std::uint32_t>(id + 1)));
    item last = none;
    unsigned misses = 0;
    for (;;) {
      // Read done_ before stealing: once it is set the owner has drained, so a failing
      // steal after that means the deque is empty for good.
      const bool finished = done_.load(std::memory_order_acquire);
      item x = 0;
      if (deque_.steal(x)) {
        record(x, id);
        check_steal_order(x, last, id);
        stolen_.fetch_add(1, std::memory_order_relaxed);
        if (rng() % 64 == 0) std::this_thread::yield();
        continue;
      }
      if (finished || failed()) return;
      // Two cores, up to four threads: do not starve the owner while the deque is empty.
      if (++misses % 16 == 0) {
        std::this_thread::yield();
      } else {
        cpu_relax();
      }
    }
  }

  static constexpr item none = ~item{0};

  ws_deque<item> deque_;
  const int thieves_;
  const bool owner_steals_;
  const std::uint32_t seed_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> counts_;
  // Plain memory the owner writes before pushing item x and the taker reads after getting
  // it: the stand-in for the actor an item points to. Under TSan, a push() that does not
  // publish its slot with release (or a steal() that does not acquire it) is a data race.
  std::vector<std::uint64_t> payload_;
  std::atomic<bool> done_{false};
  std::uint64_t taken_ = 0;  // owner only
  std::uint64_t fulls_ = 0;  // owner only
  std::atomic<std::uint64_t> stolen_{0};
  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::string first_error_;
};

// (capacity, thieves)
class WsDequeStress : public testing::TestWithParam<std::tuple<std::size_t, int>> {
 protected:
  void run(bool owner_steals) {
    const auto [capacity, thieves] = GetParam();
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(testing::Message()
                 << "seed=" << seed << " (replay: TROUPE_TEST_SEED=" << seed << ")");
    for (int round = 0; round < rounds; ++round) {
      SCOPED_TRACE(testing::Message() << "round=" << round);
      harness h(capacity, thieves, owner_steals, seed + static_cast<std::uint32_t>(round));
      h.run();
      ASSERT_FALSE(h.failed()) << h.first_error();
      h.check_final_state();
      if (HasFailure()) return;
      // How often push() reported full and how much was stolen; for the XML report.
      RecordProperty("push_full_round_" + std::to_string(round), std::to_string(h.fulls()));
      RecordProperty("stolen_round_" + std::to_string(round), std::to_string(h.stolen()));
    }
  }
};

TEST_P(WsDequeStress, EveryItemIsReturnedExactlyOnceAndNothingIsLost) { run(false); }

TEST_P(WsDequeStress, EveryItemIsReturnedExactlyOnceWhenTheOwnerAlsoSteals) { run(true); }

INSTANTIATE_TEST_SUITE_P(CapacityAndThieves, WsDequeStress,
                         testing::Combine(testing::Values(std::size_t{4}, std::size_t{256}),
                                          testing::Values(1, 2, 3)),
                         [](const testing::TestParamInfo<WsDequeStress::ParamType>& info) {
                           return "Capacity" + std::to_string(std::get<0>(info.param)) + "With" +
                                  std::to_string(std::get<1>(info.param)) + "Thieves";
                         });

}  // namespace
}  // namespace troupe::detail
