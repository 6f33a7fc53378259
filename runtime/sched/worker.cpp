// runtime/sched/worker.cpp — the worker loop. See worker.hpp for the queue order and
// idle.hpp for the searching/sleeping protocol.
#include "sched/worker.hpp"

#include <array>
#include <utility>

#include "fiber/stack_overflow.hpp"
#include "sched/runtime_core.hpp"
#include "troupe/detail/message_stash.hpp"
#include "troupe/detail/node_pool.hpp"

namespace troupe::detail {

constinit thread_local worker* tls_current_worker = nullptr;

bool on_worker_thread() noexcept { return tls_current_worker != nullptr; }

void flush_thread_outbox() noexcept {
  if (worker* w = tls_current_worker) w->flush_outbox();
}

bool flush_thread_outbox_before_idle() noexcept {
  worker* const w = tls_current_worker;
  if (w == nullptr) return false;
  w->flush_outbox();
  return w->mute_pending();
}

bool mute_pending_on_this_thread() noexcept {
  worker* const w = tls_current_worker;
  return w != nullptr && w->mute_pending();
}

void count_set_aside(bool entered) noexcept {
  // A stash is used only by its actor's consumer, on a worker of the actor's runtime.
  if (worker* w = tls_current_worker) {
    worker_counters::add(entered ? w->counters().stashed : w->counters().unstashed, 1);
  }
}

namespace {
// Every this many turns a worker looks at the shared and the oldest work first (the same
// prime Go and Tokio use).
constexpr std::uint64_t fairness_interval = 61;
}  // namespace

worker::worker(runtime_core& core, unsigned index)
    : core_(core),
      index_(index),
      batch_(core.config().batch),
      spin_(core.config().spin_rounds),
      rng_(0x9E3779B97F4A7C15ull * (index + 1)),
      deque_(core.config().deque_capacity),
      inject_producer_(core.injection()),
      inject_consumer_(core.injection()) {}

void worker::start() {
  thread_ = std::thread([this] { run(); });
}

void worker::detach() {
  if (thread_.joinable()) thread_.detach();
}

void worker::join() {
  if (thread_.joinable()) thread_.join();
}

void worker::schedule_local(actor_base* a) noexcept {
  actor_base* displaced = lifo_;
  lifo_ = a;
  if (displaced != nullptr) {
    push_deque(displaced);
    core_.idle().notify_relaxed();  // stealable work appeared (INV-IDLE-3, relaxed side)
  }
}

void worker::push_deque(actor_base* a) noexcept {
  if (deque_.push(a)) return;
  // Full: move the older half to the injection queue where any worker can take it.
  std::array<actor_base*, 128> batch;
  std::size_t moved_total = 0;
  const std::size_t half = deque_.capacity() / 2;
  while (moved_total < half) {
    std::size_t n = 0;
    actor_base* x;
    while (n < batch.size() && moved_total + n < half && deque_.steal(x)) batch[n++] = x;
    if (n == 0) break;
    if (!core_.injection().enqueue_bulk(inject_producer_, batch.data(), n)) {
      for (std::size_t i = 0; i < n; ++i) core_.inject_shared(batch[i]);  // aborts on OOM
    }
    moved_total += n;
  }
  if (!deque_.push(a)) reinject(a);
}

void worker::reinject(actor_base* a) noexcept {
  if (!core_.injection().enqueue(inject_producer_, a)) {
    core_.inject_shared(a);  // same queue without our token; aborts on OOM
    return;
  }
  core_.idle().notify_relaxed();
}

bool worker::pop_injected(actor_base*& out) noexcept {
  return core_.injection().try_dequeue(inject_consumer_, out);
}

bool worker::take_local(actor_base*& out) noexcept {
  // Woken from outside first, on every fourth turn: a tick or an outside request waits
  // about four turns of a worker, however much work the pool has queued; and a flood of
  // outside sends still leaves three turns in four to the work already here.
  if ((++tick_ & 3) == 0 && core_.pop_woken(out)) return true;
  if (tick_ % fairness_interval == 0) {
    if (pop_injected(out) || deque_.steal(out)) return true;
  }
  if (lifo_ != nullptr) {
    out = lifo_;
    lifo_ = nullptr;
    return true;
  }
  return deque_.take(out) || core_.pop_woken(out) || pop_injected(out);
}

bool worker::steal_from_others(actor_base*& out) noexcept {
  const unsigned n = core_.worker_count();
  if (n < 2) return false;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const unsigned start = static_cast<unsigned>(rng_ % n);
  for (unsigned k = 0; k < n; ++k) {
    const unsigned v = (start + k) % n;
    if (v != index_ && core_.worker_at(v).steal(out)) {
      worker_counters::add(counters_.steals, 1);
      return true;
    }
  }
  return false;
}

bool worker::search(actor_base*& out) noexcept {
  const unsigned rounds = spin_.rounds();
  for (unsigned round = 0; round < rounds; ++round) {
    if (core_.pop_woken(out) || pop_injected(out) || steal_from_others(out)) {
      spin_.found_work();
      return true;
    }
    if (core_.stopping()) return false;
    for (unsigned i = 0; i < (1u << (round < 6 ? round : 6)); ++i) cpu_relax();
  }
  return false;
}

bool worker::any_work_visible() noexcept {
  // Called right after the announce RMW (INV-IDLE-3): these reads see any work published
  // before a producer's RMW that came earlier in state_'s order.
  if (core_.any_woken() || core_.injection().size_approx() != 0) return true;
  for (unsigned v = 0; v < core_.worker_count(); ++v) {
    if (v != index_ && core_.worker_at(v).may_have_stealable_work()) return true;
  }
  return false;
}

void worker::push_outbox_chain() noexcept {
  if (out_first_ == nullptr) return;
  mailbox_node* const first = std::exchange(out_first_, nullptr);
  out_len_ = 0;
  out_dest_->enqueue_chain(first, out_last_, *this);
}

void worker::flush_outbox_to_dest() noexcept {
  push_outbox_chain();
  std::exchange(out_dest_, nullptr)->release();
}

void worker::flush_outbox_early() noexcept {
  // The chain goes out; out_dest_ keeps its reference, and the turn's further sends to it
  // start the next chain (no add_ref/release per chain).
  push_outbox_chain();
  // A turn that sends this much is long: the actor it woke last (usually the receiver)
  // must not wait in the unstealable LIFO slot for the turn to end. In the deque another
  // worker can take it. notify_strict(), not notify_relaxed(): INV-IDLE-3's relaxed side
  // relies on this worker re-offering its deque after the turn, which may be far away (the
  // handler may even wait for the receiver), so a sleeper must not miss this work.
  if (lifo_ != nullptr) {
    push_deque(std::exchange(lifo_, nullptr));
    core_.idle().notify_strict();
  }
}

void worker::run_turn(actor_base* a) noexcept {
  // relaxed (all turn_ stores and loads): only this thread writes them; readers want no
  // ordering (turn_record.hpp).
  turn_.actor.store(a, memory_order_relaxed);
  turn_.message.store(nullptr, memory_order_relaxed);
  const std::uint64_t taken_before = turn_.taken.load(memory_order_relaxed);
  const turn_result r = a->run_turn(batch_, turn_);
  turn_.actor.store(nullptr, memory_order_relaxed);  // `a` may be gone (stopped, released)
  flush_outbox();
  last_direct_ = nullptr;
  worker_counters::add(counters_.handled, turn_.taken.load(memory_order_relaxed) - taken_before);
  if (mute_target_ != nullptr) [[unlikely]] {
    if (end_muted(a, r)) return;
  }
  if (r == turn_result::runnable) reinject(a);  // behind everyone else: fairness
  // Stealable work waiting while others sleep (a relaxed notify may have raced): offer it.
  if (deque_.size() != 0) core_.idle().notify_relaxed();
}

bool worker::request_mute(actor_base* receiver) noexcept {
  if (mute_target_ != nullptr) return false;  // the turn waits for the first one it filled
  receiver->add_ref();                        // released by end_muted()
  mute_target_ = receiver;
  return true;
}

bool worker::end_muted(actor_base* a, turn_result r) noexcept {
  actor_base* const receiver = std::exchange(mute_target_, nullptr);
  // A turn that ended otherwise (stopped, suspended, idle) is not muted: only one that
  // still owns its mailbox and would be queued again waits.
  bool parked = false;
  if (r == turn_result::runnable) {
    (void)a->take_mute_request();  // a flag its own turn did not get to see
    parked = a->mute_on(*receiver);
    if (parked) worker_counters::add(counters_.muted, 1);
  }
  receiver->release();
  return parked;
}

void worker::run() noexcept {
  tls_current_worker = this;
  ensure_signal_stack();   // blocking actors run here: room to report a stack overflow
  pool_no_depot_refill();  // we send and receive: no depot nodes (node_pool.hpp)
  idle_protocol& idle = core_.idle();
  bool searching = false;
  actor_base* a = nullptr;
  for (;;) {
    if (take_local(a)) {
      if (searching) {
        idle.stop_searching();
        searching = false;
      }
      run_turn(a);
      continue;
    }
    if (!searching) {
      idle.start_searching();
      searching = true;
    }
    if (search(a)) {
      idle.stop_searching();
      searching = false;
      run_turn(a);
      continue;
    }
    if (core_.stopping()) break;
    idle.announce_sleep(index_);
    if (any_work_visible() || core_.stopping()) {
      idle.cancel_sleep(index_);
      continue;  // still searching
    }
    worker_counters::add(counters_.parks, 1);
    spin_.going_to_sleep();
    idle.sleep(index_);  // returns as a searcher
    spin_.woke_up();
  }
  if (searching) idle.stop_searching();
  tls_current_worker = nullptr;
}

}  // namespace troupe::detail
