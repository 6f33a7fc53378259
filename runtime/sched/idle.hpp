// runtime/sched/idle.hpp — who is searching, who is asleep, and how a sleeper is woken.
//
// Protocol (after Tokio's idle/searching rules):
//   * A worker with no local work becomes *searching* (steals, polls the injection queue,
//     spins). When a searching worker finds work it stops searching; if it was the last
//     searcher and someone sleeps, it wakes one, so parallelism follows the work one worker
//     at a time — never a thundering herd.
//   * A producer that made work visible wakes one sleeper only if nobody is searching: a
//     searcher will find the work (or see it in its re-check before sleeping, below).
//   * A searching worker goes to sleep in three steps: announce (parked[i] = 1, then one RMW
//     turning searching−1 into sleeping+1), re-check every queue, then wait on parked[i]
//     (a futex, sync/futex.hpp) until a waker swaps it to 0 and wakes the futex. Work found
//     in the re-check cancels the sleep.
//
// Invariants:
//   INV-IDLE-1  state_ packs (sleeping << 32 | searching). Every transition is one RMW; a
//               woken worker is moved from sleeping to searching by its waker, in the same
//               RMW sense, so counts never underflow.
//   INV-IDLE-2  parked[i] goes 0→1 only by worker i, 1→0 by exactly one exchange (a waker,
//               the worker cancelling, or shutdown); whoever swaps it owns the count fix-up.
//   INV-IDLE-3  (no lost wake-up) A strict producer publishes its work, then does an RMW on
//               state_; a worker going to sleep does its announce RMW, then re-checks the
//               queues. RMWs on one atomic are totally ordered, and each reads the latest
//               value: either the producer's RMW comes first — the worker's RMW reads its
//               release sequence, so the re-check sees the work — or the worker's comes
//               first and the producer sees sleeping > 0 (and parked[i] == 1) and wakes it.
//               Workers publishing to their own deque use notify_relaxed(): their work is
//               never lost (the owner runs it), only parallelism may lag by one turn, and
//               each worker re-offers stealable work after every turn.
//
// How long a searcher spins before it announces sleep is spin_policy's decision (below).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "sync/futex.hpp"
#include "troupe/detail/sync.hpp"

namespace troupe::detail {

/// How many rounds of stealing a searching worker makes before it goes to sleep: the
/// configured runtime_config::spin_rounds while spinning pays, fewer while it does not.
/// One per worker, owner thread only (no atomics).
///
/// A spin pays when work turns up during it, and is pure cost when the worker sleeps
/// anyway: with the default 32 rounds it is about 1,700 PAUSEs (about 50 µs on the
/// machine of docs/benchmarks.md) before every sleep — a runtime idle but for one 10 ms
/// timer spent as much CPU spinning after each tick as its timer thread spent firing it.
/// The sleep that follows a spin tells which case the worker is in:
///   * woken within `long_sleep` (1 ms, twenty full spins): work comes in short gaps, the
///     kind a spin catches without the futex wait and wake of a sleep — spin in full again;
///   * asleep longer: the spin before it was wasted — halve the next one, down to none.
/// A search that finds work restores the full spin too. So work arriving faster than
/// every millisecond is searched for exactly as before, and a worker woken only by
/// sparse events (timer ticks, a rare outside send) parks at once after a few of them.
class spin_policy {
 public:
  explicit spin_policy(unsigned max_rounds) noexcept : max_(max_rounds), rounds_(max_rounds) {}

  unsigned rounds() const noexcept { return rounds_; }
  /// The search found work.
  void found_work() noexcept { rounds_ = max_; }
  /// Around the worker's sleep.
  void going_to_sleep() noexcept { slept_at_ = clock::now(); }
  void woke_up() noexcept { rounds_ = clock::now() - slept_at_ < long_sleep ? max_ : rounds_ / 2; }

 private:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds long_sleep{1};
  const unsigned max_;
  unsigned rounds_;
  clock::time_point slept_at_{};
};

class idle_protocol {
 public:
  explicit idle_protocol(unsigned workers)
      : n_(workers), parked_(std::make_unique<parked_word[]>(workers)) {}

  // ---- producers ------------------------------------------------------------------------
  /// After publishing work from outside the pool (INV-IDLE-3, strict side).
  void notify_strict() noexcept {
    // seq_cst RMW (reads the latest value): the store-load barrier of INV-IDLE-3. A plain
    // load could read a stale "nobody sleeps".
    const std::uint64_t s = state_.fetch_or(0, memory_order_seq_cst);
    if (searching(s) == 0 && sleeping(s) != 0) wake_one();
  }
  /// After a worker published stealable work: best effort, no barrier (INV-IDLE-3).
  void notify_relaxed() noexcept {
    // relaxed: a stale read only delays parallelism; the work itself is never lost.
    const std::uint64_t s = state_.load(memory_order_relaxed);
    if (searching(s) == 0 && sleeping(s) != 0) wake_one();
  }

  // ---- worker i -------------------------------------------------------------------------
  void start_searching() noexcept {
    // relaxed would do for the count; seq_cst keeps every state_ RMW in one order with the
    // producers' (INV-IDLE-3 reasons about that order only).
    state_.fetch_add(1, memory_order_seq_cst);
  }
  /// Searching → running. Wakes another sleeper if we were the last searcher.
  void stop_searching() noexcept {
    const std::uint64_t s = state_.fetch_sub(1, memory_order_seq_cst);
    if (searching(s) == 1 && sleeping(s) != 0) wake_one();
  }
  /// Searching → announced sleeper. The caller must re-check every queue next.
  void announce_sleep(unsigned i) noexcept {
    // relaxed: published by the seq_cst (release) RMW below, which a waker's RMW reads.
    parked_[i].word.store(1, memory_order_relaxed);
    state_.fetch_add(one_sleeper - 1, memory_order_seq_cst);
  }
  /// The re-check found work: back to searching (unless a waker already did that for us).
  void cancel_sleep(unsigned i) noexcept {
    // acq_rel: decides, against wakers' exchanges, who fixes the counts (INV-IDLE-2).
    if (parked_[i].word.exchange(0, memory_order_acq_rel) == 1) {
      state_.fetch_sub(one_sleeper - 1, memory_order_seq_cst);
    }
  }
  /// Sleeps until woken. Returns as a searcher (the waker moved the count).
  void sleep(unsigned i) noexcept {
    // acquire: pairs with the waker's exchange, so what it published before waking us is
    // visible (the queues are re-read after this anyway).
    while (parked_[i].word.load(memory_order_acquire) == 1) futex_wait(parked_[i].word, 1);
  }
  /// Shutdown: wake everyone (counts no longer matter).
  void wake_all() noexcept {
    state_.fetch_or(0, memory_order_seq_cst);  // see INV-IDLE-3; pairs with announce_sleep
    for (unsigned i = 0; i < n_; ++i) {
      parked_[i].word.exchange(0, memory_order_acq_rel);
      futex_wake_one(parked_[i].word);
    }
  }

 private:
  static constexpr std::uint64_t one_sleeper = std::uint64_t{1} << 32;
  static std::uint32_t searching(std::uint64_t s) noexcept { return static_cast<std::uint32_t>(s); }
  static std::uint32_t sleeping(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s >> 32);
  }

  void wake_one() noexcept {
    // relaxed: only spreads wake-ups over workers.
    const unsigned start = next_.fetch_add(1, memory_order_relaxed);
    for (unsigned k = 0; k < n_; ++k) {
      auto& w = parked_[(start + k) % n_].word;
      // relaxed pre-check avoids an RMW on workers that are awake; the exchange decides.
      if (w.load(memory_order_relaxed) == 1 && w.exchange(0, memory_order_acq_rel) == 1) {
        state_.fetch_sub(one_sleeper - 1, memory_order_seq_cst);  // sleeping−1, searching+1
        futex_wake_one(w);
        return;
      }
    }
  }

  struct alignas(cache_line) parked_word {
    atomic<std::uint32_t> word{0};
  };

  const unsigned n_;
  alignas(cache_line) atomic<std::uint64_t> state_{0};
  atomic<unsigned> next_{0};
  std::unique_ptr<parked_word[]> parked_;
};

}  // namespace troupe::detail
