// runtime/timer/timing_wheel.hpp — the timer service's index of pending timers: a
// hierarchical timing wheel with O(1) insert and remove.
//
// Design: time is counted in ticks of tick_ns (1 ms) from the service's epoch. Level L has
// 64 slots of 64^L ticks each, so 6 levels span 64^6 ticks (about 2.2 years); each slot is a
// doubly-linked FIFO list threaded through the nodes themselves (timer_node's hook), and each
// level keeps a 64-bit occupancy mask. A timer due at tick d, inserted while the wheel stands
// at tick e ("elapsed"), goes to the level of the highest base-64 digit in which d and e
// differ, in the slot named by d's digit at that level (the scheme of the Linux kernel's and
// Tokio's wheels). Why a wheel and not a heap or the ordered map it replaced: insert and
// remove are O(1) with no allocation beyond the node itself (a million pending ask()
// timeouts, nearly all cancelled, cost a few pointer writes each), and the next due tick is
// found from the six masks with count-trailing-zeros, so the thread sleeps straight to the
// next non-empty slot instead of ticking through empty ones. The price: deadlines are rounded
// up to the next tick (never early, up to 1 ms late), and a timer far away is re-linked once
// per level on its way down (at most 5 times: amortised O(1)).
//
// Who calls what: everything, under the timer service's lock; the wheel has no atomics and
// no thread of its own.
//
// Invariants (INV-WHEEL-*), checked by tests/unit/timing_wheel_test.cpp:
//   INV-WHEEL-1  A node is in exactly one list — a slot (level_ < levels) or the due list
//                (level_ == due_level) — from insert() until remove() or pop_due() takes it.
//   INV-WHEEL-2  A node in a level-L slot is due at or after that slot's start, and no
//                earlier than the start of every occupied slot of a lower level: so the
//                earliest occupied slot over all levels starts at or before the earliest
//                due tick, and the wheel never fires late by more than a tick plus the wake-up.
//   INV-WHEEL-3  elapsed_ only grows, and only to the start of the earliest occupied slot
//                (advance()), so no occupied slot is ever stepped over.
//   INV-WHEEL-4  A node is handed out by pop_due() only once its due tick <= elapsed_ (never
//                early); within one tick, in the order the nodes were inserted.
//   INV-WHEEL-5  A slot's occupancy bit is set iff its list is non-empty.
#pragma once

#include <bit>
#include <cassert>
#include <cstdint>
#include <limits>
#include <optional>

#include "troupe/detail/timer_node.hpp"

namespace troupe::detail {

class timing_wheel {
 public:
  using tick = std::uint64_t;
  static constexpr std::int64_t tick_ns = 1'000'000;  // 1 ms
  static constexpr unsigned slot_bits = 6;
  static constexpr unsigned slots = 1u << slot_bits;  // 64: one occupancy word per level
  static constexpr unsigned levels = 6;
  static constexpr tick span = tick{1} << (slot_bits * levels);  // ticks the levels cover
  static constexpr std::uint8_t due_level = 0xff;                // level_ of a node in the due list
  static constexpr unsigned wake_scan_limit = 8;                 // see next_wake()

  timing_wheel() = default;
  timing_wheel(const timing_wheel&) = delete;
  timing_wheel& operator=(const timing_wheel&) = delete;

  /// The first tick at or after `due_ns` (ns since the epoch; never early).
  static tick tick_of(std::int64_t due_ns) noexcept {
    if (due_ns <= 0) return 0;
    return static_cast<tick>(due_ns / tick_ns) + (due_ns % tick_ns != 0 ? 1 : 0);
  }

  /// Links `n` (not linked) by its due_. A node already due goes to the due list.
  void insert(timer_node* n) noexcept {
    const tick d = tick_of(n->due_);
    if (d <= elapsed_) {
      push_back(due_, n, due_level, 0);
      return;
    }
    // Beyond the span: park it in the farthest slot; it is re-examined there (INV-WHEEL-2).
    const tick target = d - elapsed_ < span ? d : elapsed_ + span - 1;
    unsigned level =
        static_cast<unsigned>(std::bit_width((target ^ elapsed_) | (slots - 1)) - 1) / slot_bits;
    if (level >= levels) level = levels - 1;  // crossing the top digit: the top level
    const unsigned slot = static_cast<unsigned>(target >> (level * slot_bits)) & (slots - 1);
    push_back(wheel_[level][slot], n, static_cast<std::uint8_t>(level),
              static_cast<std::uint8_t>(slot));
    occupied_[level] |= std::uint64_t{1} << slot;
  }

  /// Unlinks `n` (linked by insert()): O(1).
  void remove(timer_node* n) noexcept {
    if (n->level_ == due_level) {
      unlink(due_, n);
      return;
    }
    list& l = wheel_[n->level_][n->slot_];
    unlink(l, n);
    if (l.head == nullptr) occupied_[n->level_] &= ~(std::uint64_t{1} << n->slot_);  // INV-WHEEL-5
  }

  /// The next node due at or before tick `now`, unlinked; null if none. Advances elapsed_
  /// through the occupied slots up to `now`, re-linking (cascading) what is not yet due.
  timer_node* pop_due(tick now) noexcept {
    for (;;) {
      if (timer_node* n = due_.head) {
        unlink(due_, n);
        return n;
      }
      const std::optional<tick> next = next_slot_start();
      if (!next || *next > now) return nullptr;
      advance(*next);
    }
  }

  /// The tick at which pop_due() may next return a node; elapsed_ if some node is already
  /// due; nullopt if the wheel is empty. The service sleeps until then. Usually the start of
  /// the earliest occupied slot; but if that slot is above level 0 and holds at most
  /// wake_scan_limit nodes, the earliest due tick among them, so that a sparse wheel (one
  /// periodic timer) wakes once per delivery, not once more per cascade. Safe because every
  /// node of the earliest slot is due before that slot ends (unless parked from beyond the
  /// span: then the start is used), and every other occupied slot starts at or after that
  /// end (INV-WHEEL-2).
  std::optional<tick> next_wake() const noexcept {
    if (due_.head != nullptr) return elapsed_;
    tick start = 0;
    unsigned level = 0;
    unsigned slot = 0;
    if (!earliest_slot(start, level, slot)) return std::nullopt;
    if (level == 0) return start;
    tick earliest = std::numeric_limits<tick>::max();
    unsigned scanned = 0;
    for (const timer_node* n = wheel_[level][slot].head; n != nullptr; n = n->next_) {
      if (++scanned > wake_scan_limit) return start;
      const tick d = tick_of(n->due_);
      if (d < earliest) earliest = d;
    }
    // A node due after the slot's end was parked there from beyond the span: only the slot's
    // start is safe then (it is re-examined there).
    if (earliest >= start + slot_ticks(level)) return start;
    return earliest > start ? earliest : start;
  }

  /// Unlinks and returns every node as one chain through next_ (for stop()).
  timer_node* take_all() noexcept {
    timer_node* chain = nullptr;
    auto take = [&chain](list& l) {
      while (timer_node* n = l.head) {
        l.head = n->next_;
        n->prev_ = nullptr;
        n->next_ = chain;
        chain = n;
      }
      l.tail = nullptr;
    };
    take(due_);
    for (unsigned level = 0; level < levels; ++level) {
      for (unsigned s = 0; s < slots; ++s) take(wheel_[level][s]);
      occupied_[level] = 0;
    }
    return chain;
  }

  tick elapsed() const noexcept { return elapsed_; }

 private:
  struct list {
    timer_node* head = nullptr;
    timer_node* tail = nullptr;
  };

  static void push_back(list& l, timer_node* n, std::uint8_t level, std::uint8_t slot) noexcept {
    n->level_ = level;
    n->slot_ = slot;
    n->next_ = nullptr;
    n->prev_ = l.tail;
    if (l.tail != nullptr) {
      l.tail->next_ = n;
    } else {
      l.head = n;
    }
    l.tail = n;
  }

  static void unlink(list& l, timer_node* n) noexcept {
    (n->prev_ != nullptr ? n->prev_->next_ : l.head) = n->next_;
    (n->next_ != nullptr ? n->next_->prev_ : l.tail) = n->prev_;
    n->prev_ = n->next_ = nullptr;
  }

  static constexpr tick slot_ticks(unsigned level) noexcept {
    return tick{1} << (level * slot_bits);
  }

  // The start of the earliest occupied slot over all levels. At each level the candidates
  // are the slots after the one elapsed_ is in, in ring order; the first occupied one, k
  // slots ahead (1..64; 64 is the current slot one round later, which only the top level's
  // parked far timers can use), starts k slot widths after the current slot's start.
  std::optional<tick> next_slot_start() const noexcept {
    tick start = 0;
    unsigned level = 0;
    unsigned slot = 0;
    if (!earliest_slot(start, level, slot)) return std::nullopt;
    return start;
  }

  bool earliest_slot(tick& best_start, unsigned& best_level, unsigned& best_slot) const noexcept {
    bool found = false;
    for (unsigned level = 0; level < levels; ++level) {
      const std::uint64_t mask = occupied_[level];
      if (mask == 0) continue;
      const unsigned current = static_cast<unsigned>(elapsed_ >> (level * slot_bits)) & (slots - 1);
      // Rotate so that bit 0 is the slot after `current`.
      const std::uint64_t ahead = std::rotr(mask, static_cast<int>((current + 1) % slots));
      const unsigned k = static_cast<unsigned>(std::countr_zero(ahead)) + 1;  // 1..64
      const tick start = (elapsed_ & ~(slot_ticks(level) - 1)) + k * slot_ticks(level);
      if (!found || start < best_start) {
        found = true;
        best_start = start;
        best_level = level;
        best_slot = (current + k) % slots;
      }
    }
    return found;
  }

  // Moves the wheel to tick `to` (the start of the earliest occupied slot, INV-WHEEL-3) and
  // empties the slots starting there: due nodes to the due list, the rest one level down.
  void advance(tick to) noexcept {
    assert(to > elapsed_);
    elapsed_ = to;
    // From the top down: a node linked higher was inserted earlier than one due at the same
    // tick linked lower, so the due list keeps insertion order (INV-WHEEL-4).
    for (unsigned level = levels; level-- > 0;) {
      const unsigned slot = static_cast<unsigned>(to >> (level * slot_bits)) & (slots - 1);
      if ((occupied_[level] & (std::uint64_t{1} << slot)) == 0) continue;
      if ((to & (slot_ticks(level) - 1)) != 0) continue;  // this slot started earlier
      list l = wheel_[level][slot];
      wheel_[level][slot] = list{};
      occupied_[level] &= ~(std::uint64_t{1} << slot);
      // In list order, so equal ticks keep their insertion order (INV-WHEEL-4).
      for (timer_node* n = l.head; n != nullptr;) {
        timer_node* next = n->next_;
        insert(n);  // due now: the due list; else a lower level (or parked again at the top)
        n = next;
      }
    }
  }

  list wheel_[levels][slots];
  std::uint64_t occupied_[levels] = {};
  list due_;
  tick elapsed_ = 0;
};

}  // namespace troupe::detail
