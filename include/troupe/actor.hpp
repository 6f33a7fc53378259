// troupe/actor.hpp — event actors: typed handlers that run to completion.
//
//   struct Add { long n; };
//   struct Counter : troupe::actor<Counter, Add> {
//     long total = 0;
//     void on(Add a) { total += a.n; }      // one on() per message type
//     void on_start() { /* optional: runs once, before the first message */ }
//     void on_stop() { /* optional: runs once, after the last message */ }
//   };
//
// on_start(), if defined, runs as the actor's first turn, on a worker, right after spawn():
// no message is handled before it returns, not even one sent before spawn() returned.
// self(), sends, spawn(), ask() and names (register_name(), lookup<Msgs...>(),
// unregister_name(): runtime.hpp, "Names") work there and in every handler (in the
// constructor self(), spawn() and the name functions throw troupe::error: the actor
// belongs to no runtime yet). If it throws, the actor fails like
// a throwing handler. An actor without on_start() costs nothing extra and is not
// scheduled until its first message.
//
// The runtime calls on(M) for each message, one at a time, never concurrently, possibly on
// different worker threads over the actor's life (each turn happens-after the previous).
// An actor with several message types dispatches by overload resolution over the message
// list — there is no string lookup. Handlers must not block: use a blocking actor for that.
// Sends made by a handler leave by the end of its turn at the latest: repeated sends to one
// actor are pushed together (order and causality kept, see docs/architecture.md), so a
// handler must not busy-wait for the effect of its own second send to the same actor.
//
// Message types may be over-aligned (alignas(32), alignas(64), a SIMD vector): on() sees
// each message aligned for its type, by value or by reference. Such a message's node comes
// from ::operator new with its alignment instead of the 16-byte node pool
// (detail/message_node.hpp): still one allocation per send.
//
// kill() (through a ref) stops the actor after the handler in progress, if any, without
// handling what is queued: on_stop() runs, and the queued messages become dead letters
// (reason killed).
//
// If an exception escapes on() (or on_start() or on_stop()), the actor stops: the runtime
// reports a troupe::failure (see runtime_config::on_failure), runs on_stop() if it was not
// the thrower, and every message still queued or sent later becomes a dead letter.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/typed_actor.hpp"
#include "troupe/ref.hpp"

namespace troupe {

template <class Derived, class... Msgs>
class actor : public detail::typed_actor<Derived, Msgs...> {
  using base = detail::typed_actor<Derived, Msgs...>;

 public:
  /// Event actors run only when a message arrives.
  static constexpr bool starts_at_spawn = false;
  /// A supervisor can restart an event actor in place (supervisor.hpp).
  static constexpr bool restartable_in_place = true;

 protected:
  actor() noexcept = default;

 private:
  using typename base::node_type;

  template <class M>
  static constexpr bool handles = requires(Derived& d, M&& m) {
    d.on(std::move(m));
  };

  void dispatch(node_type* n, detail::turn_record& turn) {
    static_assert((handles<Msgs> && ...),
                  "troupe::actor: every message type in actor<Derived, Msgs...> needs a "
                  "public handler on(M) in Derived");
    auto& self = static_cast<Derived&>(*this);
    if constexpr (sizeof...(Msgs) == 1) {
      turn.took(typeid(typename base::node_type::payload_type));
      self.on(std::move(n->payload()));
    } else {
      std::visit(
          [&self, &turn](auto& m) {
            turn.took(typeid(std::remove_cvref_t<decltype(m)>));
            self.on(std::move(m));
          },
          n->payload());
    }
  }

  detail::turn_result run_turn(unsigned budget, detail::turn_record& turn) noexcept final {
    if (auto e = start_once()) return fail(std::move(e));  // before anything else
    // Side notifications (ask() continuations) first: they may be what woke us. A kill()
    // signals too, so it is seen here, at the turn boundary, and costs nothing otherwise.
    if (this->mailbox_.signalled()) {
      if (auto e = this->serve_side()) return fail(std::move(e));
      if (this->interrupted()) {  // a kill (its queue becomes dead letters), or a supervisor
        if (auto r = interrupt(nullptr)) return *r;
      }
    }
    for (unsigned i = 0; i < budget; ++i) {
      auto [n, retired] = this->mailbox_.pop();
      this->free_retired(retired);
      if (n == nullptr) {
        if (this->template try_go_idle<node_type>()) return detail::turn_result::idle;
        if (!this->mailbox_.signalled()) return detail::turn_result::runnable;  // a push
        if (auto e = this->serve_side()) return fail(std::move(e));
        if (this->interrupted()) {  // e.g. self().kill() in a handler
          if (auto r = interrupt(nullptr)) return *r;
        }
        continue;
      }
      if (this->is_close_sentinel(n)) {
        this->finish(nullptr);
        return detail::turn_result::stopped;
      }
      // A kill() since the last message (this one is not run), or a supervisor's restart
      // (this one goes to the fresh state): checked for certain per message, since the
      // signal that also says so may be seen late (the state word shares the mailbox's
      // cache line, which the pop above touched anyway). The same load says whether the
      // mailbox is bounded (count the message) and whether a send asked to mute us.
      if (this->needs_attention()) {
        this->message_taken();
        // An earlier handler filled a bounded mailbox: this message is the turn's last
        // (the loop ends after it, and the worker mutes us).
        if (this->take_mute_request()) i = budget - 1;
        if (this->interrupted()) {
          if (auto r = interrupt(n)) return *r;
        }
      }
      auto* m = static_cast<node_type*>(n);
      if (this->drop_if_stale(m, false, turn)) continue;  // a down demonitored since
      try {
        dispatch(m, turn);
      } catch (...) {
        m->destroy_payload();
        return fail(std::current_exception());
      }
      m->destroy_payload();
    }
    return detail::turn_result::runnable;
  }

  // A send of ours left a bounded receiver over capacity: end the turn after this message.
  void throttled() noexcept final { this->request_mute(); }

  // on_start(), if Derived has one and it has not run yet for this incarnation; what it threw.
  std::exception_ptr start_once() noexcept {
    if constexpr (detail::has_on_start<Derived>) {
      if (this->first_start()) {
        try {
          static_cast<Derived&>(*this).on_start();
        } catch (...) {
          return std::current_exception();
        }
      }
    }
    return nullptr;
  }

  // A kill or a supervisor's request is pending (interrupted()); `taken` is the message just
  // popped, if any (nullptr at a turn boundary). Returns what to end the turn with, or
  // nothing to go on — after a restart in place, with the fresh state (its on_start() run).
  std::optional<detail::turn_result> interrupt(detail::mailbox_node* taken) noexcept {
    detail::turn_result r{};
    switch (this->supervision_request(r, taken)) {
      case detail::request_outcome::restarted:
        if (auto e = start_once()) {
          if (taken != nullptr) this->dead_letter(taken);
          return fail(std::move(e));
        }
        return std::nullopt;
      case detail::request_outcome::turn_ends:
        return r;
      case detail::request_outcome::none:
        break;
    }
    if (!this->kill_requested()) return std::nullopt;  // a suspension waits for a boundary
    if (taken != nullptr) this->dead_letter(taken);
    return fail(nullptr);
  }

  // Failed (e), or killed (nullptr): stops, or suspends a supervised child.
  detail::turn_result fail(std::exception_ptr e) noexcept { return this->stop_for(std::move(e)); }
};

}  // namespace troupe
