// troupe/supervisor.hpp — supervision trees: an actor that starts children and restarts them
// when they fail, the way Erlang/OTP's supervisor does.
//
//   auto sup = rt.spawn<troupe::supervisor>(troupe::supervisor_options{
//       .strategy = troupe::restart_strategy::one_for_one, .max_restarts = 5, .within = 10s});
//   Backend::handle b = troupe::start_child<Backend>(sup, {}, "db-1");   // Backend("db-1")
//   b.send(Query{...});    // keeps working across restarts: the handle is stable
//
// Restart in place. A child is restarted in the same actor: same ref, same id, same mailbox,
// same name (a ref held anywhere keeps working, and messages sent while it restarts wait in
// its mailbox). A restart gives the actor a freshly constructed state by assignment,
// `child = T(args...)` with the arguments given to start_child() (copied and kept), then
// starts it again before any further message: an event actor's on_start(), a coroutine or
// blocking actor's run() from its top (a coroutine actor's frame and a blocking actor's fiber
// end when it is suspended; messages it had set aside stay queued). So T must be
// move-assignable: no const or reference members, and a T that declares a destructor must
// also declare `T& operator=(T&&) = default;`. Every actor kind can be supervised.
//
// What a failure does to a child: the exception that escaped its handler is reported
// (runtime_config::on_failure) and its on_stop() runs, as for any failure; the message
// whose handler threw counts as handled (a request in it is destroyed unanswered: its asker
// gets troupe::ask_dropped, ask.hpp). Then the child is suspended — it keeps its mailbox,
// handles nothing — until its supervisor restarts it or gives it up. A kill() of a child
// is treated the same way: its queue stays, and it is restarted.
//
// Strategies, on a child's failure or kill:
//   one_for_one   restart that child.
//   one_for_all   suspend every other child (at its next turn boundary: a long handler is
//                 waited for; a coroutine or blocking actor's run() is ended by throwing
//                 troupe::actor_exit from its receive or await, as a kill does; each runs
//                 on_stop()), then restart all of them, resumed in start order.
//   rest_for_one  the same, for the children started after the one that failed.
// Policies (child_options::restart): permanent and transient children are restarted;
// temporary ones are stopped for good (and, in a group restart, stopped rather than
// restarted). close() of a child stops it for good whatever its policy: that is how a child
// is ended; so does a coroutine or blocking child's run() that returns. transient and
// permanent are therefore alike for now: both are restarted after a failure or a kill.
//
// Intensity: more than max_restarts restarts within `within` and the supervisor gives up:
// it fails (troupe::error naming the last failure), stopping its children; its own
// supervisor, if it has one, then decides. A supervisor can be a child of another
// (start_child<troupe::supervisor>(parent, {}, options)): restarted by its parent, it starts
// its children anew from their specs — new actors with new refs, as OTP does (find them by
// name: names registered in on_start() follow).
//
// Stopping: a supervisor that stops (close(), kill(), its failure, runtime::shutdown())
// stops its children one at a time, last started first: each is closed, handles what was
// queued before its close, and is killed if it has not stopped after child_options::shutdown.
// This goes on after the supervisor itself has stopped (timers and monitors carry it; no
// worker waits). runtime::shutdown() leaves supervised children to their supervisors, so a
// tree stops in that order there too.
//
// Threads: start_child() works from any thread, inside handlers too; it throws
// troupe::error once the supervisor has stopped (or is stopping), or after shutdown().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/actor.hpp"
#include "troupe/detail/supervision.hpp"

namespace troupe {

/// Which children a supervisor restarts when one fails (see the top of this file).
enum class restart_strategy : unsigned char { one_for_one, one_for_all, rest_for_one };

struct supervisor_options {
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Restart intensity: more than this many restarts within `within` and the supervisor
  /// gives up (fails). OTP's default is 1 in 5 s; this one is a little more forgiving.
  unsigned max_restarts = 3;
  std::chrono::milliseconds within{5'000};
};

class supervisor : public actor<supervisor, detail::child_event> {
 public:
  explicit supervisor(supervisor_options options = {}) noexcept : options_(options) {}
  /// Restart in place by this supervisor's own supervisor: keeps the children's specs (to
  /// start them anew) and the options, forgets the restart history.
  supervisor& operator=(supervisor&& fresh) noexcept;
  ~supervisor() override;

  void on_start();
  void on(detail::child_event e);
  void on_stop();

  /// Children currently supervised (started and not stopped for good); a snapshot.
  std::size_t children() const;

 private:
  template <class T, class... Args>
  friend typename T::handle start_child(const handle& sup, child_options options, Args&&... args);
  using slot_ptr = std::shared_ptr<detail::child_slot>;

  /// start_child(): spawns the child through `slot->start` and lists it; returns it with a
  /// reference for the caller's handle. Any thread. Throws troupe::error once stopping.
  detail::actor_base* add_child(slot_ptr slot);
  void restart_or_give_up(const slot_ptr& failed, const exit_reason& why);
  void finish_group_restart();
  /// Counts one restart; false if that exceeds the intensity.
  bool note_restart();
  void forget(const slot_ptr& s);

  supervisor_options options_;
  mutable std::mutex mu_;  // children_ and stopping_, against start_child() on other threads
  std::vector<slot_ptr> children_;  // start order
  std::vector<slot_ptr> specs_;     // after on_stop(): the children's specs, for on_start()
  bool stopping_ = false;
  bool start_anew_ = false;  // restarted in place by our supervisor: on_start() restarts all
  std::uint64_t next_seq_ = 0;
  std::deque<std::chrono::steady_clock::time_point> restarts_;  // within the window
};

namespace detail {
/// Spawns a supervised child of type T on `core` (see start_child()).
template <class T, class... Args>
actor_base* spawn_supervised(runtime_core* core, child_link link, const Args&... args) {
  auto start = [core](auto* a) -> actor_base* {
    a->add_ref();  // the slot's reference
    a->mark_supervised();
    return register_and_start(core, a);
  };
  if constexpr (declares_mailbox_capacity<T>) {  // bounded (bounded.hpp)
    return start(new supervised<bounded_actor<T>>(std::move(link), T::mailbox_capacity, args...));
  } else {
    return start(new supervised<T>(std::move(link), args...));
  }
}
}  // namespace detail

/// Starts a child of type T, constructed from `args` (kept, copied, for restarts), under
/// supervisor `sup`, and returns its handle — stable across restarts. Any thread; throws
/// troupe::error if the supervisor is stopping or has stopped, or after shutdown().
template <class T, class... Args>
typename T::handle start_child(const supervisor::handle& sup, child_options options,
                               Args&&... args) {
  static_assert(
      requires { T::restartable_in_place; },
      "troupe::start_child: T must be a troupe actor (actor, coro_actor or "
      "blocking_actor)");
  static_assert(!std::is_final_v<T>,
                "troupe::start_child: T must not be final (the runtime derives from it to "
                "link the child to its supervisor)");
  static_assert(std::is_move_assignable_v<T>,
                "troupe::start_child: a supervised actor is restarted in place by assigning "
                "it a fresh T; T must be move-assignable (no const or reference members; "
                "with a destructor, also declare `T& operator=(T&&) = default;`)");
  static_assert((std::is_copy_constructible_v<std::decay_t<Args>> && ...),
                "troupe::start_child: the constructor arguments are kept to construct each "
                "restart's T, so they must be copyable");
  auto args_kept = std::make_shared<std::tuple<std::decay_t<Args>...>>(std::forward<Args>(args)...);
  auto slot = std::make_shared<detail::child_slot>();
  slot->options = options;
  slot->start = [args_kept](detail::runtime_core* core,
                            const std::shared_ptr<detail::child_slot>& self,
                            const ref<detail::child_event>& supervisor) {
    return std::apply(
        [&](const auto&... a) {
          return detail::spawn_supervised<T>(core, detail::child_link{self, supervisor, {}}, a...);
        },
        *args_kept);
  };
  slot->reinit = [args_kept](detail::actor_base& a) {
    std::apply([&](const auto&... x) { static_cast<T&>(a) = T(x...); }, *args_kept);
  };
  auto* sv = static_cast<supervisor*>(detail::ref_access::actor_of(sup, "start_child()"));
  return typename T::handle(detail::adopt_tag{}, sv->add_child(std::move(slot)));
}

}  // namespace troupe
