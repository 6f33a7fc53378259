// troupe/detail/bounded_mailbox.hpp — what a bounded actor adds to its mailbox: a count of
// queued messages, its capacity, and the senders waiting for room. Installed because spawn()
// builds bounded actors from the public templates; not API (see troupe/bounded.hpp).
//
// A bounded actor is an actor of type T spawned as bounded_actor<T>, a final class that adds
// one bounded_state and sets the actor's `bounded` state bit before it is registered. An
// unbounded actor has neither, and its send and dispatch paths test only bits of words they
// load anyway (docs/architecture.md, "Bounded mailboxes").
//
// Fields:
//   sent      messages sent through the bounded path: a sender increments it (send(): after
//             the fact, try_send()/send_for(): by a CAS that reserves a place below the
//             capacity).
//   taken     messages the consumer has taken, as it last published them; taken_count, its
//             exact count, which only it writes. Queued = sent − taken. It may exceed the
//             capacity: a send from inside the pool never blocks, and timer and runtime
//             sends (downs, exit signals) never wait.
//   waiters   a lock-free LIFO list of the senders waiting for room: muted actors (event
//             and coroutine actors after their turn, a blocking actor parked in send()) and
//             outside threads blocked in send() or send_for().
//   muted     set while this actor is itself parked on another actor's mailbox: a sender
//             never waits for an actor that is waiting (that is how cycles stay live).
//
// Invariants:
//   INV-BOUND-1  A waiter is woken exactly once: by whoever takes the whole list with one
//                exchange (wake_all()) — the consumer, when it publishes a count that leaves
//                at most low_water queued; the actor's finish(), once it has stopped; or the
//                registering sender itself, when its recheck finds room or a stop.
//   INV-BOUND-2  No wake-up is lost. A registering sender pushes its waiter, then (after a
//                seq_cst fence) reads `sent`, `taken` and the state word; the consumer
//                publishes `taken` (a seq_cst store), then reads `waiters` (seq_cst); finish() sets
//                `stopped`, then (after a seq_cst fence) exchanges `waiters`. In the single
//                total order of these operations one side sees the other: the sender sees
//                room or the stop and wakes the list itself, or the consumer or finish()
//                finds its waiter.
//   INV-BOUND-3  No cycle of waits. An actor about to wait sets its own `muted` (seq_cst),
//                then reads the receiver's; if the receiver is muted it does not wait. Of
//                the actors in a would-be cycle, the last to set its flag sees the next
//                one's flag set and backs off. A bounded actor whose own mailbox is over
//                its capacity never waits either (it must drain for its own senders).
//   INV-BOUND-4  The consumer publishes `taken` every publish_every takes, and
//                publish_every <= low_water + 1. So a consumer that has taken everything and
//                goes idle published last when at most publish_every - 1 <= low_water were
//                queued, and woke the waiters then; a waiter registering later reads at most
//                that many in its recheck and wakes itself. No waiter waits on an idle actor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

class actor_base;

/// A sender waiting for room in a bounded mailbox (see INV-BOUND-1).
struct room_waiter {
  room_waiter* next = nullptr;
  /// Wakes the sender and releases the list's hold on the node (which may free it).
  void (*wake)(room_waiter* self) noexcept = nullptr;
};

class bounded_state {
 public:
  explicit bounded_state(std::size_t capacity) noexcept
      : capacity_(static_cast<std::int64_t>(capacity == 0 ? 1 : capacity)),
        low_water_(capacity_ / 2),
        publish_every_(low_water_ + 1 < 32 ? low_water_ + 1 : 32) {}
  bounded_state(const bounded_state&) = delete;
  bounded_state& operator=(const bounded_state&) = delete;
  ~bounded_state();

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(capacity_); }

  /// Approximate: messages queued and not yet taken (sends and takes in flight race with it).
  std::size_t queued() const noexcept {
    // relaxed (both): a snapshot for metrics and policies; nothing is read through it.
    const std::int64_t q =
        sent_.load(memory_order_relaxed) - taken_count_.load(memory_order_relaxed);
    return q < 0 ? 0 : static_cast<std::size_t>(q);
  }
  /// One more message queued, unconditionally; returns how many are queued now, as far as
  /// the consumer has published its takes (an overestimate by less than publish_every_).
  std::int64_t add_one() noexcept {
    // relaxed (all): counts only; the message itself is published by the mailbox push.
    const std::int64_t s = sent_.fetch_add(1, memory_order_relaxed) + 1;
    const std::int64_t q = s - taken_.load(memory_order_relaxed);
    // Over capacity as published: look at the consumer's exact count before throttling
    // (its line is read only near the capacity).
    return q <= capacity_ ? q : s - taken_count_.load(memory_order_relaxed);
  }
  /// Reserves a place if fewer than capacity() are queued (try_send(), send_for()).
  bool try_reserve() noexcept {
    // relaxed (all): counts only, as add_one().
    std::int64_t s = sent_.load(memory_order_relaxed);
    while (s - taken_.load(memory_order_relaxed) < capacity_ ||
           s - taken_count_.load(memory_order_relaxed) < capacity_) {
      if (sent_.compare_exchange_weak(s, s + 1, memory_order_relaxed, memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  /// Gives back a place taken by add_one() or try_reserve() for a message never pushed.
  void unreserve() noexcept {
    // seq_cst: as publish()'s store, INV-BOUND-2 (fewer queued may let a waiter go).
    sent_.fetch_sub(1, memory_order_seq_cst);
    if (waiters_.load(memory_order_seq_cst) != nullptr) wake_all();  // seq_cst: INV-BOUND-2
  }
  /// Consumer: one message taken. Every publish_every_ takes, publishes the count and wakes
  /// the waiters if at most low_water are queued (INV-BOUND-4).
  void taken_one() noexcept {
    // relaxed: only the consumer writes it; other threads read it for queued() only.
    const std::int64_t t = taken_count_.load(memory_order_relaxed) + 1;
    taken_count_.store(t, memory_order_relaxed);
    if (t - taken_.load(memory_order_relaxed) >= publish_every_) publish(t);
  }
  /// Is there room for a waiter to stop waiting (INV-BOUND-2's recheck)? `for_thread`: a
  /// thread waits to reserve a place (room below capacity); an actor waits for low water.
  bool has_room(bool for_thread) const noexcept {
    const std::int64_t room = for_thread ? capacity_ - 1 : low_water_;
    // seq_cst (both): INV-BOUND-2 — after the registering sender's push and fence. The
    // published count is what no wake-up is lost against; the exact one (relaxed: a hint)
    // only spares a wait the consumer has not published the end of yet.
    const std::int64_t s = sent_.load(memory_order_seq_cst);
    return s - taken_.load(memory_order_seq_cst) <= room ||
           s - taken_count_.load(memory_order_relaxed) <= room;
  }
  /// Consumer: over capacity, so a send of this actor must not wait (INV-BOUND-3).
  bool over_capacity() const noexcept {
    // relaxed (both): the consumer's own count, and a hint of the senders'.
    return sent_.load(memory_order_relaxed) - taken_count_.load(memory_order_relaxed) > capacity_;
  }

  /// Pushes `w` onto the waiter list (INV-BOUND-2: the caller then rechecks).
  void add_waiter(room_waiter* w) noexcept {
    // relaxed: only a first guess for the CAS below.
    room_waiter* top = waiters_.load(memory_order_relaxed);
    do {
      w->next = top;
      // seq_cst: INV-BOUND-2 (and release: publishes *w to wake_all()'s exchange).
      // relaxed on failure: we retry with the value read.
    } while (!waiters_.compare_exchange_weak(top, w, memory_order_seq_cst, memory_order_relaxed));
  }
  /// Takes the whole waiter list and wakes every waiter on it (INV-BOUND-1).
  void wake_all() noexcept;

  /// INV-BOUND-3: this actor is about to wait for room; false if it must not (`other`, the
  /// receiver, is itself waiting). Clear with unmute() when the wait ends.
  static bool mute_unless_waiting(bounded_state* self, const bounded_state& other) noexcept {
    // seq_cst (both): INV-BOUND-3 — our flag before our read of theirs, in the total order.
    if (self != nullptr) self->muted_.store(true, memory_order_seq_cst);
    if (other.muted_.load(memory_order_seq_cst)) {
      if (self != nullptr) self->unmute();
      return false;
    }
    return true;
  }
  void unmute() noexcept {
    // relaxed: a late `false` only makes a racing sender back off once more (it then
    // overshoots by one turn); INV-BOUND-3 needs only the seq_cst store of `true`.
    muted_.store(false, memory_order_relaxed);
  }

 private:
  void publish(std::int64_t t) noexcept {
    // seq_cst: INV-BOUND-2 — ordered before our read of waiters_, against a registering
    // sender's push of its waiter and its read of taken_.
    taken_.store(t, memory_order_seq_cst);
    // seq_cst: INV-BOUND-2, as above.
    if (waiters_.load(memory_order_seq_cst) != nullptr &&
        sent_.load(memory_order_relaxed) - t <= low_water_) {  // relaxed: as add_one()
      wake_all();
    }
  }

  // Four cache lines, so that the senders' count, the consumer's published count and its
  // per-message count never share a line: each send and each take touches only its own,
  // and the other side reads it at most once per publish_every_ takes.
  // Read-mostly: the constants, the waiter list (written only when a sender waits), muted_.
  const std::int64_t capacity_;
  const std::int64_t low_water_;      // waiters are woken at or below this many queued
  const std::int64_t publish_every_;  // at most low_water_ + 1 (INV-BOUND-4)
  atomic<room_waiter*> waiters_{nullptr};
  atomic<bool> muted_{false};
  alignas(cache_line) atomic<std::int64_t> sent_{0};         // senders: messages counted in
  alignas(cache_line) atomic<std::int64_t> taken_{0};        // consumer: taken, as published
  alignas(cache_line) atomic<std::int64_t> taken_count_{0};  // consumer: taken, exact
};

/// Marks the calling thread as one whose sends never wait for room (the timer thread): its
/// sends to a full bounded mailbox overshoot instead.
void never_wait_for_room_on_this_thread() noexcept;

/// An actor of type T with a bounded mailbox (see the file comment). Built by spawn() for
/// types that declare `static constexpr std::size_t mailbox_capacity`, or spawned with
/// troupe::bounded{n}. Not final: a supervised child wraps it in turn (supervision.hpp).
template <class T>
class bounded_actor : public T {
  static_assert(!std::is_final_v<T>,
                "troupe: an actor type with a bounded mailbox cannot be final (the runtime "
                "derives from it to add the mailbox's count)");

 public:
  template <class... Args>
  explicit bounded_actor(std::size_t capacity, Args&&... args)
      : T(std::forward<Args>(args)...), bound_(capacity) {
    this->mark_bounded();
  }
  bounded_state* bound() noexcept override { return &bound_; }

 private:
  bounded_state bound_;
};

}  // namespace troupe::detail
