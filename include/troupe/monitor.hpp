// troupe/monitor.hpp — knowing when another actor stops: monitors and links (Erlang's
// monitor/2 and link/1).
//
// Monitor — one-way, one notification. An actor whose message list has troupe::down:
//
//   struct Front : troupe::actor<Front, Request, troupe::down> {
//     troupe::monitor_handle watch;
//     void on_start() { watch = monitor(backend); }           // any ref to any actor
//     void on(troupe::down d) { log(troupe::to_string(d.reason)); /* d.id stopped */ }
//   };
//
// From a thread outside the pool: troupe::monitor(ref) returns a troupe::result<down> (get()
// it, or then() it into an actor), or troupe::monitor(ref, callback) calls back.
//
// Guarantees:
//   * Exactly one `down` per monitor, when the target stops — at once if it had already
//     stopped (the reason is then still exact: it is kept as long as the actor's memory).
//   * A `down` comes after every message the target sent the watcher (it is sent by the
//     target's stopping, behind its last turn's sends).
//   * After demonitor() returns, no `down` for that monitor is handled: one already queued
//     is dropped unseen (for a callback: demonitor waits for one that is running).
//   * Monitor tables hold no strong references: a monitored actor that stops is freed as
//     soon as its last ref goes, and a watcher that stops drops its monitors.
//
// Link — two-way, for actors that live and die together. link(other), from inside an actor:
// when either stops abnormally (failed, killed), the other is killed with the same reason
// (its `down` and its own links see that reason, with linked_from naming the first) —
// unless it traps exits (trap_exits(true), needs troupe::exit_signal in its message list):
// then it receives exit_signal{id, reason} instead, for every stop of a linked actor,
// normal ones included. unlink() guarantees that neither side acts on the other's stop
// afterwards. A link to an actor that has already stopped acts at once, as Erlang's does.
//
// Costs: none on the send path; on the dispatch path, only for an actor whose message list
// has troupe::down, one compare of the variant's index per message (is it a down, and was
// its monitor cancelled). An actor nobody monitors or links pays one bit test when it stops
// and one when it is freed. The first monitor or link of
// an actor makes an entry in a process-wide table (one of 64 mutex-guarded shards, keyed by
// actor id; runtime/actor/watch_table.cpp); a monitor is one small allocation.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <typeinfo>
#include <utility>

#include "troupe/detail/watch.hpp"
#include "troupe/exit_reason.hpp"
#include "troupe/ref.hpp"
#include "troupe/result.hpp"
#include "troupe/stats.hpp"

namespace troupe {

/// Sent to a watcher when an actor it monitors stops (exactly once per monitor).
struct down {
  actor_id id = 0;  ///< the actor that stopped
  exit_reason reason;

  /// Internal: the monitor this down answers (lets demonitor() drop a queued down).
  detail::monitor_ptr monitor{};
};

/// Sent to an actor that traps exits (trap_exits(true)) when an actor linked to it stops.
struct exit_signal {
  actor_id id = 0;  ///< the linked actor that stopped
  exit_reason reason;
};

/// A monitor, for demonitor(). Move-only; letting it go does not demonitor.
class monitor_handle {
 public:
  monitor_handle() noexcept = default;
  /// The monitored actor's id (0 for an empty handle).
  actor_id target() const noexcept { return token_ ? token_->target() : 0; }
  explicit operator bool() const noexcept { return static_cast<bool>(token_); }

 private:
  friend struct detail::watch_access;
  explicit monitor_handle(detail::monitor_ptr t) noexcept : token_(std::move(t)) {}
  detail::monitor_ptr token_;
};

/// Any thread: monitors `target` on behalf of no actor. `on_down` runs once, on the thread
/// that stops the target (a worker: keep it short, it must not block or throw), or on this
/// thread before monitor() returns if the target has already stopped. Throws troupe::error
/// for an empty ref, std::bad_alloc if memory runs out.
template <class... Msgs>
monitor_handle monitor(const ref<Msgs...>& target, std::function<void(const down&)> on_down) {
  detail::actor_base* t = detail::ref_access::actor_of(target, "monitor()");
  return detail::watch_access::handle(detail::monitor_external(t, std::move(on_down)));
}

/// Any thread: a result that becomes ready with the `down` when `target` stops (get() it
/// outside the pool, then() it into an actor, co_await it in a coroutine actor). Not
/// cancellable: a result that is never taken costs its state until the target stops.
template <class... Msgs>
result<down> monitor(const ref<Msgs...>& target) {
  promise<down> p;
  result<down> r = p.get_result();
  auto shared = std::make_shared<promise<down>>(std::move(p));
  (void)monitor(target, [shared](const down& d) { shared->set_value(d); });
  return r;
}

/// Any thread (an actor's own monitors: in its turn): ends a monitor. After it returns no
/// `down` for it is handled or called back; true if none had been sent yet. Safe to call
/// twice and on an empty handle (false). Do not call it from the monitor's own callback.
inline bool demonitor(monitor_handle& h) noexcept {
  return detail::demonitor(detail::watch_access::token(h));
}

namespace detail {
inline const monitor_ptr& watch_access::token(const monitor_handle& h) noexcept { return h.token_; }
inline monitor_handle watch_access::handle(monitor_ptr t) noexcept {
  return monitor_handle(std::move(t));
}
}  // namespace detail

}  // namespace troupe
