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
//
// Narrowing: a ref converts implicitly to a ref of any subset of its message types, in any
// order, so a component can be handed only the part of an actor's interface it needs:
//
//   troupe::ref<Add, Sub, Reset> full = rt.spawn<Calculator>();
//   troupe::ref<Sub, Add> arith = full;     // fine: a subset, in another order
//   troupe::ref<Add> adder = arith;         // a narrowed ref narrows again
//   troupe::ref<Mul> no = full;             // compile error: Mul is not in the source ref
//
// A narrowed ref is the same type as any other ref of its list and behaves the same (send,
// ask, timers, close, kill, join, id, comparison: refs to one actor compare equal whatever
// list they were reached through). Cost: a ref whose list is exactly the actor's (what
// spawn() and self() return) sends as before, building the actor's mailbox node inline. A
// narrowed ref does not know the actor's node type, so its send asks the actor to build the
// node (one virtual call that finds the message type among the actor's, then the same single
// allocation); see docs/architecture.md for the measured difference.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/error.hpp"
#include "troupe/stats.hpp"

namespace troupe {

template <class... Msgs>
class ref;

namespace detail {
struct adopt_tag {};     // construct a ref that takes over an already counted reference
struct narrowed_tag {};  // ... of an actor whose message list merely contains the ref's
[[noreturn]] void throw_empty_ref(const char* operation);
struct ref_access;  // the actor behind a ref, for ask() (ask.hpp); not API

/// The handle word of a ref (see ref's private section): 0 empty, > 0 an exact ref's actor
/// address, < 0 the complement of a narrowed ref's actor address.
using ref_word = std::intptr_t;
static_assert(sizeof(ref_word) == sizeof(actor_base*),
              "troupe::ref keeps an actor address in one intptr_t");
}  // namespace detail

template <class... Msgs>
class ref {
 public:
  static_assert(sizeof...(Msgs) > 0, "troupe::ref needs at least one message type");

  ref() noexcept = default;
  ref(const ref& o) noexcept : w_(o.w_) {
    if (w_ != 0) actor()->add_ref();
  }
  ref(ref&& o) noexcept : w_(std::exchange(o.w_, 0)) {}
  ref& operator=(ref o) noexcept {
    std::swap(w_, o.w_);
    return *this;
  }
  ~ref() {
    if (w_ != 0) actor()->release();
  }

  /// Narrowing: a ref to the same actor with a subset of this ref's message types, in any
  /// order (see the file comment). Compile-time error for a type this ref does not have.
  template <class... Others>
  requires(!std::is_same_v<ref<Others...>, ref>) ref(const ref<Others...>& o)
  noexcept : w_(narrowed_from(o)) {
    if (w_ != 0) actor()->add_ref();
  }
  template <class... Others>
  requires(!std::is_same_v<ref<Others...>, ref>) ref(ref<Others...>&& o)
  noexcept : w_(narrowed_from(o)) {
    o.w_ = 0;  // its reference is ours now
  }

  /// Sends `m` (moved or copied into one pooled mailbox node). Lock-free from any thread.
  template <class M>
  void send(M&& m) const {
    static_assert(detail::is_one_of<std::remove_cvref_t<M>, Msgs...>,
                  "troupe::ref::send: the actor does not handle this message type "
                  "(it is not in the actor's message list actor<Derived, Msgs...>)");
    if (w_ > 0) [[likely]] {  // an exact ref: the node type is ours
      reinterpret_cast<detail::actor_base*>(w_)->enqueue(
          detail::message_node<Msgs...>::make(std::forward<M>(m)));
    } else {
      send_narrowed(std::forward<M>(m));  // or throw: empty
    }
  }

  /// Sends `m` if the actor's bounded mailbox has room below its capacity, else returns
  /// false and leaves `m` untouched (troupe/bounded.hpp). Always sends to an unbounded
  /// actor. Any thread, never waits.
  template <class M>
  bool try_send(M&& m) const {
    return send_reserved(nullptr, std::forward<M>(m));
  }

  /// Sends `m`, waiting at most `timeout` for room in the actor's bounded mailbox; false
  /// (and `m` untouched) if there was none by then. Sends at once to an unbounded actor.
  /// For threads outside the pool: on a worker thread (inside a handler) it throws
  /// troupe::error, since waiting there would block the worker; use send() or try_send().
  template <class M, class Rep, class Period>
  bool send_for(M&& m, std::chrono::duration<Rep, Period> timeout) const {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
    return send_reserved(&deadline, std::forward<M>(m));
  }

  /// How many messages the actor's mailbox holds, if it counts them (a bounded mailbox,
  /// troupe/bounded.hpp); std::nullopt for an unbounded one. Approximate while sends and
  /// receives are in flight.
  std::optional<std::size_t> queue_length() const { return get("queue_length")->queue_length(); }

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

  explicit operator bool() const noexcept { return w_ != 0; }
  /// The actor's id: unique for the life of the process (see troupe::actor_id); 0 if empty.
  actor_id id() const noexcept { return w_ == 0 ? 0 : actor()->id(); }

  friend bool operator==(const ref& a, const ref& b) noexcept { return a.actor() == b.actor(); }
  friend std::strong_ordering operator<=>(const ref& a, const ref& b) noexcept {
    return std::compare_three_way{}(a.actor(), b.actor());
  }

  // Not API: used by spawn and actor<>::self() (an exact ref), and weak_ref::lock().
  ref(detail::adopt_tag, detail::actor_base* p) noexcept
      : w_(reinterpret_cast<detail::ref_word>(p)) {}
  ref(detail::adopt_tag, detail::actor_base* p, detail::narrowed_tag) noexcept
      : w_(~reinterpret_cast<detail::ref_word>(p)) {}

 private:
  template <class...>
  friend class ref;
  friend struct detail::ref_access;

  // The handle word w_ is one of:
  //   0    empty;
  //   > 0  the address of an actor whose message list is exactly Msgs... (spawn(), self()):
  //        send() builds a message_node<Msgs...>, the actor's node type, inline;
  //   < 0  the complement (~) of the address of an actor whose list contains Msgs... in
  //        some order (a narrowed ref): send() has the actor build the node
  //        (actor_base::make_node()).
  // User-space addresses have bit 63 clear on the 64-bit targets troupe supports (x86-64,
  // AArch64 with or without top-byte tags), so an address is > 0 and its complement < 0.
  // The exact send thus tests one sign, as a plain pointer would test for null.
  detail::ref_word w_ = 0;

  detail::actor_base* actor() const noexcept {
    return reinterpret_cast<detail::actor_base*>(w_ < 0 ? ~w_ : w_);
  }
  detail::actor_base* get(const char* operation) const {
    if (w_ == 0) detail::throw_empty_ref(operation);
    return actor();
  }

  template <class... Others>
  static detail::ref_word narrowed_from(const ref<Others...>& o) noexcept {
    static_assert((detail::is_one_of<Msgs, Others...> && ...),
                  "troupe::ref: cannot convert: the target ref names a message type that the "
                  "source ref does not (a ref narrows only to a subset of its own message "
                  "types, in any order)");
    return o.w_ == 0 ? 0 : ~reinterpret_cast<detail::ref_word>(o.actor());
  }

  // try_send() and send_for(): a place first (reserve_room()), then the node.
  template <class M>
  bool send_reserved(const std::chrono::steady_clock::time_point* deadline, M&& m) const {
    static_assert(detail::is_one_of<std::remove_cvref_t<M>, Msgs...>,
                  "troupe::ref::try_send/send_for: the actor does not handle this message "
                  "type (it is not in the actor's message list actor<Derived, Msgs...>)");
    detail::actor_base* a = get(deadline == nullptr ? "try_send" : "send_for");
    if (!a->reserve_room(deadline)) return false;
    struct give_back_unless_sent {  // the node could not be built: the place is not used
      detail::actor_base* a;
      ~give_back_unless_sent() {
        if (a != nullptr) a->release_room();
      }
    } guard{a};
    detail::mailbox_node* n = nullptr;
    if (w_ > 0) {
      n = detail::message_node<Msgs...>::make(std::forward<M>(m));
    } else {
      using T = std::remove_cvref_t<M>;
      constexpr bool rvalue = !std::is_lvalue_reference_v<M> && !std::is_const_v<M>;
      static_assert(rvalue || std::is_copy_constructible_v<T>,
                    "troupe::ref::try_send: an lvalue message is copied, so its type must be "
                    "copyable (std::move it in)");
      void* p = const_cast<void*>(static_cast<const void*>(std::addressof(m)));
      n = a->make_node(&detail::message_key<T>, p, rvalue);
    }
    guard.a = nullptr;
    a->enqueue_reserved(n);
    return true;
  }

  template <class M>
  void send_narrowed(M&& m) const {
    detail::actor_base* a = get("send");
    using T = std::remove_cvref_t<M>;
    constexpr bool rvalue = !std::is_lvalue_reference_v<M> && !std::is_const_v<M>;
    static_assert(rvalue || std::is_copy_constructible_v<T>,
                  "troupe::ref::send: an lvalue message is copied, so its type must be "
                  "copyable (std::move it in)");
    void* p = const_cast<void*>(static_cast<const void*>(std::addressof(m)));
    a->enqueue(a->make_node(&detail::message_key<T>, p, rvalue));
  }
};

namespace detail {
struct ref_access {
  /// The actor behind `r`; throws troupe::error (naming `operation`) if `r` is empty.
  template <class... Msgs>
  static actor_base* actor_of(const ref<Msgs...>& r, const char* operation) {
    return r.get(operation);
  }
  /// The actor behind `r`, or nullptr if `r` is empty.
  template <class... Msgs>
  static actor_base* actor_or_null(const ref<Msgs...>& r) noexcept {
    return r.w_ == 0 ? nullptr : r.actor();
  }
  /// True if `r` was narrowed (see ref's handle word).
  template <class... Msgs>
  static bool narrowed(const ref<Msgs...>& r) noexcept {
    return r.w_ < 0;
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
