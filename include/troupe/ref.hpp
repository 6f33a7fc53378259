// troupe/ref.hpp — a typed handle to an actor.
//
//   troupe::ref<Add, Sub> r = rt.spawn<Calculator>();
//   r.send(Add{1});   // compiles only for the actor's message types
//   r.close();        // sentinel behind everything already sent
//   r.join();         // wait (from a non-worker thread) until it has stopped
//
// A ref is a counted pointer: cheap to copy (one atomic increment), comparable, hashable,
// usable from any thread. While any ref exists the actor's memory does; once the actor has
// stopped, sends through the ref still work and become dead letters.
//
// A default-constructed ref is empty: send/close/join on it throw troupe::error.
//
// The handle only names the actor's message list, not its class, so a later ref may stand
// for a proxy that forwards to an actor on another node through the same interface.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/error.hpp"
#include "troupe/stats.hpp"

namespace troupe {

namespace detail {
struct adopt_tag {};  // construct a ref that takes over an already counted reference
[[noreturn]] void throw_empty_ref(const char* operation);
struct ref_access;  // the actor behind a ref, for ask() (ask.hpp); not API
}  // namespace detail

template <class... Msgs>
class ref {
 public:
  static_assert(sizeof...(Msgs) > 0, "troupe::ref needs at least one message type");

  ref() noexcept = default;
  ref(const ref& o) noexcept : p_(o.p_) {
    if (p_ != nullptr) p_->add_ref();
  }
  ref(ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  ref& operator=(ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ref() {
    if (p_ != nullptr) p_->release();
  }

  /// Sends `m` (moved or copied into one pooled mailbox node). Lock-free from any thread.
  template <class M>
  void send(M&& m) const {
    static_assert(detail::is_one_of<std::remove_cvref_t<M>, Msgs...>,
                  "troupe::ref::send: the actor does not handle this message type "
                  "(it is not in the actor's message list actor<Derived, Msgs...>)");
    detail::actor_base* a = get("send");
    a->enqueue(detail::message_node<Msgs...>::make(std::forward<M>(m)));
  }

  /// Posts the close sentinel: the actor handles everything sent before it, runs its
  /// on_stop() and stops. Idempotent. A coroutine or blocking actor that is awaiting a
  /// result when the sentinel arrives stops waiting (troupe::actor_exit): see
  /// coro_actor.hpp and blocking_actor.hpp.
  void close() const { get("close")->close(); }

  /// Stops the actor without draining: after the handler in progress (an event actor), or
  /// at its next receive or await (coroutine and blocking actors: troupe::actor_exit, waking
  /// one that waits). on_stop() runs; what is queued becomes dead letters (reason
  /// dead_letter_reason::killed). Idempotent; a no-op on a stopped actor. A handler that
  /// never returns cannot be stopped (C++ cannot preempt it).
  void kill() const { get("kill")->kill(); }

  /// Waits until the actor has stopped and finished stopping: on_stop() has run, a failure
  /// has been reported to on_failure, and what was queued when it stopped has been
  /// dead-lettered. Throws troupe::error if called on a worker thread
  /// (inside a handler), where waiting would block the worker the actor may need.
  void join() const { get("join")->join(); }

  /// True once the actor has stopped (it will handle no more messages).
  bool stopped() const { return get("stopped")->is_stopped(); }

  explicit operator bool() const noexcept { return p_ != nullptr; }
  actor_id id() const noexcept { return p_ == nullptr ? 0 : p_->id(); }

  friend bool operator==(const ref& a, const ref& b) noexcept { return a.p_ == b.p_; }
  friend std::strong_ordering operator<=>(const ref& a, const ref& b) noexcept {
    return std::compare_three_way{}(a.p_, b.p_);
  }

  // Not API: used by spawn and actor<>::self().
  ref(detail::adopt_tag, detail::actor_base* p) noexcept : p_(p) {}

 private:
  friend struct detail::ref_access;
  detail::actor_base* get(const char* operation) const {
    if (p_ == nullptr) detail::throw_empty_ref(operation);
    return p_;
  }
  detail::actor_base* p_ = nullptr;
};

namespace detail {
struct ref_access {
  /// The actor behind `r`; throws troupe::error (naming `operation`) if `r` is empty.
  template <class... Msgs>
  static actor_base* actor_of(const ref<Msgs...>& r, const char* operation) {
    return r.get(operation);
  }
};
}  // namespace detail

}  // namespace troupe

template <class... Msgs>
struct std::hash<troupe::ref<Msgs...>> {
  std::size_t operator()(const troupe::ref<Msgs...>& r) const noexcept {
    return std::hash<troupe::actor_id>{}(r.id());
  }
};
