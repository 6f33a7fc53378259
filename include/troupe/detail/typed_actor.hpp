// troupe/detail/typed_actor.hpp — what every typed actor kind shares: its handle type, the
// mailbox node type for its message list, self() and spawn(), and the type-specific hooks
// that actor_base calls (drop a dead letter, free a node, on_stop, the type's name, the
// message types it accepts), and names on its runtime from inside its handlers.
// Event actors (troupe::actor) and coroutine actors (troupe::coro_actor) derive from it and
// add only their run_turn(). Installed because they do; not API.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/bounded.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/bounded_mailbox.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/message_stash.hpp"
#include "troupe/detail/names.hpp"
#include "troupe/monitor.hpp"
#include "troupe/ref.hpp"

namespace troupe::detail {

template <class Derived, class... Msgs>
class typed_actor : public actor_base {
 public:
  static_assert(sizeof...(Msgs) > 0, "a troupe actor needs at least one message type");
  /// The handle type spawn() returns for this actor.
  using handle = ref<Msgs...>;

 protected:
  using node_type = message_node<Msgs...>;

  typed_actor() noexcept = default;
  // Restart in place (supervision, see actor_base): assigns nothing of the runtime's part.
  typed_actor& operator=(const typed_actor&) noexcept = default;
  typed_actor& operator=(typed_actor&&) noexcept = default;
  ~typed_actor() override {
    // An actor that stopped rests on its stub (drain_stopped() ends idle); a node can be
    // the dummy only if the actor is destroyed without having stopped. Ours to free.
    mailbox_node* d = mailbox_.dummy();
    if (!mailbox_.is_stub(d)) free_retired(d);
  }

  /// A handle to this actor, e.g. to send to itself or to hand to another actor. Throws
  /// troupe::error in the constructor: the actor belongs to no runtime until spawn() has
  /// constructed it, so nothing could deliver to it yet.
  handle self() {
    if (!registered()) throw_not_spawned("self()", typeid(Derived));
    add_ref();
    return handle(adopt_tag{}, this);
  }

  /// Spawns another actor on this actor's runtime. Throws troupe::error in the
  /// constructor (see self()), and once the runtime's shutdown() has begun.
  template <class T, class... Args>
  typename T::handle spawn(Args&&... args);

  // ---- monitors and links (troupe/monitor.hpp) ------------------------------------------

  /// Monitors `target`: a troupe::down arrives once it stops (at once if it has). Needs
  /// troupe::down in this actor's message list. Throws troupe::error for an empty ref or in
  /// the constructor, std::bad_alloc if memory runs out.
  template <class... Ts>
  monitor_handle monitor(const ref<Ts...>& target) {
    static_assert(is_one_of<troupe::down, Msgs...>,
                  "troupe: monitor() from an actor delivers troupe::down: add troupe::down to "
                  "the actor's message list and handle it");
    if (!registered()) throw_not_spawned("monitor()", typeid(Derived));
    return watch_access::handle(
        monitor_from_actor(this, ref_access::actor_of(target, "monitor()")));
  }
  /// Ends a monitor: no troupe::down for it is handled after this returns (see
  /// troupe::demonitor()).
  bool demonitor(monitor_handle& h) noexcept { return troupe::demonitor(h); }
  /// Links this actor and `other` (see monitor.hpp, "Link"); a no-op if they are linked.
  /// Throws as monitor().
  template <class... Ts>
  void link(const ref<Ts...>& other) {
    if (!registered()) throw_not_spawned("link()", typeid(Derived));
    link_actors(this, ref_access::actor_of(other, "link()"));
  }
  /// Removes the link to `other`, if any: neither side acts on the other's stop afterwards.
  template <class... Ts>
  void unlink(const ref<Ts...>& other) noexcept {
    if (actor_base* o = ref_access::actor_or_null(other)) unlink_actors(this, o);
  }
  /// on: a linked actor's stop arrives as a troupe::exit_signal message instead of killing
  /// this actor. Needs troupe::exit_signal in the message list. Throws as monitor().
  void trap_exits(bool on) {
    static_assert(is_one_of<troupe::exit_signal, Msgs...>,
                  "troupe: trap_exits() delivers troupe::exit_signal: add troupe::exit_signal "
                  "to the actor's message list and handle it");
    if (!registered()) throw_not_spawned("trap_exits()", typeid(Derived));
    set_trap_exits(this, on);
  }

  /// Consumer only: if `n` holds a troupe::down whose monitor was demonitored after the down
  /// was sent, takes it as handled (in `turn`), destroys it (and frees the node if `owned`)
  /// and returns true: the actor must not see it. Always false for actors without
  /// troupe::down.
  bool drop_if_stale(node_type* n, bool owned, turn_record& turn) noexcept {
    if constexpr (is_one_of<troupe::down, Msgs...>) {
      const troupe::down* d = nullptr;
      if constexpr (sizeof...(Msgs) == 1) {
        d = &n->payload();
      } else {
        d = std::get_if<troupe::down>(&n->payload());
      }
      if (d == nullptr || !d->monitor || !d->monitor->is_cancelled()) return false;
      turn.took(typeid(troupe::down));
      n->destroy_payload();
      if (owned) node_type::deallocate(n);
      return true;
    } else {
      (void)n, (void)owned, (void)turn;
      return false;
    }
  }

  /// Names on this actor's runtime, from inside its handlers (or its run()): the same as
  /// runtime::register_name(), lookup() and unregister_name() (runtime.hpp, "Names"), e.g.
  /// register_name("db", self()). Throw troupe::error in the constructor (see self()).
  template <class... Ms>
  bool register_name(std::string name, const ref<Ms...>& r) {
    if (!registered()) throw_not_spawned("register_name()", typeid(Derived));
    return register_ref_name(core(), std::move(name), r);
  }
  template <class... Ms>
  std::optional<ref<Ms...>> lookup(std::string_view name) {
    if (!registered()) throw_not_spawned("lookup()", typeid(Derived));
    return lookup_ref<Ms...>(core(), name);
  }
  bool unregister_name(std::string_view name) {
    if (!registered()) throw_not_spawned("unregister_name()", typeid(Derived));
    return unregister_name_on(core(), name);
  }

  /// Consumer only: moves a popped message into `stash` (its node stays the mailbox's
  /// dummy). If the copy cannot be allocated the message becomes a dead letter and the
  /// exception propagates.
  void stash_moved(message_stash<node_type>& stash, node_type* node) {
    try {
      stash.push_moved(node);
    } catch (...) {
      dead_letter(node);
      throw;
    }
  }

  /// What set_aside_next() took from the mailbox.
  enum class set_aside : unsigned char {
    nothing,  ///< nothing was (fully) queued
    stashed,  ///< a message, now the newest in the stash
    closed,   ///< the close sentinel: `exiting` is now set
    dropped,  ///< a message behind the sentinel, dead-lettered
  };

  /// Consumer only, while the actor waits for something other than a message (a coroutine
  /// or blocking actor awaiting a result): sets the next queued message aside in `stash`,
  /// so that the mailbox can go idle. The close sentinel sets `exiting` instead; messages
  /// behind it become dead letters, as for an event actor. Throws as stash_moved().
  set_aside set_aside_next(message_stash<node_type>& stash, bool& exiting) {
    auto [n, retired] = mailbox_.pop();
    free_retired(retired);
    if (n == nullptr) return set_aside::nothing;
    if (is_close_sentinel(n)) {
      exiting = true;  // receives throw once the stash is empty
      return set_aside::closed;
    }
    message_taken();
    if (exiting) {
      dead_letter(n);
      return set_aside::dropped;
    }
    stash_moved(stash, static_cast<node_type*>(n));
    return set_aside::stashed;
  }

 private:
  void drop_message(mailbox_node* n, actor_id sender) noexcept final {
    auto* m = static_cast<node_type*>(n);
    const dead_letter_scope scope(report_dead_letter(m->payload_type_info(), sender));
    m->destroy_payload();
  }
  mailbox_node* make_node(const void* key, void* msg, bool rvalue) final {
    mailbox_node* n = nullptr;
    // One address compare per message type, in list order, until the key's type is found.
    (void)((key == &message_key<Msgs> && (n = make_node_of<Msgs>(msg, rvalue), true)) || ...);
    return n;  // never null: a narrowed ref names only types of the actor's list
  }
  template <class M>
  static mailbox_node* make_node_of(void* msg, bool rvalue) {
    if (rvalue) return node_type::make(std::move(*static_cast<M*>(msg)));
    if constexpr (std::is_copy_constructible_v<M>) {
      return node_type::make(*static_cast<const M*>(msg));
    } else {
      return nullptr;  // unreachable: ref::send refuses an lvalue of a move-only type
    }
  }
  bool accepts(const void* key) const noexcept final {
    return ((key == &message_key<Msgs>) || ...);  // as make_node(): one compare per type
  }
  const void* message_list() const noexcept final { return &message_list_key<Msgs...>; }
  void free_node(mailbox_node* n) noexcept final { node_type::deallocate(n); }
  void on_stop_hook() final {
    if constexpr (requires(Derived & d) { d.on_stop(); }) static_cast<Derived&>(*this).on_stop();
  }
  const std::type_info& actor_type() const noexcept final { return typeid(Derived); }
};

/// T defines on_start() (an event actor's first turn, see actor.hpp).
template <class T>
concept has_on_start = requires(T& t) {
  t.on_start();
};

/// Registers `a`, freshly constructed and holding a reference for its first handle besides
/// its life reference, with `core`, and starts it now if it runs before its first message:
/// run() (coroutine and blocking actors) or on_start() (event actors). If registration fails
/// (after shutdown), deletes it — nobody else has seen it — and rethrows.
template <class T>
T* register_and_start(runtime_core* core, T* a) {
  try {
    register_spawned(core, a);
  } catch (...) {
    delete a;
    throw;
  }
  if constexpr (T::starts_at_spawn || has_on_start<T>) a->start_now();
  return a;
}

/// T declares a bounded mailbox: `static constexpr std::size_t mailbox_capacity = N;`.
template <class T>
concept declares_mailbox_capacity = requires {
  { T::mailbox_capacity } -> std::convertible_to<std::size_t>;
};

/// A new T from `args`: a bounded_actor<T> if T declares mailbox_capacity (the declared
/// capacity) or `args` start with troupe::bounded (that capacity, which wins).
template <class T, class First, class... Rest>
T* new_actor(First&& first, Rest&&... rest) {
  if constexpr (std::is_same_v<std::remove_cvref_t<First>, troupe::bounded>) {
    return new bounded_actor<T>(first.capacity, std::forward<Rest>(rest)...);
  } else if constexpr (declares_mailbox_capacity<T>) {
    return new bounded_actor<T>(T::mailbox_capacity, std::forward<First>(first),
                                std::forward<Rest>(rest)...);
  } else {
    return new T(std::forward<First>(first), std::forward<Rest>(rest)...);
  }
}
template <class T>
T* new_actor() {
  if constexpr (declares_mailbox_capacity<T>) {
    return new bounded_actor<T>(T::mailbox_capacity);
  } else {
    return new T();
  }
}

/// Constructs T and registers it with `core`; returns its first handle.
template <class T, class... Args>
typename T::handle spawn_on(runtime_core* core, Args&&... args) {
  static_assert(std::is_base_of_v<actor_base, T>,
                "troupe::spawn: T must derive from troupe::actor<T, Msgs...>, "
                "troupe::coro_actor<T, Msgs...> or troupe::blocking_actor<T, Msgs...>");
  static_assert(!(T::starts_at_spawn && has_on_start<T>),
                "troupe::spawn: on_start() is for event actors (troupe::actor); a coroutine "
                "or blocking actor starts in run(): do the start-up work at its top");
  T* a = new_actor<T>(std::forward<Args>(args)...);
  // The handle's reference, taken before registration makes the actor visible: from then
  // on shutdown may close it, and it may stop and drop its life reference at once.
  a->add_ref();
  return typename T::handle(adopt_tag{}, register_and_start(core, a));
}

template <class Derived, class... Msgs>
template <class T, class... Args>
typename T::handle typed_actor<Derived, Msgs...>::spawn(Args&&... args) {
  if (!registered()) throw_not_spawned("spawn()", typeid(Derived));
  return spawn_on<T>(core(), std::forward<Args>(args)...);
}

}  // namespace troupe::detail
