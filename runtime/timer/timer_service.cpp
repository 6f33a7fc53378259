// runtime/timer/timer_service.cpp — see timer_service.hpp.
#include "timer/timer_service.hpp"

#include <pthread.h>

#include <chrono>
#include <limits>
#include <new>
#include <type_traits>

#include "sync/futex.hpp"
#include "troupe/detail/bounded_mailbox.hpp"

namespace troupe::detail {
namespace {

// The service whose thread is the calling thread (cancel() from inside a fire() must not
// wait for that very fire(), INV-TIMER-5).
thread_local const timer_service* tls_timer_thread_of = nullptr;

// Due times are clamped here (about 146 years), so that epoch + due never overflows.
constexpr std::int64_t max_due_ns = std::int64_t{1} << 62;

std::int64_t wake_ns_of_tick(timing_wheel::tick t) noexcept {
  if (t >= static_cast<timing_wheel::tick>(max_due_ns / timing_wheel::tick_ns)) return max_due_ns;
  return static_cast<std::int64_t>(t) * timing_wheel::tick_ns;
}

// libstdc++'s steady_clock is what futex_wait()'s deadline is measured on.
static_assert(std::is_same_v<timer_clock, std::chrono::steady_clock>);

}  // namespace

// A timer_task (recv_for(), ask()) in the wheel: fire() or, if it never fires, discard().
struct timer_service::task_node final : timer_node {
  explicit task_node(timer_task* t) noexcept : task(t) {}
  bool fire() noexcept override {
    task->fire();
    return true;
  }
  void retire(bool fired) noexcept override {
    if (!fired) task->discard();
  }
  timer_id task_id() const noexcept override { return id; }

  timer_task* task;
  timer_id id = 0;
};

timer_service::timer_service() : epoch_(timer_clock::now()) {}

std::int64_t timer_service::ns_since_epoch(timer_clock::time_point t) const noexcept {
  if (t <= epoch_) return 0;
  const auto d = t - epoch_;  // cannot overflow: both are after the clock's epoch
  if (d >= std::chrono::nanoseconds(max_due_ns)) return max_due_ns;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

void timer_service::retire_and_release(timer_node* n, bool fired) noexcept {
  n->retire(fired);  // INV-TIMER-4: once, without mu_
  n->release();      // the service's reference
}

bool timer_service::link(timer_node* n) {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // may throw: unchanged
  n->state_ = timer_state::pending;                                   // INV-TIMER-1
  wheel_.insert(n);
  ++pending_;
  // Wake the thread only if it would otherwise sleep past this timer: a steady stream of
  // timers of one length (asks with a timeout) then wakes it once per slot, not per timer.
  if (wake_ns_of_tick(timing_wheel::tick_of(n->due_)) >= sleeping_until_ns_) return false;
  request_wake();
  sleeping_until_ns_ = std::numeric_limits<std::int64_t>::min();  // woken: it will look
  return true;
}

void timer_service::request_wake() noexcept {
  // relaxed: INV-TIMER-6 — we hold mu_, under which the thread read the word, so the mutex
  // orders this bump after that read; the futex compares the word's current value itself.
  wake_word_.fetch_add(1, memory_order_relaxed);
}

void timer_service::wake_thread() noexcept { futex_wake_one(wake_word_); }

// ---- timer_tasks -----------------------------------------------------------------------

timer_id timer_service::schedule(timer_clock::time_point when, timer_task* t) {
  task_node* n = nullptr;
  try {
    n = new task_node(t);
  } catch (...) {
    t->discard();
    throw;
  }
  n->release();  // no handle: only the service's reference is left
  n->due_ = ns_since_epoch(when);
  std::unique_lock lock(mu_);
  if (stopped_) {
    n->state_ = timer_state::discarded;
    lock.unlock();
    retire_and_release(n, false);
    return 0;
  }
  const timer_id id = next_id_++;
  n->id = id;
  bool notify = false;
  try {
    tasks_.emplace(id, n);
    notify = link(n);
  } catch (...) {
    tasks_.erase(id);
    n->state_ = timer_state::discarded;
    lock.unlock();
    retire_and_release(n, false);
    throw;
  }
  lock.unlock();
  if (notify) wake_thread();
  return id;
}

bool timer_service::cancel(timer_id id) noexcept {
  std::unique_lock lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return false;  // fired, firing, cancelled, or stopped
  task_node* n = it->second;
  tasks_.erase(it);
  wheel_.remove(n);  // in the map only while pending (run() erases it as it takes it)
  --pending_;
  n->state_ = timer_state::cancelled;
  lock.unlock();
  retire_and_release(n, false);  // discard()
  return true;
}

// ---- timer_nodes -----------------------------------------------------------------------

bool timer_service::schedule(timer_clock::time_point first, timer_node* n) {
  n->due_ = ns_since_epoch(first);
  std::unique_lock lock(mu_);
  if (stopped_) {
    n->state_ = timer_state::discarded;
    lock.unlock();
    retire_and_release(n, false);
    return false;
  }
  bool notify = false;
  try {
    notify = link(n);
  } catch (...) {
    n->state_ = timer_state::discarded;
    lock.unlock();
    retire_and_release(n, false);
    throw;
  }
  lock.unlock();
  if (notify) wake_thread();
  return true;
}

bool timer_service::cancel(timer_node* n) noexcept {
  std::unique_lock lock(mu_);
  switch (n->state_) {
    case timer_state::pending:
      wheel_.remove(n);
      --pending_;
      n->state_ = timer_state::cancelled;
      lock.unlock();
      retire_and_release(n, false);
      return true;
    case timer_state::firing: {
      n->cancel_requested_ = true;  // finish_firing() turns it into a terminal state
      if (tls_timer_thread_of == this) {
        // Inside n's own fire() (a dead-letter callback, say): the delivery is this call's
        // caller; nothing follows it once finish_firing() has seen the flag.
        return n->period_ns() != 0;
      }
      ++cancel_waiters_;
      done_.wait(lock, [n] { return n->state_ != timer_state::firing; });  // INV-TIMER-5
      --cancel_waiters_;
      return n->state_ == timer_state::cancelled;
    }
    default:
      return false;  // unscheduled (never handed over), or already terminal
  }
}

bool timer_service::active(const timer_node* n) const noexcept {
  std::lock_guard lock(mu_);
  if (n->state_ == timer_state::pending) return true;
  return n->state_ == timer_state::firing && n->period_ns() != 0 && !n->cancel_requested_;
}

// ---- the thread ------------------------------------------------------------------------

void timer_service::run() noexcept {
  tls_timer_thread_of = this;
  never_wait_for_room_on_this_thread();  // a tick to a full bounded mailbox overshoots
  pthread_setname_np(pthread_self(), "troupe-timer");  // for top, perf and the idle benchmark
  std::unique_lock lock(mu_);
  while (!stopped_) {
    const std::int64_t now_ns = ns_since_epoch(timer_clock::now());
    const auto now = static_cast<timing_wheel::tick>(now_ns / timing_wheel::tick_ns);
    if (timer_node* n = wheel_.pop_due(now)) {
      --pending_;
      n->state_ = timer_state::firing;  // INV-TIMER-1
      if (const timer_id id = n->task_id()) tasks_.erase(id);
      lock.unlock();
      const bool target_live = n->fire();  // INV-TIMER-2: without the lock
      lock.lock();
      if (finish_firing(n, target_live)) {
        lock.unlock();
        retire_and_release(n, true);
        lock.lock();
      }
      continue;
    }
    const std::optional<timing_wheel::tick> next = wheel_.next_wake();
    timer_clock::time_point deadline;
    if (next) {
      sleeping_until_ns_ = wake_ns_of_tick(*next);
      deadline = epoch_ + std::chrono::nanoseconds(sleeping_until_ns_);
    } else {
      sleeping_until_ns_ = std::numeric_limits<std::int64_t>::max();  // no timer: no CPU
    }
    // relaxed: read under mu_, which orders it against every bump (INV-TIMER-6).
    const std::uint32_t seen = wake_word_.load(memory_order_relaxed);
    lock.unlock();
    futex_wait(wake_word_, seen, next ? &deadline : nullptr);
    lock.lock();
    sleeping_until_ns_ = std::numeric_limits<std::int64_t>::min();  // up: nobody need wake us
    // Re-examine: the deadline passed, or an earlier timer or stop() came (or a spurious
    // wake-up: nothing is due then, and the thread sleeps again).
  }
}

bool timer_service::finish_firing(timer_node* n, bool target_live) noexcept {
  const std::int64_t period = n->period_ns();
  bool done = true;
  if (n->cancel_requested_) {
    n->state_ = period != 0 ? timer_state::cancelled : timer_state::fired;
  } else if (period == 0) {
    n->state_ = timer_state::fired;
  } else if (stopped_) {
    n->state_ = timer_state::discarded;
  } else if (!target_live) {
    n->state_ = timer_state::stopped_target;
    ++cancelled_by_stop_;
  } else {
    // Fixed rate: the next delivery is due one period after this one was due, not after it
    // happened, so lateness does not accumulate. If the thread fell behind by more than a
    // period (a suspended process), the missed deliveries are skipped, not replayed in a
    // burst: at most one catch-up delivery, then back on the grid start + k * period.
    const std::int64_t now_ns = ns_since_epoch(timer_clock::now());
    std::int64_t next = n->due_ > max_due_ns - period ? max_due_ns : n->due_ + period;
    if (next < now_ns) next += (now_ns - next) / period * period;
    n->due_ = next;
    n->state_ = timer_state::pending;
    wheel_.insert(n);
    ++pending_;
    done = false;
  }
  if (cancel_waiters_ != 0) done_.notify_all();  // n left `firing`
  return done;
}

void timer_service::stop() noexcept {
  timer_node* chain = nullptr;
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    chain = wheel_.take_all();
    for (timer_node* n = chain; n != nullptr; n = n->next_) n->state_ = timer_state::discarded;
    tasks_.clear();
    pending_ = 0;
    thread = std::move(thread_);
    request_wake();
  }
  if (thread.joinable()) {
    wake_thread();
    thread.join();  // a fire() in progress ends first (INV-TIMER-3)
  }
  while (chain != nullptr) {
    timer_node* n = chain;
    chain = n->next_;
    n->next_ = nullptr;
    retire_and_release(n, false);
  }
}

std::size_t timer_service::pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

std::uint64_t timer_service::cancelled_by_stop() const {
  std::lock_guard lock(mu_);
  return cancelled_by_stop_;
}

}  // namespace troupe::detail
