// troupe/detail/supervision.hpp — what a supervisor and its children share
// (troupe/supervisor.hpp): a child's slot (how to start it afresh and how to restart it in
// place), the link a supervised child keeps to its supervisor, and the event it sends when
// it stops or is suspended. Installed because start_child() is a template; not API. The
// protocol is described in runtime/supervision/supervisor.cpp and docs/architecture.md,
// "Supervision".
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/exit_reason.hpp"
#include "troupe/ref.hpp"

namespace troupe {

/// When a supervisor restarts a child that stopped (supervisor.hpp).
enum class restart_policy : unsigned char {
  permanent,  ///< after a failure or a kill (close(), or run() returning, ends it for good)
  transient,  ///< after an abnormal stop only: for now the same as permanent
  temporary,  ///< never: a stopped temporary child is forgotten
};

/// How a child is started and stopped by its supervisor.
struct child_options {
  restart_policy restart = restart_policy::permanent;
  /// When the supervisor stops (and so stops its children, last started first), how long
  /// the child has to handle what is queued after its close before it is killed.
  std::chrono::milliseconds shutdown{5'000};
};

namespace detail {

struct child_event;

/// A child as its supervisor keeps it. Shared by the supervisor's list and the child's link
/// (shared_ptr); the fields are written by the supervisor (in its turns) only, after
/// start_child() created them, except where noted.
struct child_slot {
  child_options options;
  /// Spawns a fresh incarnation on `core`, supervised through `self` (the slot itself);
  /// returns it with one reference for the slot. For a supervisor restarted by its own
  /// supervisor, which starts its children anew.
  std::function<actor_base*(runtime_core* core, const std::shared_ptr<child_slot>& self,
                            const ref<child_event>& supervisor)>
      start;
  /// Restarts the actor in place: assigns it a freshly constructed state. Run by the child
  /// itself, in its own turn.
  std::function<void(actor_base& a)> reinit;
  /// The current incarnation (one reference, released when the slot is dropped).
  actor_base* actor = nullptr;
  std::uint64_t seq = 0;  ///< start order
  bool suspended = false;
  bool suspend_requested = false;  ///< asked to suspend for a group restart, no ack yet
};

/// What a supervised child keeps (detail::supervised<T>, below).
struct child_link {
  std::shared_ptr<child_slot> slot;
  ref<child_event> supervisor;
  /// The failure that suspended the child: what it stops with if the supervisor gives up.
  /// Written by the child before it reports, read by the child after it is resumed.
  std::exception_ptr failure;
  /// The child is suspended (its on_stop() has run, its failure is reported) or resumed to
  /// be given up; cleared by a restart. The child's own field, as `failure`.
  bool suspended = false;
};

/// A supervised child reports to its supervisor (one message type of troupe::supervisor).
/// `failed` and `suspended` leave the child suspended: whoever handles the event must
/// resume it (restart or give up); if it is destroyed unhandled (a dead letter: the
/// supervisor has stopped), its destructor gives up, so a suspended child is never stranded.
struct child_event {
  enum class kind : unsigned char {
    failed,     ///< a failure or kill: suspended, waiting for a restart or to be given up
    suspended,  ///< suspended at the supervisor's request (a group restart)
    stopped,    ///< stopped for good (its close, or given up); not suspended
  };
  kind what = kind::stopped;
  std::shared_ptr<child_slot> slot;
  exit_reason reason;

  child_event(kind k, std::shared_ptr<child_slot> s, exit_reason r) noexcept
      : what(k), slot(std::move(s)), reason(std::move(r)) {}
  child_event(child_event&& o) noexcept
      : what(o.what), slot(std::move(o.slot)), reason(std::move(o.reason)) {}
  child_event& operator=(child_event&&) = delete;
  ~child_event() { give_up_if_unhandled(); }
  /// The handler takes charge of the suspended child: the destructor leaves it alone.
  std::shared_ptr<child_slot> take() noexcept { return std::move(slot); }

 private:
  void give_up_if_unhandled() noexcept;
};

/// A supervised child: T with its link. What start_child() spawns; reports name T.
template <class T>
class supervised final : public T {
 public:
  template <class... Args>
  explicit supervised(child_link link, Args&&... args)
      : T(std::forward<Args>(args)...), link_(std::move(link)) {}
  child_link* supervision() noexcept override { return &link_; }

 private:
  child_link link_;
};

}  // namespace detail
}  // namespace troupe
