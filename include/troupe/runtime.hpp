// troupe/runtime.hpp — the runtime: a pool of worker threads that runs actors.
//
//   troupe::runtime rt;                    // one worker per hardware thread
//   auto c = rt.spawn<Counter>();          // typed handle
//   c.send(Add{5});
//   rt.shutdown();                         // drain, close every actor, join the workers
//
// Workers: each owns a Chase–Lev work-stealing deque of runnable actors plus a LIFO slot
// for the actor it woke last; sends from other threads go through an injection queue.
// Idle workers steal, spin briefly, then sleep; an idle runtime uses no CPU.
//
// shutdown() (also run by the destructor) refuses new spawns, waits until no message is in
// flight between actors (at most runtime_config::drain_timeout), closes every live actor,
// waits until each has handled everything sent before its close and stopped (a coroutine
// or blocking actor awaiting a result when its close arrives stops waiting), then joins
// the workers. It is idempotent and safe to call concurrently with sends; sends after it
// become dead letters, and threads that keep sending cannot hold it up. Call it from a
// thread that is not one of this runtime's own workers: there it throws troupe::error,
// and the destructor prints why and calls std::terminate(). On another runtime's worker
// (a runtime made and ended inside a handler) it works, blocking that worker meanwhile.
// shutdown() waits as long as the actors take (saying on stderr, after 10 s, which handlers
// it waits for); shutdown(deadline) bounds it and reports who held it up (diagnostics.hpp).
// runtime_config::stuck_handler_limit reports long handlers while the runtime runs.
//
// Names (Erlang's register/whereis): an actor can be found by a string instead of a ref.
//
//   rt.register_name("db", rt.spawn<Database>());              // ref<Get, Put>
//   std::optional<troupe::ref<Get>> db = rt.lookup<Get>("db");  // elsewhere, later
//   if (db) db->send(Get{"k"});
//
//   * Names are per runtime. A name names one actor; an actor may have several names.
//   * lookup<Msgs...>(name) checks at run time that the actor handles every one of Msgs...
//     (any subset of its message types, in any order) and returns an empty optional if not,
//     as it does for a name nobody registered or whose actor has stopped. The ref it returns
//     is like one narrowed from the actor's own (ref.hpp, "Narrowing") unless Msgs... is the
//     actor's list in its order.
//   * A name vanishes when its actor stops (close, kill, failure, shutdown): once join() has
//     returned, lookup() finds nothing under it and register_name() may give it to another
//     actor. A lookup that races with the stop may still return the actor's ref; sends
//     through it then become dead letters, as through any ref to a stopped actor.
//   * The table holds no reference: a name never keeps an actor (or its memory) alive.
//   * From inside an actor's handlers: the same three functions as protected members of the
//     actor (register_name("db", self()), lookup<Get>("db"), unregister_name("db")), on the
//     actor's own runtime.
// Costs: one mutex per runtime (the name table), taken by these three functions and by the
// stop of an actor that was named; never by sends, and never by an actor that was not named.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "troupe/actor.hpp"
#include "troupe/diagnostics.hpp"
#include "troupe/stats.hpp"

namespace troupe {

struct runtime_config {
  /// Worker threads; 0 means std::thread::hardware_concurrency().
  unsigned workers = 0;
  /// Messages an actor may handle per turn before others get the worker (fairness).
  unsigned batch = 64;
  /// Capacity of each worker's deque (a power of two, at least 2). When it is full, half
  /// of it moves to the shared injection queue.
  std::size_t deque_capacity = 256;
  /// Rounds of stealing an idle worker makes before it sleeps, at most: a worker whose
  /// sleeps last longer than 1 ms halves its spin after each (down to none), and spins in
  /// full again once work comes sooner (docs/architecture.md, "Idle protocol").
  unsigned spin_rounds = 32;
  /// Called for each message that reaches a stopped actor, on the thread that drained it
  /// (a worker, or the sender). Must not throw. Counted in stats() whether set or not.
  std::function<void(const dead_letter&)> on_dead_letter{};
  /// shutdown() first lets the work in flight finish: it waits until no message is queued
  /// or being handled anywhere (pending timers do not count), for at most this long, and
  /// only then closes every actor. If actors keep each other busy past the limit it says
  /// so on stderr and closes them anyway. Zero: close at once, dead-lettering what is in
  /// flight. The default is Erlang/OTP's default shutdown time.
  std::chrono::milliseconds drain_timeout{5'000};
  /// Called when an exception stops an actor, on the worker that ran it. Must not throw.
  /// Default: one line on stderr naming the actor and the exception.
  std::function<void(const failure&)> on_failure{};
  /// The stuck-handler watchdog: a handler still running after this long is reported, once,
  /// through on_stuck_handler (diagnostics.hpp). Zero (the default) turns the watchdog off:
  /// no thread, no cost. When on, one thread looks at what each worker runs every quarter
  /// of the limit (at least every 1 ms); the handlers themselves are never timed.
  std::chrono::milliseconds stuck_handler_limit{0};
  /// Called on the watchdog thread for each stuck handler; must not throw and should return
  /// quickly (the watchdog waits for it). Default: one line on stderr.
  std::function<void(const stuck_handler&)> on_stuck_handler{};
};

class runtime {
 public:
  runtime();
  explicit runtime(runtime_config config);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Constructs an actor of type T (derived from actor<T, Msgs...>) from `args` and returns
  /// its handle. Callable from any thread, including handlers. Throws troupe::error once
  /// shutdown() has begun. A first argument troupe::bounded{n} is not passed to T: it gives
  /// the actor a mailbox bounded to n messages (bounded.hpp), as a declared
  /// `static constexpr std::size_t mailbox_capacity` does for every T.
  template <class T, class... Args>
  typename T::handle spawn(Args&&... args) {
    return detail::spawn_on<T>(core_, std::forward<Args>(args)...);
  }

  /// Refuses new spawns (from the instant it is called: spawn() then throws
  /// troupe::error), waits for the messages in flight to be handled (see drain_timeout),
  /// closes every live actor, waits for all of them to stop, joins the workers. Throws
  /// troupe::error on one of this runtime's own workers.
  void shutdown();

  /// shutdown() with a time limit. The drain (for at most half of `deadline`, and at most
  /// drain_timeout) and the closes run as in shutdown(), for at most `deadline` in all. Actors that
  /// have not stopped when it passes are killed (their queued messages become dead letters with
  /// reason dead_letter_reason::shutdown_deadline) and given up to kill_grace to stop. The report
  /// (diagnostics.hpp) names each actor that had not stopped at the deadline: its id and type, the
  /// message it was handling and for how long. It returns within deadline + kill_grace plus the
  /// time to walk the live actors, even when a handler never returns: such a handler is named in
  /// the report and its worker abandoned (report.complete == false; exit the process). A zero
  /// deadline kills at once, without draining. Called again after a shutdown, returns an empty
  /// report at once. Throws troupe::error on one of this runtime's own workers.
  shutdown_report shutdown(std::chrono::milliseconds deadline);
  /// How long shutdown(deadline) waits for the actors it killed to stop.
  static constexpr std::chrono::milliseconds kill_grace{1'000};

  /// Counters; exact after shutdown() (see runtime_stats).
  runtime_stats stats() const;

  /// Number of worker threads.
  unsigned workers() const noexcept;

  // ---- names (see the file comment) ------------------------------------------------------

  /// Names the actor of `r` `name` on this runtime. Returns true if `name` names that actor
  /// now (also when it already did); false, changing nothing, if `name` names another actor
  /// that has not stopped, or if this one has stopped. Throws troupe::error for an empty ref,
  /// an actor of another runtime, or once shutdown() has begun (as spawn() does);
  /// std::bad_alloc if the table cannot grow. Any thread.
  template <class... Msgs>
  bool register_name(std::string name, const ref<Msgs...>& r) {
    return detail::register_ref_name(core_, std::move(name), r);
  }

  /// A ref to the actor `name` names, if it has not stopped and handles every one of
  /// Msgs... (a subset of its message types, in any order); else an empty optional. Any
  /// thread.
  template <class... Msgs>
  std::optional<ref<Msgs...>> lookup(std::string_view name) const {
    return detail::lookup_ref<Msgs...>(core_, name);
  }

  /// Removes `name`, whichever actor it names; true if it named one. The actor itself is not
  /// affected (it keeps running and keeps its other names). Any thread.
  bool unregister_name(std::string_view name);

 private:
  detail::runtime_core* core_;
};

}  // namespace troupe
