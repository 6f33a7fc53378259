// troupe/detail/message_stash.hpp — a private FIFO of messages an actor has taken from its
// mailbox but not received yet: those a blocking actor's selective receive skipped, and
// those that arrived while a coroutine or blocking actor awaited a result. Installed because
// the actor templates use it; not API.
//
// Why a copy: a popped node stays the mailbox's dummy until the next pop retires it (see
// mpsc_mailbox.hpp), so it cannot be linked anywhere else. push_moved() moves the payload
// into a fresh pooled node of the same type and destroys the original payload.
//
// Owner: the actor's consumer only (the worker running its turn, or the fiber it resumes),
// so the links are plain (relaxed) stores. Messages keep their arrival order.
//
// Counting: each message that enters or leaves the stash is counted on the worker running
// the consumer (count_set_aside()), so that shutdown's drain treats a stashed message as
// delivered — the actor has it — not as in flight (runtime_core::in_flight()).
#pragma once

#include <utility>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

/// Counts one message entering (`entered`) or leaving a stash, on the calling worker.
void count_set_aside(bool entered) noexcept;

template <class Node>
class message_stash {
 public:
  message_stash() noexcept = default;
  message_stash(const message_stash&) = delete;
  message_stash& operator=(const message_stash&) = delete;
  /// Only if the actor never finished (spawn failed): destroys without reporting.
  ~message_stash() {
    while (Node* n = head_) {  // never counted in: the actor never ran
      head_ = next(n);
      n->destroy_payload();
      Node::deallocate(n);
    }
  }

  bool empty() const noexcept { return head_ == nullptr; }

  /// The message pushed last (still queued), or nullptr if empty.
  Node* newest() const noexcept { return tail_; }

  /// True if some queued message's payload satisfies `pred`. Oldest first; O(size).
  template <class Pred>
  bool any_of(Pred&& pred) const {
    for (Node* n = head_; n != nullptr; n = next(n)) {
      if (pred(n->payload())) return true;
    }
    return false;
  }

  /// Appends a copy of n's message (moved), then destroys n's payload; n itself is left
  /// alone. Throws what allocating the copy throws, with n's payload intact.
  void push_moved(Node* n) {
    Node* copy = Node::make(std::move(n->payload()));
    n->destroy_payload();
    link(nullptr, copy);  // relaxed below: private list
    if (tail_ == nullptr) {
      head_ = copy;
    } else {
      link(tail_, copy);
    }
    tail_ = copy;
    count_set_aside(true);
  }

  /// The oldest message, unlinked (the caller owns the node); nullptr if empty.
  Node* pop_front() noexcept {
    Node* n = head_;
    if (n == nullptr) return nullptr;
    head_ = next(n);
    if (head_ == nullptr) tail_ = nullptr;
    count_set_aside(false);
    return n;
  }

  /// The oldest message whose payload `accept` takes, unlinked; nullptr if none. If accept
  /// throws, the stash is unchanged.
  template <class Accept>
  Node* take_first(Accept&& accept) {
    Node* prev = nullptr;
    for (Node* n = head_; n != nullptr; prev = n, n = next(n)) {
      if (!accept(n->payload())) continue;
      Node* after = next(n);
      if (prev == nullptr) {
        head_ = after;
      } else {
        link(prev, after);
      }
      if (tail_ == n) tail_ = prev;
      count_set_aside(false);
      return n;
    }
    return nullptr;
  }

 private:
  static Node* next(Node* n) noexcept {
    // relaxed: the stash is private to the consumer.
    return static_cast<Node*>(n->next.load(memory_order_relaxed));
  }
  static void link(Node* from, Node* to) noexcept {
    // relaxed: the stash is private to the consumer.
    if (from == nullptr) {
      to->next.store(nullptr, memory_order_relaxed);
    } else {
      from->next.store(to, memory_order_relaxed);
    }
  }

  Node* head_ = nullptr;  // oldest
  Node* tail_ = nullptr;
};

}  // namespace troupe::detail
