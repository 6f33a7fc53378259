// runtime/actor/actor_base.cpp — the type-independent half of an actor: sending, closing,
// joining, stopping and draining. See include/troupe/detail/actor_base.hpp for the state
// machine and who may touch which field.
#include "troupe/detail/actor_base.hpp"

#include <cassert>

#include "actor/shard_table.hpp"
#include "sched/runtime_core.hpp"
#include "sched/worker.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

runtime_core* actor_base::core() const noexcept {
  // relaxed: the shard bits are stored once before the actor is published; every reader
  // got the actor through a chain that happens-after that store.
  return shard_owner[state_.load(memory_order_relaxed) >> actor_state::shard_shift];
}

actor_base::~actor_base() {
  if (runtime_core* c = core()) c->release_actor_ref();
}

void actor_base::enqueue(mailbox_node* n) noexcept {
  runtime_core* const core = this->core();
  worker* w = current_worker_of(core);
  if (w != nullptr) {
    worker_counters::add(w->counters().sent, 1);
    if (w->coalesce(this, n)) return;  // goes out with the turn's other sends to us
  } else {
    // A handler sending to another runtime's actor: earlier sends first (causality).
    if (worker* other = tls_current_worker) other->flush_outbox();
    core->count_external_sent();
  }
  if (mailbox_.push(n)) became_runnable(w);  // else someone else owns it (INV-MAILBOX-3)
}

void actor_base::enqueue_chain(mailbox_node* first, mailbox_node* last, worker& w) noexcept {
  if (mailbox_.push_chain(first, last)) became_runnable(&w);
}

void actor_base::start_now() noexcept {
  if (mailbox_.try_claim()) became_runnable(current_worker_of(core()));
}

void actor_base::close() noexcept {
  // relaxed: the RMW alone picks the one caller that posts the sentinel; the push below
  // publishes it.
  if ((state_.fetch_or(actor_state::close_posted, memory_order_relaxed) &
       actor_state::close_posted) != 0) {
    return;
  }
  // The sentinel goes behind everything this thread sent before, including sends a
  // handler's outbox still holds.
  if (worker* w = tls_current_worker) w->flush_outbox();
  if (mailbox_.push(&close_node_)) became_runnable(current_worker_of(core()));
}

void actor_base::became_runnable(worker* w) noexcept {
  // We won the idle→non-empty transition: the actor is ours to schedule or drain.
  // relaxed: the winning push's acquire exchange synchronized with the release CAS in
  // try_mark_idle(), which finish() runs after setting `stopped`, so a stopped actor is
  // seen as stopped.
  if ((state_.load(memory_order_relaxed) & actor_state::stopped) != 0) {
    drain_stopped();
  } else if (w != nullptr) {
    w->schedule_local(this);
  } else {
    core()->inject_external(this);
  }
}

bool actor_base::is_stopped() const noexcept {
  // acquire: pairs with the release in finish()'s fetch_or; a caller that sees `stopped`
  // also sees what on_stop() did.
  return (state_.load(memory_order_acquire) & actor_state::stopped) != 0;
}

void actor_base::join() {
  if (tls_current_worker != nullptr) {
    throw error(
        "join() called on a worker thread (inside a handler); it would block the worker. "
        "Join from a thread outside the runtime, or send a message when the actor stops.");
  }
  // acquire: if `terminated` is already set, pairs with finish()'s release fetch_or.
  // The RMW orders us against finish()'s RMW: either it sees join_waiting and wakes us,
  // or we see `terminated` here and never sleep.
  std::uint32_t s = state_.fetch_or(actor_state::join_waiting, memory_order_acquire);
  while ((s & actor_state::terminated) == 0) {
    state_.wait(s, memory_order_acquire);
    s = state_.load(memory_order_acquire);  // acquire: as above
  }
}

void actor_base::finish(std::exception_ptr error) noexcept {
  try {
    on_stop_hook();
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  const std::uint32_t bits = actor_state::stopped | (error ? actor_state::failed : 0u);
  // release: publishes the actor's final state (on_stop's effects) to is_stopped().
  const std::uint32_t before = state_.fetch_or(bits, memory_order_release);
  assert((before & actor_state::stopped) == 0 && "illegal transition: an actor stops once");
  (void)before;
  runtime_core* const core = this->core();
  if (error) core->report_failure(*this, error);
  core->deregister_actor(this, static_cast<bool>(error));
  drain_stopped();
  // Our life reference keeps *this alive here even though, after drain_stopped(), a sender
  // may be draining the mailbox concurrently; state_ is atomic.
  // acq_rel: release publishes everything above (the failure report, the dead letters) to
  // join(); acquire pairs with join()'s fetch_or of join_waiting.
  if ((state_.fetch_or(actor_state::terminated, memory_order_acq_rel) &
       actor_state::join_waiting) != 0) {
    state_.notify_all();
  }
  release();  // the life reference; *this may be gone now
}

void actor_base::drain_stopped() noexcept {
  runtime_core* const core = this->core();
  std::uint64_t dropped = 0;
  for (;;) {
    auto [n, retired] = mailbox_.pop();
    free_retired(retired);
    if (n != nullptr) {
      if (!is_close_sentinel(n)) {
        drop_message(n);
        ++dropped;
      }
      continue;
    }
    mailbox_node* last = nullptr;
    if (mailbox_.try_mark_idle(last)) {  // after this, another sender may drain
      // Our caller holds a reference (finish(): the life reference; a sender: its
      // handle's), so *this is still alive to free the node through.
      free_retired(last);
      break;
    }
    cpu_relax();  // a push is half done (INV-MAILBOX-1): its link store is imminent
  }
  if (dropped != 0) core->count_dead_letters(dropped);
}

void actor_base::report_dead_letter(const std::type_info& type) const noexcept {
  core()->report_dead_letter(id(), type);
}

void register_spawned(runtime_core* core, actor_base* a) { core->register_actor(a); }

}  // namespace troupe::detail
