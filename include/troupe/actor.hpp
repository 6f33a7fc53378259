// troupe/actor.hpp — event actors: typed handlers that run to completion.
//
//   struct Add { long n; };
//   struct Counter : troupe::actor<Counter, Add> {
//     long total = 0;
//     void on(Add a) { total += a.n; }      // one on() per message type
//     void on_stop() { /* optional: runs once, after the last message */ }
//   };
//
// The runtime calls on(M) for each message, one at a time, never concurrently, possibly on
// different worker threads over the actor's life (each turn happens-after the previous).
// An actor with several message types dispatches by overload resolution over the message
// list — there is no string lookup. Handlers must not block: use a blocking actor for that.
// Sends made by a handler leave by the end of its turn at the latest: repeated sends to one
// actor are pushed together (order and causality kept, see docs/architecture.md), so a
// handler must not busy-wait for the effect of its own second send to the same actor.
//
// If an exception escapes on() (or on_stop()), the actor stops: the runtime reports a
// troupe::failure (see runtime_config::on_failure), runs on_stop() if it was not the
// thrower, and every message still queued or sent later becomes a dead letter.
#pragma once

#include <exception>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/ref.hpp"

namespace troupe {

template <class Derived, class... Msgs>
class actor : public detail::actor_base {
 public:
  static_assert(sizeof...(Msgs) > 0, "troupe::actor needs at least one message type");
  /// The handle type spawn() returns for this actor.
  using handle = ref<Msgs...>;
  /// Event actors run only when a message arrives.
  static constexpr bool starts_at_spawn = false;

 protected:
  actor() noexcept = default;
  ~actor() override {
    // The last node taken is still the mailbox's dummy; it is ours to free.
    detail::mailbox_node* d = mailbox_.dummy();
    if (!mailbox_.is_stub(d)) free_retired(d);
  }

  /// A handle to this actor, e.g. to send to itself or to hand to another actor.
  handle self() noexcept {
    add_ref();
    return handle(detail::adopt_tag{}, this);
  }

  /// Spawns another actor on this actor's runtime.
  template <class T, class... Args>
  typename T::handle spawn(Args&&... args);

 private:
  using node_type = detail::message_node<Msgs...>;

  template <class M>
  static constexpr bool handles = requires(Derived& d, M&& m) { d.on(std::move(m)); };

  void dispatch(node_type* n) {
    static_assert((handles<Msgs> && ...),
                  "troupe::actor: every message type in actor<Derived, Msgs...> needs a "
                  "public handler on(M) in Derived");
    auto& self = static_cast<Derived&>(*this);
    if constexpr (sizeof...(Msgs) == 1) {
      self.on(std::move(n->payload()));
    } else {
      std::visit([&self](auto& m) { self.on(std::move(m)); }, n->payload());
    }
  }

  detail::turn_result run_turn(unsigned budget, std::uint64_t& handled) noexcept final {
    for (unsigned i = 0; i < budget; ++i) {
      auto [n, retired] = mailbox_.pop();
      free_retired(retired);
      if (n == nullptr) {
        return mailbox_.try_mark_idle() ? detail::turn_result::idle
                                         : detail::turn_result::runnable;
      }
      if (is_close_sentinel(n)) {
        finish(nullptr);
        return detail::turn_result::stopped;
      }
      auto* m = static_cast<node_type*>(n);
      ++handled;
      try {
        dispatch(m);
      } catch (...) {
        m->destroy_payload();
        finish(std::current_exception());
        return detail::turn_result::stopped;
      }
      m->destroy_payload();
    }
    return detail::turn_result::runnable;
  }

  void drop_message(detail::mailbox_node* n) noexcept final {
    auto* m = static_cast<node_type*>(n);
    report_dead_letter(m->payload_type_info());
    m->destroy_payload();
  }
  void free_node(detail::mailbox_node* n) noexcept final { node_type::deallocate(n); }
  void on_stop_hook() final {
    if constexpr (requires(Derived& d) { d.on_stop(); }) static_cast<Derived&>(*this).on_stop();
  }
  const std::type_info& actor_type() const noexcept final { return typeid(Derived); }
};

namespace detail {
/// Constructs T and registers it with `core`; returns its first handle.
template <class T, class... Args>
typename T::handle spawn_on(runtime_core* core, Args&&... args) {
  static_assert(std::is_base_of_v<actor_base, T>,
                "troupe::spawn: T must derive from troupe::actor<T, Msgs...>");
  T* a = new T(std::forward<Args>(args)...);
  // The handle's reference, taken before registration makes the actor visible: from then
  // on shutdown may close it, and it may stop and drop its life reference at once.
  a->add_ref();
  try {
    register_spawned(core, a);
  } catch (...) {
    delete a;  // nobody else has seen it
    throw;
  }
  if constexpr (T::starts_at_spawn) a->start_now();
  return typename T::handle(adopt_tag{}, a);
}
}  // namespace detail

template <class Derived, class... Msgs>
template <class T, class... Args>
typename T::handle actor<Derived, Msgs...>::spawn(Args&&... args) {
  return detail::spawn_on<T>(core(), std::forward<Args>(args)...);
}

}  // namespace troupe
