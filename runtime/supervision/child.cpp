// runtime/supervision/child.cpp — the child's side of supervision: how a supervised actor
// suspends instead of stopping, reports to its supervisor, and is restarted in place or
// stopped for good when the supervisor resumes it. The supervisor's side and the protocol as
// a whole: supervisor.cpp; the state bits: include/troupe/detail/actor_base.hpp.
//
// A suspended child has a mailbox that is not idle and is in no run queue: senders keep
// appending (a push onto a non-idle mailbox never schedules, INV-MAILBOX-3), and nobody
// runs it. Exactly one party resumes it — whoever handles the child_event it sent, or the
// event's destructor if the event is never handled — by setting restart_pending (or
// final_stop | kill_requested), signalling the mailbox and scheduling the actor. The
// scheduling is the hand-over: the supervisor's writes happen-before the resumed turn, as
// the suspended turn's writes (the event's send) happen-before the supervisor's decision.
#include <exception>
#include <utility>

#include "sched/runtime_core.hpp"
#include "sched/worker.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/supervision.hpp"
#include "troupe/detail/watch.hpp"

namespace troupe::detail {

void actor_base::mark_supervised() noexcept {
  // relaxed: before registration, which publishes the actor.
  state_.fetch_or(actor_state::supervised, memory_order_relaxed);
}

void actor_base::set_final_stop() noexcept {
  // relaxed: read by the consumer after the close or kill that follows, whose own
  // publication (the sentinel's push, the signal's release CAS) carries it.
  state_.fetch_or(actor_state::final_stop, memory_order_relaxed);
}

void actor_base::request_suspend() noexcept {
  // relaxed: published by signal()'s release CAS, as kill() does.
  state_.fetch_or(actor_state::suspend_requested, memory_order_relaxed);
  if (mailbox_.signal()) became_runnable(current_worker_of(core()));
}

void actor_base::resume_suspended(bool restart, bool in_order) noexcept {
  // relaxed: published by the scheduling below (a run queue's release), which the resumed
  // turn's acquire pop pairs with.
  state_.fetch_or(restart ? actor_state::restart_pending
                          : actor_state::final_stop | actor_state::kill_requested,
                  memory_order_relaxed);
  // The mailbox is not idle (a suspended turn never marks it idle), so signal() does not
  // schedule; the resumed turn serves the signal and so looks at the bits above.
  (void)mailbox_.signal();
  // in_order: through the runtime's queue (FIFO), not this worker's LIFO slot, so children
  // resumed one after another start their turns in that order (a group restart).
  became_runnable(in_order ? nullptr : current_worker_of(core()));
}

const std::type_info* actor_base::message_in_hand() const noexcept {
  worker* w = current_worker_of(core());
  // relaxed (both): this thread's own stores (turn_record.hpp).
  if (w == nullptr || w->turn().actor.load(memory_order_relaxed) != this) return nullptr;
  return w->turn().message.load(memory_order_relaxed);
}

namespace {
// A supervised child with one of these stops for good at its next kill or failure.
constexpr std::uint32_t for_good =
    actor_state::final_stop | actor_state::killed_at_deadline | actor_state::closed_by_shutdown;
}  // namespace

bool actor_base::suspends_on_stop() const noexcept {
  // relaxed: the consumer's own bits, or bits published to it as interrupted() says.
  const std::uint32_t s = state_.load(memory_order_relaxed);
  return (s & actor_state::supervised) != 0 && (s & for_good) == 0;
}

bool actor_base::suspension_requested() const noexcept {
  // relaxed: as suspends_on_stop().
  const std::uint32_t s = state_.load(memory_order_relaxed);
  return (s & actor_state::suspend_requested) != 0 && (s & actor_state::final_stop) == 0;
}

bool actor_base::resumed_to_stop() noexcept {
  return is_supervised() && supervision()->suspended && kill_requested();
}

turn_result actor_base::stop_for(std::exception_ptr error) noexcept {
  if (suspends_on_stop()) return suspend(std::move(error), false, true);
  // Stopping for good (a supervised child given up after a suspension: finish() stops it
  // with the failure that suspended it).
  finish(std::move(error));
  return turn_result::stopped;
}

request_outcome actor_base::supervision_request(turn_result& r, mailbox_node* taken) noexcept {
  // relaxed: as in stop_for().
  const std::uint32_t s = state_.load(memory_order_relaxed);
  if ((s & actor_state::restart_pending) != 0) {
    // relaxed: the consumer's own bits; an RMW keeps other threads' concurrent ones. A kill
    // or suspension request made before this restart is answered by it.
    state_.fetch_and(~(actor_state::restart_pending | actor_state::kill_requested |
                       actor_state::suspend_requested | actor_state::started),
                     memory_order_relaxed);
    child_link* link = supervision();
    link->failure = nullptr;
    link->suspended = false;
    try {
      link->slot->reinit(*this);  // the fresh state; the caller runs its on_start()
    } catch (...) {
      // A failed restart counts as a failure. The old state already ran on_stop().
      if (taken != nullptr) dead_letter(taken);
      r = suspend(std::current_exception(), false, false);
      return request_outcome::turn_ends;
    }
    return request_outcome::restarted;
  }
  if ((s & actor_state::suspend_requested) != 0 && taken == nullptr) {
    // relaxed: as above.
    state_.fetch_and(~actor_state::suspend_requested, memory_order_relaxed);
    if ((s & actor_state::final_stop) != 0) return request_outcome::none;  // stopping anyway
    r = suspend(nullptr, true, true);
    return request_outcome::turn_ends;
  }
  return request_outcome::none;
}

turn_result actor_base::suspend(std::exception_ptr error, bool asked, bool run_on_stop) noexcept {
  child_link* link = supervision();
  // The incarnation that ends here cleans up, as it would if it stopped.
  try {
    if (run_on_stop) on_stop_hook();
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  exit_reason reason;
  if (error) {
    reason.what = exit_reason::kind::failed;
    reason.error = error;
    reason.message_type = message_in_hand();
    core()->report_failure(*this, error);
  } else if (!asked) {
    reason.what = exit_reason::kind::killed;
  }
  link->failure = error;
  link->suspended = true;
  const auto kind = error || !asked ? child_event::kind::failed : child_event::kind::suspended;
  try {
    link->supervisor.send(child_event(kind, link->slot, std::move(reason)));
  } catch (...) {
    // The event could not be allocated: nobody could resume us. Stop for good instead.
    finish(nullptr);  // with the failure that suspended it
    return turn_result::stopped;
  }
  return turn_result::suspended;
}

void actor_base::supervised_stopped(std::exception_ptr error, std::uint32_t state) noexcept {
  child_link* link = supervision();
  exit_reason reason = exit_reason_of_state(state);
  if (error) {
    reason.what = exit_reason::kind::failed;
    reason.error = std::move(error);
  }
  try {
    link->supervisor.send(child_event(child_event::kind::stopped, link->slot, std::move(reason)));
  } catch (...) {
    // Out of memory: the supervisor keeps the slot until it stops (a reference to our
    // memory, not to a running actor).
  }
}

void child_event::give_up_if_unhandled() noexcept {
  if (slot && what != kind::stopped && slot->actor != nullptr) {
    slot->actor->resume_suspended(false);
  }
}

}  // namespace troupe::detail
