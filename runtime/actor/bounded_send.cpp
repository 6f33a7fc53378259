// runtime/actor/bounded_send.cpp — the send path of bounded mailboxes: counting, muting
// senders inside the pool, and blocking senders outside it. See
// include/troupe/detail/bounded_mailbox.hpp for the invariants (INV-BOUND-1..3) and
// docs/architecture.md, "Bounded mailboxes", for the design.
#include <new>
#include <semaphore>
#include <thread>

#include "sched/runtime_core.hpp"
#include "sched/worker.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/bounded_mailbox.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

constinit thread_local bool tls_never_waits = false;  // see never_wait_for_room_on_this_thread()

// A muted actor on a receiver's waiter list. The actor cannot stop while it waits (nobody
// runs it), so its life reference keeps it alive: the node holds none of its own.
struct actor_waiter final : room_waiter {
  actor_base* muted;
  static void wake_it(room_waiter* self) noexcept {
    auto* w = static_cast<actor_waiter*>(self);
    actor_base* const a = w->muted;
    delete w;
    a->unmute();
  }
};

// An outside thread in send() or send_for(). Two holds: the list's (dropped by wake) and the
// thread's (dropped when it stops waiting, woken or timed out); the last one frees it.
struct thread_waiter final : room_waiter {
  atomic<int> holds{2};
  std::binary_semaphore woken{0};
  static void wake_it(room_waiter* self) noexcept {
    auto* w = static_cast<thread_waiter*>(self);
    w->woken.release();
    w->drop();
  }
  void drop() noexcept {
    // acq_rel: the last holder's delete happens-after the other holder's uses.
    if (holds.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }
};

}  // namespace

void never_wait_for_room_on_this_thread() noexcept { tls_never_waits = true; }

bounded_state::~bounded_state() {
  // An actor is destroyed after its finish() woke every waiter (INV-BOUND-1), or without
  // ever having run (a failed spawn), when nobody could have waited.
  wake_all();
}

void bounded_state::wake_all() noexcept {
  // seq_cst: INV-BOUND-2 (and acquire: pairs with add_waiter()'s CAS, so each node is
  // fully written).
  room_waiter* w = waiters_.exchange(nullptr, memory_order_seq_cst);
  while (w != nullptr) {
    room_waiter* const next = w->next;
    w->wake(w);  // may free w
    w = next;
  }
}

void actor_base::mark_bounded() noexcept {
  // relaxed: before registration, which publishes the actor.
  state_.fetch_or(actor_state::bounded, memory_order_relaxed);
}

void actor_base::count_taken() noexcept { bounds().taken_one(); }

bool actor_base::stopped_for_waiters() const noexcept {
  // seq_cst: INV-BOUND-2 — the recheck after the waiter's push and fence.
  return (state_.load(memory_order_seq_cst) & actor_state::stopped) != 0;
}

void actor_base::request_mute() noexcept {
  // relaxed: set and read by this actor's consumer only (the thread running its turn).
  state_.fetch_or(actor_state::mute_requested, memory_order_relaxed);
}

bool actor_base::take_mute_request() noexcept {
  // relaxed: as request_mute().
  if ((state_.load(memory_order_relaxed) & actor_state::mute_requested) == 0) return false;
  state_.fetch_and(~actor_state::mute_requested, memory_order_relaxed);
  worker* const w = tls_current_worker;
  return w != nullptr && w->mute_pending();
}

std::optional<std::size_t> actor_base::queue_length() noexcept {
  // relaxed: `bounded` is set before registration.
  if ((state_.load(memory_order_relaxed) & actor_state::bounded) == 0) return std::nullopt;
  return bounds().queued();
}

void actor_base::push_counted(mailbox_node* n, worker* w) noexcept {
  if (refuses_sends()) {  // INV-STOP-1: our own message only, never a drain
    dead_letter_chain(n, n, running_actor_id());
    return;
  }
  if (mailbox_.push(n)) became_runnable(w);  // else someone else owns it (INV-MAILBOX-3)
}

void actor_base::enqueue_bounded(mailbox_node* n, worker* w) noexcept {
  bounded_state& b = bounds();
  // Every send to a bounded actor is counted on its own: never chained in the outbox.
  if (w != nullptr) w->forget_direct(this);
  worker* const here = tls_current_worker;  // this runtime's or another's
  if (here == nullptr && !tls_never_waits && !refuses_sends()) {
    // A thread outside every pool: wait for a place, then send.
    (void)wait_for_room(b, nullptr);
    push_counted(n, w);
    return;
  }
  const std::int64_t queued = b.add_one();
  push_counted(n, w);
  if (queued <= static_cast<std::int64_t>(b.capacity()) || here == nullptr) return;
  // Inside a pool: the running actor (if any, and not us) waits once its turn ends.
  // relaxed: our own turn record (turn_record.hpp).
  actor_base* const running = here->turn().actor.load(memory_order_relaxed);
  if (running == nullptr || running == this) return;
  if (here->request_mute(this)) running->throttled();  // a blocking actor parks here
  // Nothing after throttled(): a parked fiber resumes later, maybe on another thread.
}

bool actor_base::reserve_room(const std::chrono::steady_clock::time_point* deadline) {
  // relaxed: `bounded` is set before registration.
  if ((state_.load(memory_order_relaxed) & actor_state::bounded) == 0) return true;
  bounded_state& b = bounds();
  if (b.try_reserve()) return true;
  if (refuses_sends()) {  // stopped: the send dead-letters anyway
    (void)b.add_one();
    return true;
  }
  if (deadline == nullptr) return false;
  if (tls_current_worker != nullptr) {
    throw error(
        "send_for() called on a worker thread (inside a handler); waiting would block the "
        "worker the receiver may need. Use send() (the runtime mutes the sender until the "
        "receiver has room) or try_send().");
  }
  return wait_for_room(b, deadline);
}

void actor_base::release_room() noexcept {
  // relaxed: `bounded` is set before registration.
  if ((state_.load(memory_order_relaxed) & actor_state::bounded) != 0) bounds().unreserve();
}

void actor_base::enqueue_reserved(mailbox_node* n) noexcept {
  // relaxed: `bounded` is set before registration.
  if ((state_.load(memory_order_relaxed) & actor_state::bounded) == 0) {
    enqueue(n);
    return;
  }
  runtime_core* const core = this->core();
  worker* const w = current_worker_of(core);
  if (w != nullptr) {
    worker_counters::add(w->counters().sent, 1);
    w->forget_direct(this);
    w->flush_outbox();  // causality: this thread's earlier sends to others go out first
  } else {
    if (worker* other = tls_current_worker) other->flush_outbox();
    core->count_external_sent();
  }
  push_counted(n, w);
}

bool actor_base::wait_for_room(bounded_state& b,
                               const std::chrono::steady_clock::time_point* deadline) noexcept {
  for (;;) {
    if (b.try_reserve()) return true;
    if (refuses_sends()) {  // stopped: the message dead-letters, counted or not
      (void)b.add_one();
      return true;
    }
    if (deadline != nullptr && std::chrono::steady_clock::now() >= *deadline) return false;
    auto* t = new (std::nothrow) thread_waiter;
    if (t == nullptr) {  // no memory for a waiter: poll
      std::this_thread::yield();
      continue;
    }
    t->wake = &thread_waiter::wake_it;
    b.add_waiter(t);
    // seq_cst: INV-BOUND-2 — our push before the recheck's reads.
    std::atomic_thread_fence(memory_order_seq_cst);
    if (b.has_room(true) || stopped_for_waiters()) b.wake_all();  // wakes us too
    if (deadline != nullptr) {
      (void)t->woken.try_acquire_until(*deadline);
    } else {
      t->woken.acquire();
    }
    t->drop();
  }
}

bool actor_base::mute_on(actor_base& receiver) noexcept {
  bounded_state* const mine = bound();
  // INV-BOUND-3: an actor over its own capacity drains rather than waits.
  if (mine != nullptr && mine->over_capacity()) return false;
  bounded_state& theirs = receiver.bounds();
  if (!bounded_state::mute_unless_waiting(mine, theirs)) return false;
  auto* w = new (std::nothrow) actor_waiter;
  if (w == nullptr) {  // no memory for a waiter: overshoot instead
    if (mine != nullptr) mine->unmute();
    return false;
  }
  w->wake = &actor_waiter::wake_it;
  w->muted = this;
  theirs.add_waiter(w);
  // seq_cst: INV-BOUND-2 — our push before the recheck's reads.
  std::atomic_thread_fence(memory_order_seq_cst);
  if (theirs.has_room(false) || receiver.stopped_for_waiters()) theirs.wake_all();
  return true;  // parked (or already rescheduled by the wake above)
}

void actor_base::unmute() noexcept {
  if (bounded_state* mine = bound()) mine->unmute();
  // The muted actor kept its mailbox non-idle and sits in no run queue: it is ours to
  // schedule, as after winning its idle→non-empty transition.
  if (worker* w = current_worker_of(core())) {
    w->schedule_local(this);
  } else {
    core()->inject_external(this);
  }
}

}  // namespace troupe::detail
