// troupe/detail/mpsc_mailbox.hpp — an actor's mailbox: intrusive MPSC queue whose
// empty→non-empty transition doubles as the actor's "schedule me" signal.
//
// Design (Vyukov's intrusive MPSC queue with a stub node; the "empty" mark in the low bit
// of head_ is the technique of Pony's messageq):
//   * head_ is the producers' end: the most recently pushed node, plus bit 0 ("idle": the
//     queue was found empty by its consumer and the actor is not scheduled) and bit 1
//     ("signal": something outside the queue — a timer, a reply — wants the consumer's
//     attention; see actor_base's side channel).
//   * tail_ is the consumer's end: the last node taken, kept as the dummy that head_ may
//     still point to. A node's memory can be reused only once it is no longer the dummy:
//     pop() hands it back as `retired`.
//   * An idle mailbox rests on its stub: try_mark_idle() puts the stub back as the dummy
//     (head_ = tail_ = stub) in the same CAS that sets the idle bit, and retires the last
//     node taken. So an idle actor holds no message node, only its own 8-byte stub.
//
// Roles:
//   * push()            — any thread, wait-free: one exchange + one release store.
//   * signal()          — any thread, lock-free: a CAS loop of at most a few rounds.
//   * publish_to_producers() — any thread: one RMW that changes nothing (see there).
//   * pop(), try_mark_idle(), clear_signal() — the consumer only: the one thread that owns the
//     right to run the actor (a worker during the actor's turn, or a sender that drains a
//     stopped actor). Ownership passes on exactly when push() returns true.
//
// Invariants:
//   INV-MAILBOX-1  head_ is never null; tail_ is never null. The nodes from tail_->next to
//                  head_ (linked, or being linked) are the queued messages, in push order.
//   INV-MAILBOX-2  Bit 0 of head_ is set only by try_mark_idle() and only when head_ ==
//                  tail_ (nothing queued, nothing half-pushed); the same CAS makes the stub
//                  the dummy, so while idle head_ == stub | 1 and tail_ == stub. It is cleared by
//                  the first push() after it, and that push alone returns true: each idle→non-empty
//                  transition makes the actor runnable exactly once. try_claim() clears it
//                  without a message (to start an actor that runs before its first
//                  message); it and push() cannot both win the same idle period.
//   INV-MAILBOX-3  While bit 0 is clear, exactly one party owns consumption (the actor is
//                  scheduled, running, or being drained); nobody else calls pop().
//   INV-MAILBOX-4  A producer's link store is its last access to the queue: after it the
//                  consumer may take n, and a later pop() retires n for reuse. A node is
//                  retired by pop() only after its successor is linked, and by
//                  try_mark_idle() only when head_ still points to it (no producer has it
//                  as predecessor), so a producer never links onto freed memory (its
//                  predecessor is the dummy or still queued). The stub is never retired; it
//                  is free for reuse exactly when it is not the dummy (it is never pushed).
//   INV-MAILBOX-5  Per producer, nodes are taken in push order (head_ exchanges are totally
//                  ordered, and each producer's exchanges follow its program order).
//   INV-MAILBOX-6  A signal() that does not claim the mailbox leaves it non-idle until the
//                  consumer has seen it: it sets bit 1, which makes try_mark_idle()'s CAS
//                  (expecting exactly tail_) fail until clear_signal() clears it. A push
//                  whose exchange replaced a signalled head sets bit 1 again before its
//                  link store, so the bit survives until the consumer clears it. A
//                  consumer that calls clear_signal() when try_mark_idle() fails with
//                  signalled() true, and then looks at what was signalled, cannot go idle
//                  with a signal unseen. A signal() that finds the mailbox idle claims it
//                  instead, like try_claim(), and sets bit 1 for the new consumer.
//
// What is NOT guaranteed: pop() may return nullptr while a push is half done (exchange done,
// link not yet stored). try_mark_idle() then fails because head_ != tail_, so the consumer
// keeps ownership and must retry later: no message is lost, the actor stays scheduled.
#pragma once

#include <cstdint>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

/// The intrusive link every mailbox entry starts with.
struct mailbox_node {
  atomic<mailbox_node*> next{nullptr};
};

class mpsc_mailbox {
 public:
  mpsc_mailbox() noexcept
      : head_(reinterpret_cast<std::uintptr_t>(&stub_) | idle_bit), tail_(&stub_) {}
  mpsc_mailbox(const mpsc_mailbox&) = delete;
  mpsc_mailbox& operator=(const mpsc_mailbox&) = delete;

  /// Any thread. Appends n. Returns true iff the mailbox was idle: the caller now owns
  /// consumption and must schedule (or drain) the actor (INV-MAILBOX-2).
  bool push(mailbox_node* n) noexcept {
    // relaxed: published by the release in the exchange below.
    n->next.store(nullptr, memory_order_relaxed);
    // acq_rel: release publishes n->next == nullptr before n becomes reachable through
    // head_; acquire pairs with the release CAS in try_mark_idle(), so a caller that gets
    // `true` sees everything the previous consumer wrote (it is about to become consumer).
    const std::uintptr_t prev =
        head_.exchange(reinterpret_cast<std::uintptr_t>(n), memory_order_acq_rel);
    auto* p = reinterpret_cast<mailbox_node*>(prev & ~flag_bits);
    keep_signal(prev);
    // release: publishes n (its payload) to the acquire load of next in pop(). After this
    // store the consumer may take n and, later, free it (INV-MAILBOX-4).
    p->next.store(n, memory_order_release);
    return (prev & idle_bit) != 0;
  }

  /// Any thread. Appends the chain first → … → last, already linked by the caller (a
  /// private chain: its links may be relaxed stores). Same contract as push(): one
  /// exchange for the whole chain, and true iff the mailbox was idle.
  bool push_chain(mailbox_node* first, mailbox_node* last) noexcept {
    // relaxed: published by the release in the exchange below.
    last->next.store(nullptr, memory_order_relaxed);
    // acq_rel: as in push(); the release also publishes the chain's internal links.
    const std::uintptr_t prev =
        head_.exchange(reinterpret_cast<std::uintptr_t>(last), memory_order_acq_rel);
    auto* p = reinterpret_cast<mailbox_node*>(prev & ~flag_bits);
    keep_signal(prev);
    // release: publishes the whole chain (payloads and links) to pop()'s acquire loads.
    p->next.store(first, memory_order_release);
    return (prev & idle_bit) != 0;
  }

  /// Any thread. Takes consumption of an idle mailbox without pushing anything. Returns
  /// true iff it was idle: the caller must then schedule the actor. False means someone
  /// else owns consumption (a push won the idle period), and will schedule it.
  bool try_claim() noexcept {
    // relaxed: only a first guess for the CAS below.
    std::uintptr_t h = head_.load(memory_order_relaxed);
    while ((h & idle_bit) != 0) {
      // acquire on success: as push()'s exchange, pairs with try_mark_idle()'s release.
      // relaxed on failure: we only re-read head_; a failure means a push changed head_,
      // which clears the bit, so the loop ends on its next test (at most one retry).
      if (head_.compare_exchange_weak(h, h & ~idle_bit, memory_order_acquire,
                                      memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  /// Any thread, after making what it signals visible (e.g. pushing onto a side list).
  /// Returns true iff the mailbox was idle and this call claimed it (as try_claim(): the
  /// caller must schedule the actor); false if it set the signal bit on a busy mailbox,
  /// which the consumer must notice before it can go idle (INV-MAILBOX-6).
  bool signal() noexcept {
    // relaxed: only a first guess for the CAS below.
    std::uintptr_t h = head_.load(memory_order_relaxed);
    // Claiming sets the bit too, so the new consumer learns of the signal the same way.
    // The CAS runs even when the bit looks set already: only an RMW is sure to read the
    // latest head_, after a clear_signal() that may not have seen our item.
    // acq_rel on success: release publishes the caller's earlier writes (the signalled
    // item) to clear_signal()'s acquire (also through the release sequence of later RMWs);
    // acquire, when claiming, pairs with try_mark_idle()'s release as push()'s does.
    // relaxed on failure: we retry with the value read.
    while (!head_.compare_exchange_weak(h, (h & ~idle_bit) | signal_bit, memory_order_acq_rel,
                                        memory_order_relaxed)) {
    }
    return (h & idle_bit) != 0;
  }

  /// Any thread. An RMW on head_ that leaves it unchanged: every push, signal or claim
  /// later in head_'s modification order synchronizes with it, so the caller's earlier
  /// writes (an actor's `stopped` bit, INV-STOP-1) are visible to those producers after
  /// their RMW.
  void publish_to_producers() noexcept {
    // release: heads a release sequence that every later RMW on head_ continues (all
    // writes to head_ are RMWs); each producer's acq_rel exchange reads from it and so
    // synchronizes with this operation.
    head_.fetch_or(0, memory_order_release);
  }

  /// Consumer only: is the signal bit set? (A hint: a relaxed read.)
  bool signalled() const noexcept {
    // relaxed: a hint; clear_signal()'s RMW is what synchronizes.
    return (head_.load(memory_order_relaxed) & signal_bit) != 0;
  }

  /// Consumer only: clears the signal bit; true if it was set.
  bool clear_signal() noexcept {
    // acquire: pairs with the release CAS in signal(), so the signalled item is visible.
    return (head_.fetch_and(~signal_bit, memory_order_acquire) & signal_bit) != 0;
  }

  struct taken {
    mailbox_node* node;     ///< the next message, or nullptr if none is (fully) queued
    mailbox_node* retired;  ///< the previous dummy, now free for reuse; nullptr if none
  };

  /// Consumer only. Takes the next message; it becomes the new dummy, so its memory stays
  /// in use until a later pop() retires it (its payload may be destroyed at once).
  taken pop() noexcept {
    mailbox_node* t = tail_;
    // acquire: pairs with the release link store in push(); makes next's payload visible.
    mailbox_node* next = t->next.load(memory_order_acquire);
    if (next == nullptr) return {nullptr, nullptr};
    tail_ = next;
    return {next, t == &stub_ ? nullptr : t};
  }

  /// Consumer only. If nothing is queued or half-pushed, marks the mailbox idle, rests it
  /// on its stub and gives up consumption (returns true); `retired` is then the previous
  /// dummy, free for reuse (nullptr if it was the stub). After a true return the caller
  /// must not touch the mailbox or its actor again unless it holds another reference: free
  /// `retired` without going through the actor. Returns false when a message arrived: the
  /// caller still owns consumption, and nothing is retired.
  bool try_mark_idle(mailbox_node*& retired) noexcept {
    mailbox_node* const t = tail_;
    auto expected = reinterpret_cast<std::uintptr_t>(t);
    if (t != &stub_) {
      // The stub is not the dummy, so no one else uses it (INV-MAILBOX-4). Prepare it as
      // the dummy the next consumer will find; both writes are published by the CAS.
      stub_.next.store(nullptr, memory_order_relaxed);  // relaxed: published by the CAS
      tail_ = &stub_;
    }
    // release: publishes every write of this consumer's turn (and tail_, stub_.next) to
    // the producer whose exchange next reads head_ (and becomes the consumer). Make this
    // the last thing we do: after it, another thread may run or drain the actor.
    // relaxed on failure: we keep consuming; pop()'s acquire orders what we read next.
    if (head_.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(&stub_) | idle_bit,
                                      memory_order_release, memory_order_relaxed)) {
      retired = t == &stub_ ? nullptr : t;  // head_ no longer points to t (INV-MAILBOX-4)
      return true;
    }
    tail_ = t;  // still the consumer: undo
    retired = nullptr;
    return false;
  }

  /// Consumer only (or quiescent). The current dummy: the stub, or the last node taken.
  mailbox_node* dummy() const noexcept { return tail_; }
  bool is_stub(const mailbox_node* n) const noexcept { return n == &stub_; }

 private:
  static constexpr std::uintptr_t idle_bit = 1;
  static constexpr std::uintptr_t signal_bit = 2;
  static constexpr std::uintptr_t flag_bits = idle_bit | signal_bit;
  static_assert(alignof(mailbox_node) >= 4, "bits 0 and 1 of a node address must be free");

  // A push's exchange replaced a signalled head: put the bit back before linking, i.e.
  // before the consumer can reach the pushed node and find the queue empty (INV-MAILBOX-6).
  void keep_signal(std::uintptr_t prev) noexcept {
    if ((prev & signal_bit) == 0) return;
    // relaxed: the bit only has to be back in head_ before our link store (release), after
    // which the consumer can reach our node; the signalled item itself was published to
    // clear_signal() by signal()'s release, which our acq_rel exchange carried forward.
    head_.fetch_or(signal_bit, memory_order_relaxed);
  }

  atomic<std::uintptr_t> head_;  // written by producers (exchange) and the consumer (CAS)
  mailbox_node* tail_;           // consumer only
  mailbox_node stub_;            // the first dummy; never retired, never pushed
};

}  // namespace troupe::detail
