// runtime/lockfree/ws_deque.hpp — bounded Chase–Lev work-stealing deque.
//
// Design: the owner pushes and takes at the bottom (LIFO, cache-hot); thieves steal from the
// top (FIFO, oldest first). The ring has a fixed power-of-two capacity: push() reports
// "full" instead of growing, and the scheduler then moves half of the ring to its shared
// injection queue (Tokio's overflow rule), so no buffer is ever retired under a thief's
// feet. Based on Lê, Pop, Cohen, Zappa Nardelli, "Correct and Efficient Work-Stealing for
// Weak Memory Models" (PPoPP 2013), with its seq_cst fences expressed as seq_cst
// operations on top_/bottom_ (ThreadSanitizer models those; it does not model fences).
//
// Roles: the owner (one thread: push, take, size) and thieves (any thread: steal); the
// sections below are headed by role. The owner may also steal from its own deque, e.g. to
// take its oldest item. In the runtime only the worker that owns the deque holds the
// object; other workers reach it through worker::steal(), which exposes steal() alone.
//
// Invariants:
//   INV-DEQUE-1  top_ only increases, and only by a successful CAS (steal, or take of the
//                last item); bottom_ is written by the owner only.
//   INV-DEQUE-2  Items live in slots [top_, bottom_); each is returned by exactly one
//                successful take() or steal().
//   INV-DEQUE-3  push() never overwrites a slot in [top_, bottom_): it refuses when
//                bottom_ - top_ >= capacity (top_ read with acquire, so a thief's read of
//                the slot precedes the owner's reuse of it).
//
// Guarantees: lock-free; steal() may fail spuriously (lost a race) — callers retry
// elsewhere. Not guaranteed: FIFO order between different thieves.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

template <class T>
class ws_deque {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(void*),
                "ws_deque holds pointer-sized trivially copyable items");

 public:
  explicit ws_deque(std::size_t capacity)
      : mask_(capacity - 1), slots_(std::make_unique<atomic<T>[]>(capacity)) {
    assert(capacity >= 2 && (capacity & (capacity - 1)) == 0);
  }

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // ---- owner only ----------------------------------------------------------------------

  /// Appends x at the bottom. Returns false (and changes nothing) when full.
  bool push(T x) noexcept {
    const std::int64_t b = bottom_.load(memory_order_relaxed);  // owner's own variable
    // acquire: pairs with the CAS in steal(); a slot is reused only after the thief that
    // took it has read it (INV-DEQUE-3).
    const std::int64_t t = top_.load(memory_order_acquire);
    if (b - t > static_cast<std::int64_t>(mask_)) return false;
    // relaxed: published by the release store of bottom_ below.
    slots_[b & mask_].store(x, memory_order_relaxed);
    // release: publishes the slot (and the actor it points to) to steal()'s acquire load.
    bottom_.store(b + 1, memory_order_release);
    return true;
  }

  /// Removes the bottom item (the newest). Returns false when empty.
  bool take(T& out) noexcept {
    const std::int64_t b = bottom_.load(memory_order_relaxed) - 1;
    // seq_cst store + seq_cst load of top_: the paper's full fence. Either a concurrent
    // thief sees the lowered bottom_, or we see its incremented top_ — never neither.
    bottom_.store(b, memory_order_seq_cst);
    std::int64_t t = top_.load(memory_order_seq_cst);
    if (t > b) {  // was empty
      bottom_.store(b + 1, memory_order_relaxed);
      return false;
    }
    out = slots_[b & mask_].load(memory_order_relaxed);
    if (t == b) {
      // Last item: race the thieves for it through top_ (INV-DEQUE-1).
      // seq_cst: totally ordered with the thieves' CAS on top_; relaxed on failure.
      const bool won =
          top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed);
      bottom_.store(b + 1, memory_order_relaxed);
      return won;
    }
    return true;
  }

  /// Items currently held (exact for the owner when no thief is active).
  std::size_t size() const noexcept {
    // relaxed/acquire: an estimate; a thief may be mid-steal.
    const std::int64_t b = bottom_.load(memory_order_relaxed);
    const std::int64_t t = top_.load(memory_order_acquire);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }

  // ---- any thread ----------------------------------------------------------------------

  /// Removes the top item (the oldest). Returns false when empty or on a lost race.
  bool steal(T& out) noexcept {
    // seq_cst loads of top_ then bottom_: the paper's fence between them (see take()).
    std::int64_t t = top_.load(memory_order_seq_cst);
    // seq_cst includes acquire: pairs with push()'s release store, making slot t visible.
    const std::int64_t b = bottom_.load(memory_order_seq_cst);
    if (t >= b) return false;
    // relaxed: the slot was published by the acquire above; the CAS decides ownership.
    T x = slots_[t & mask_].load(memory_order_relaxed);
    // seq_cst: one total order with take()'s CAS on the last item. Release on success
    // orders our read of the slot before the owner's reuse of it (its acquire of top_).
    if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) {
      return false;
    }
    out = x;
    return true;
  }

  /// True if the deque looks non-empty (for idle checks; may be stale).
  bool maybe_nonempty() const noexcept {
    // seq_cst: read in the parking protocol right after a seq_cst RMW (see idle.hpp).
    return bottom_.load(memory_order_seq_cst) > top_.load(memory_order_seq_cst);
  }

 private:
  alignas(cache_line) atomic<std::int64_t> top_{0};     // thieves CAS; owner CAS on last
  alignas(cache_line) atomic<std::int64_t> bottom_{0};  // owner writes; thieves read
  alignas(cache_line) const std::size_t mask_;
  std::unique_ptr<atomic<T>[]> slots_;
};

}  // namespace troupe::detail
