// troupe/weak_ref.hpp — a handle that names an actor without keeping it alive.
//
//   troupe::weak_ref<Join> room_w = room;       // from a ref (or a narrowed one)
//   if (troupe::ref<Join> room = room_w.lock()) room.send(Join{});
//
// What it is for: breaking reference cycles. A troupe::ref keeps its actor's memory alive,
// so two actors that hold refs to each other (a room and its sessions) keep each other's
// memory after both have stopped. Let one side hold weak_refs instead (docs/guide.md,
// "Breaking reference cycles").
//
// Guarantees:
//   * lock() returns a ref to the actor while its memory is alive — while any ref (or the
//     runtime, for an actor that has not stopped yet) still holds it — and an empty ref
//     once the last one is gone. Once lock() has returned an empty ref it always will.
//   * An actor that has stopped but is still held by a ref is still alive in this sense:
//     lock() returns its ref, and sends through it become dead letters, as through any ref
//     to a stopped actor. Use ref::stopped() to tell.
//   * The ref lock() returns has the weak_ref's message list; like a narrowed ref when the
//     weak_ref was made from one (ref.hpp, "Narrowing").
//   * A weak_ref never keeps memory of the actor: it holds only the actor's id (ids are never
//     reused, see troupe::actor_id). Copying, comparing and destroying it touch nothing else.
//
// Costs: the first weak_ref made to an actor lists it in a process-wide table (a mutex of
// one of 64 shards and one hash-map entry, std::bad_alloc if that cannot grow); lock() takes
// that shard's mutex for a lookup and one CAS; an actor that was listed is unlisted under the
// same mutex when it is freed. None of this is on the send path, and an actor no weak_ref
// names pays nothing (runtime/actor/weak_table.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

#include "troupe/detail/actor_base.hpp"
#include "troupe/ref.hpp"
#include "troupe/stats.hpp"

namespace troupe {

template <class... Msgs>
class weak_ref {
 public:
  static_assert(sizeof...(Msgs) > 0, "troupe::weak_ref needs at least one message type");

  /// Names no actor: lock() returns an empty ref.
  weak_ref() noexcept = default;

  /// Names the actor of `r` (empty if `r` is), with `r`'s message list or a subset of it in
  /// any order (as ref narrowing, a compile-time error for a type `r` lacks). Throws
  /// std::bad_alloc if the weak table cannot grow (only the first weak_ref to an actor
  /// grows it).
  template <class... Others>
  weak_ref(const ref<Others...>& r) {  // NOLINT(google-explicit-constructor): as ref's
    static_assert((detail::is_one_of<Msgs, Others...> && ...),
                  "troupe::weak_ref: the weak_ref names a message type that the source ref "
                  "does not (it takes the source's message types or a subset of them)");
    detail::actor_base* a = detail::ref_access::actor_or_null(r);
    if (a == nullptr) return;
    a->enable_weak();
    constexpr bool same_list = std::is_same_v<ref<Others...>, ref<Msgs...>>;
    word_ = a->id() | (same_list && !detail::ref_access::narrowed(r) ? 0 : narrowed_bit);
  }

  /// Narrowing, as for ref.
  template <class... Others>
  requires(!std::is_same_v<weak_ref<Others...>, weak_ref>) weak_ref(const weak_ref<Others...>& o)
  noexcept : word_(o.word_ == 0 ? 0 : o.word_ | narrowed_bit) {
    static_assert((detail::is_one_of<Msgs, Others...> && ...),
                  "troupe::weak_ref: the weak_ref names a message type that the source "
                  "weak_ref does not (it narrows only to a subset of its message types)");
  }

  /// A ref to the actor if its memory is still alive (it may have stopped: see the file
  /// comment), else an empty ref. Any thread; takes a mutex, never blocks on the actor.
  ref<Msgs...> lock() const noexcept {
    detail::actor_base* a = detail::actor_base::lock_weak(id());
    if (a == nullptr) return ref<Msgs...>();
    if ((word_ & narrowed_bit) != 0) {
      return ref<Msgs...>(detail::adopt_tag{}, a, detail::narrowed_tag{});
    }
    return ref<Msgs...>(detail::adopt_tag{}, a);
  }

  /// The id of the actor this names (0 if none), whether or not it is still alive.
  actor_id id() const noexcept { return word_ & ~narrowed_bit; }

  /// False for a default-constructed weak_ref (or one made from an empty ref). True does not
  /// mean the actor is alive: lock() tells.
  explicit operator bool() const noexcept { return word_ != 0; }

  friend bool operator==(const weak_ref& a, const weak_ref& b) noexcept { return a.id() == b.id(); }

 private:
  template <class...>
  friend class weak_ref;

  // The actor's id, and in bit 63 whether lock() returns a narrowed ref (the actor's list is
  // not known to be exactly Msgs...). Ids stay below 2^63 (a 64-bit counter from 1).
  static constexpr std::uint64_t narrowed_bit = std::uint64_t{1} << 63;
  std::uint64_t word_ = 0;
};

}  // namespace troupe

template <class... Msgs>
struct std::hash<troupe::weak_ref<Msgs...>> {
  std::size_t operator()(const troupe::weak_ref<Msgs...>& w) const noexcept {
    return std::hash<troupe::actor_id>{}(w.id());
  }
};
