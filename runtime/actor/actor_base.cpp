// runtime/actor/actor_base.cpp — the type-independent half of an actor: sending, closing,
// joining, stopping and draining. See include/troupe/detail/actor_base.hpp for the state
// machine and who may touch which field.
#include "troupe/detail/actor_base.hpp"

#include <cassert>
#include <string>
#include <utility>

#include "actor/shard_table.hpp"
#include "sched/runtime_core.hpp"
#include "sched/worker.hpp"
#include "troupe/detail/supervision.hpp"
#include "troupe/detail/type_name.hpp"
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
  } else {
    // A handler sending to another runtime's actor: earlier sends first (causality).
    if (worker* other = tls_current_worker) other->flush_outbox();
    core->count_external_sent();
  }
  // Joins the turn's other sends to us; enqueue_chain() checks for a stop when it pushes
  // them, so this path does not touch our cache line.
  if (w != nullptr && w->coalesce(this, n)) return;
  // relaxed: as refuses_sends(); `bounded` is set before registration. One test for both.
  const std::uint32_t s = state_.load(memory_order_relaxed);
  if ((s & (actor_state::stopped | actor_state::bounded)) != 0) [[unlikely]] {
    if ((s & actor_state::stopped) != 0) {  // INV-STOP-1: our own message only, never a drain
      dead_letter_chain(n, n, running_actor_id());
    } else {
      enqueue_bounded(n, w);  // counts, and may make the sender wait (bounded_send.cpp)
    }
    return;
  }
  if (mailbox_.push(n)) became_runnable(w);  // else someone else owns it (INV-MAILBOX-3)
}

void actor_base::enqueue_chain(mailbox_node* first, mailbox_node* last, worker& w) noexcept {
  if (refuses_sends()) {  // INV-STOP-1: the chain is this worker's own sends
    dead_letter_chain(first, last, w.outbox_sender());
    return;
  }
  if (mailbox_.push_chain(first, last)) became_runnable(&w);
}

bool actor_base::refuses_sends() const noexcept {
  // relaxed: a stale "not stopped" only means the node goes into the mailbox and the drain
  // takes it; INV-STOP-1 bounds how often that can happen (finish()'s RMW on the mailbox
  // head makes every later push happen-after `stopped`, so this thread's next load sees it).
  return (state_.load(memory_order_relaxed) & actor_state::stopped) != 0;
}

void actor_base::dead_letter_chain(mailbox_node* first, mailbox_node* last,
                                   actor_id sender) noexcept {
  std::uint64_t n = 0;
  for (mailbox_node* m = first;;) {
    // relaxed: a private chain (the sender's own nodes), linked on this thread.
    mailbox_node* next = m == last ? nullptr : m->next.load(memory_order_relaxed);
    drop_message(m, sender);
    free_node(m);
    ++n;
    if (next == nullptr) break;
    m = next;
  }
  core()->count_dead_letters(n);
}

void actor_base::start_now() noexcept {
  if (mailbox_.try_claim()) became_runnable(current_worker_of(core()));
}

void actor_base::post(side_node* n) noexcept {
  if (n->message_type != nullptr) {  // counted before it can be handled (as enqueue() does)
    if (worker* w = current_worker_of(core())) {
      worker_counters::add(w->counters().sent, 1);
    } else {
      core()->count_external_sent();
    }
  }
  if (refuses_sends()) {  // INV-STOP-1, as for a message
    n->next = nullptr;
    discard_side(n, *this, running_actor_id());
    return;
  }
  // relaxed: only a first guess for the CAS below.
  side_node* top = side_.load(memory_order_relaxed);
  do {
    n->next = top;
    // release: publishes *n to take_side()'s acquire exchange. relaxed on failure: retry.
  } while (!side_.compare_exchange_weak(top, n, memory_order_release, memory_order_relaxed));
  if (mailbox_.signal()) became_runnable(current_worker_of(core()));
}

side_node* actor_base::take_side() noexcept {
  // acquire: pairs with post()'s release CAS; every node taken is fully written.
  side_node* list = side_.exchange(nullptr, memory_order_acquire);
  side_node* oldest_first = nullptr;
  while (list != nullptr) {
    side_node* n = std::exchange(list, list->next);
    n->next = std::exchange(oldest_first, n);
  }
  return oldest_first;
}

void actor_base::discard_side(side_node* list, actor_base& a, actor_id sender) noexcept {
  while (list != nullptr) {
    side_node* n = std::exchange(list, list->next);
    if (n->message_type != nullptr) {
      a.report_dead_letter(*n->message_type, sender);
      a.core()->count_dead_letters(1);
    }
    n->handle(n, a, false);
  }
}

std::exception_ptr actor_base::serve_side() noexcept {
  // The bit first, then the list: a post() after our exchange sets the bit again, so the
  // next try_mark_idle() fails and we come back (INV-MAILBOX-6).
  if (!mailbox_.clear_signal()) return nullptr;
  side_node* list = take_side();
  while (list != nullptr) {
    side_node* n = std::exchange(list, list->next);
    if (n->message_type != nullptr) {
      // Served inside our turn, so on a worker of our runtime (the turn's owner): its turn
      // record is ours to write, and the worker counts what it took as handled.
      worker* w = current_worker_of(core());
      assert(w != nullptr && "serve_side() outside the actor's turn");
      if (w != nullptr) w->turn().took(*n->message_type);
    }
    try {
      n->handle(n, *this, true);
    } catch (...) {
      discard_side(list, *this, 0);
      return std::current_exception();
    }
  }
  return nullptr;
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
  const bool after_suspension = is_supervised() && supervision()->suspended;
  if (after_suspension && !error) error = std::exchange(supervision()->failure, nullptr);
  try {
    if (!after_suspension) on_stop_hook();
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  // The last turn's outboxed sends (its handlers' and on_stop's) go out before anyone can
  // see this actor stopped: a join() or shutdown() that returns must find them queued, else
  // a close() right after could overtake them.
  flush_thread_outbox();
  // A failure's reason goes to the watch table first: a monitor that sees `stopped` reads
  // it (INV-WATCH-4). Failures are rare; actors that never fail pay nothing here.
  if (error) watched_failure(error);
  const std::uint32_t bits = actor_state::stopped | (error ? actor_state::failed : 0u);
  // release: publishes the actor's final state (on_stop's effects) to is_stopped(). Its
  // place in the state word's modification order also decides, against a monitor's or
  // link's RMW of `watched`, which of the two handles that watcher (INV-WATCH-2), and
  // settles a concurrent register_name() (INV-NAME-2, actor/name_table.hpp): if `named` is
  // in `before`, ours came second and we remove the names below; if not, register_name()'s
  // RMW will read `stopped` and list nothing.
  const std::uint32_t before = state_.fetch_or(bits, memory_order_release);
  assert((before & actor_state::stopped) == 0 && "illegal transition: an actor stops once");
  // INV-STOP-1: from here on a send that sees `stopped` dead-letters its own message, and
  // this RMW makes sure every sending thread sees it after at most one more push.
  mailbox_.publish_to_producers();
  if ((before & actor_state::bounded) != 0) {
    // INV-BOUND-2: `stopped` before the waiters are taken; a sender registering later sees
    // the stop in its recheck and wakes itself.
    // seq_cst: orders our `stopped` RMW before wake_all()'s exchange in the total order.
    std::atomic_thread_fence(memory_order_seq_cst);
    bounds().wake_all();
  }
  runtime_core* const core = this->core();
  if (error && !after_suspension) core->report_failure(*this, error);
  // Monitors and links (INV-WATCH-2: `before` says whether anyone watched us in time);
  // one bit test for actors that nobody watches.
  if ((before & (actor_state::watched | actor_state::supervised)) != 0) {
    if ((before & actor_state::watched) != 0) watched_stop();
    if ((before & actor_state::supervised) != 0) supervised_stopped(error, before);
    // The downs and the supervisor's event go out now, not at the end of the turn: a join()
    // that returns (`terminated`, below) must find them queued, as the turn's other sends.
    flush_thread_outbox();
  }
  // INV-NAME-1: before the life reference goes (release() below), and before `terminated`,
  // so that a lookup after join() finds none of our names. Unnamed actors skip the lock.
  if ((before & actor_state::named) != 0) core->names().remove_actor(*this);
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
        drop_message(n, 0);  // queued before the stop: its sender is not known
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
    if (mailbox_.clear_signal()) {          // a post() (INV-MAILBOX-6): discard what it posted
      discard_side(take_side(), *this, 0);  // posted before the stop: sender not known
      continue;
    }
    cpu_relax();  // a push is half done (INV-MAILBOX-1): its link store is imminent
  }
  if (dropped != 0) core->count_dead_letters(dropped);
}

void actor_base::dead_letter(mailbox_node* n) noexcept {
  drop_message(n, 0);
  core()->count_dead_letters(1);
}

dead_letter_reason actor_base::report_dead_letter(const std::type_info& type,
                                                  actor_id sender) const noexcept {
  // relaxed: the bits that name the reason were set before `stopped` (or by the thread
  // that stopped the actor), and a dead letter is reported only for a stopped actor, by a
  // thread that has seen `stopped`.
  const std::uint32_t s = state_.load(memory_order_relaxed);
  dead_letter_reason reason = dead_letter_reason::stopped;
  if ((s & actor_state::failed) != 0) {
    reason = dead_letter_reason::failed;
  } else if ((s & actor_state::killed_at_deadline) != 0) {
    reason = dead_letter_reason::shutdown_deadline;
  } else if ((s & actor_state::kill_requested) != 0) {
    reason = dead_letter_reason::killed;
  } else if ((s & actor_state::closed_by_shutdown) != 0) {
    reason = dead_letter_reason::shutdown;
  }
  core()->report_dead_letter(id(), type, reason, sender);
  return reason;
}

namespace {
thread_local const dead_letter_reason* tls_dead_letter = nullptr;  // see dead_letter_scope
}  // namespace

const dead_letter_reason* dead_letter_in_progress() noexcept { return tls_dead_letter; }

dead_letter_scope::dead_letter_scope(dead_letter_reason reason) noexcept
    : reason_(reason), outer_(std::exchange(tls_dead_letter, &reason_)) {}

dead_letter_scope::~dead_letter_scope() { tls_dead_letter = outer_; }

void actor_base::kill() noexcept {
  // relaxed: the RMW alone elects the one caller that signals; signal()'s release CAS
  // publishes the bit to the consumer, which reads it after clear_signal()'s acquire.
  if ((state_.fetch_or(actor_state::kill_requested, memory_order_relaxed) &
       (actor_state::kill_requested | actor_state::stopped)) != 0) {
    return;
  }
  // The signal reaches the consumer at its next turn boundary (or wakes an idle actor).
  if (mailbox_.signal()) became_runnable(current_worker_of(core()));
}

void actor_base::kill_for_deadline() noexcept {
  if (is_stopped()) return;  // stopped by its close: keep that reason for what comes late
  // relaxed: read only for dead-letter reasons, after `stopped` (see report_dead_letter()).
  state_.fetch_or(actor_state::killed_at_deadline, memory_order_relaxed);
  kill();
}

void actor_base::close_for_shutdown() noexcept {
  // relaxed: read only for dead-letter reasons, after `stopped` (see report_dead_letter()).
  state_.fetch_or(actor_state::closed_by_shutdown, memory_order_relaxed);
  close();
}

void register_spawned(runtime_core* core, actor_base* a) { core->register_actor(a); }

void throw_not_spawned(const char* operation, const std::type_info& actor) {
  throw error(std::string(operation) + " called in the constructor of " + demangled_name(actor) +
              ": the actor is not spawned yet and belongs to no runtime. Do start-up work "
              "that needs them in on_start() (event actors) or at the top of run() "
              "(coroutine and blocking actors).");
}

}  // namespace troupe::detail
