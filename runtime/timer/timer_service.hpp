// runtime/timer/timer_service.hpp — one thread per runtime that fires timers at their due
// time: send_after()/send_every() (troupe/timer.hpp) and the timeouts of recv_for() and ask()
// (timer_task).
//
// Design: a hierarchical timing wheel (timing_wheel.hpp: O(1) insert and cancel, the next
// due tick from six bit masks) guarded by one mutex, and one thread that sleeps on a futex
// of its own (wake_word_) until the next occupied slot's start — with no timers it waits
// without a deadline, so an idle runtime costs nothing, and the thread starts with the first
// timer. Not a condition variable: glibc's re-locks the mutex as contended after a timed
// wait, so each tick would pay a futex wake for unlocking a mutex nobody waits on.
// Each pending timer is one timer_node (40 bytes of hook and state, then the message or the
// task), allocated by the caller; there is no other per-timer allocation, except for
// timer_tasks, which are wrapped in a node and found by id through a hash map (their users
// hold a timer_id, not a node). Why a lock and not a lock-free inbox: timers are not on the
// send path (a handler that never schedules one never touches this), the critical sections
// are a few pointer writes, and cancel() needs a consistent view of the node's state anyway.
// The lock is never held while a timer fires, so a firing timer may schedule or cancel.
//
// Who calls what: schedule()/cancel()/active() on any thread (inside handlers too); fire()
// and retire() of a node run on the timer thread, or on the thread of cancel() or stop().
//
// A node's state (timer_state), written only under mu_:
//   unscheduled --schedule--> pending --thread takes it--> firing --one-shot--> fired
//                             pending --cancel()--------> cancelled
//                             pending --stop()----------> discarded
//   firing --periodic, again--> pending (re-linked at its next due time)
//   firing --cancel() came while firing--> cancelled (periodic) / fired (one-shot)
//   firing --periodic, fire() found the target stopped--> stopped_target (counted)
//   firing --periodic, stop() came while firing--> discarded
//
// Invariants (INV-TIMER-*):
//   INV-TIMER-1  A node is linked in the wheel iff its state is pending; only the thread
//                moves it out of pending into firing, and only under mu_.
//   INV-TIMER-2  fire() runs on the timer thread without mu_ held, so a firing timer's
//                message may be dead-lettered into a callback that schedules or cancels.
//   INV-TIMER-3  After stop() no node is pending or firing and no fire() is running;
//                schedule() retires new nodes at once.
//   INV-TIMER-4  retire() runs exactly once per scheduled node, without mu_, by whoever
//                took it to a terminal state, immediately before that party drops the
//                service's reference. A timer_task therefore gets exactly one fire() or
//                discard().
//   INV-TIMER-5  cancel(n) returns only when n's state is not firing (or when called from
//                inside n's own fire() on the timer thread); so after it returns, no
//                delivery of n is in progress or will start. For a one-shot it returns true
//                iff the node never fires.
//   INV-TIMER-6  (no lost wake-up) wake_word_ changes only under mu_. The thread decides to
//                sleep, and reads wake_word_, under mu_, then sleeps only while the word
//                still holds what it read; whoever changes what the thread decided on
//                (an earlier due time, stop()) bumps the word in the same critical section
//                and wakes the futex after it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "timer/timing_wheel.hpp"
#include "troupe/detail/sync.hpp"
#include "troupe/detail/timer_node.hpp"
#include "troupe/detail/timer_task.hpp"

namespace troupe::detail {

class timer_service {
 public:
  timer_service();
  ~timer_service() { stop(); }
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  // ---- timer_tasks (recv_for(), ask()) ---------------------------------------------------
  /// Any thread. Returns 0 (and discards t) after stop(); throws (after discarding t) if a
  /// node cannot be allocated or the thread cannot start.
  timer_id schedule(timer_clock::time_point when, timer_task* t);
  /// Any thread. True if the task was pending and is now discarded.
  bool cancel(timer_id id) noexcept;

  // ---- timer_nodes (send_after(), send_every()) -----------------------------------------
  /// Any thread. Links `n` (state unscheduled, holding the service's reference) due at
  /// `first`. False, with n retired, after stop(); throws, with n retired, if the thread
  /// cannot start.
  bool schedule(timer_clock::time_point first, timer_node* n);
  /// Any thread. INV-TIMER-5. True if this call took the timer to `cancelled`.
  bool cancel(timer_node* n) noexcept;
  /// Any thread. True while a delivery may still happen (pending or firing, not cancelled).
  bool active(const timer_node* n) const noexcept;

  /// Joins the thread and retires every pending node (INV-TIMER-3). Idempotent.
  void stop() noexcept;
  /// Timers waiting for their due time.
  std::size_t pending() const;
  /// Periodic timers that cancelled themselves because their target had stopped.
  std::uint64_t cancelled_by_stop() const;

 private:
  struct task_node;
  void run() noexcept;
  std::int64_t ns_since_epoch(timer_clock::time_point t) const noexcept;
  // Under mu_: starts the thread if need be (may throw; then nothing changed), links n
  // (pending) and, if the thread would sleep past n, requests a wake and returns true: the
  // caller then calls wake_thread() after unlocking.
  bool link(timer_node* n);
  // Under mu_: the state a firing node goes to after fire() returned `target_live`; true if
  // the service is done with it (retire and release it after unlocking).
  bool finish_firing(timer_node* n, bool target_live) noexcept;
  static void retire_and_release(timer_node* n, bool fired) noexcept;

  // Under mu_: makes the thread re-examine the wheel before it next sleeps (bumps
  // wake_word_, INV-TIMER-6). The caller then calls wake_thread() after unlocking, so the
  // system call is made outside mu_.
  void request_wake() noexcept;
  void wake_thread() noexcept;

  const timer_clock::time_point epoch_;
  mutable std::mutex mu_;
  std::condition_variable done_;  // a node left `firing` (cancel() waits on it)
  // The thread's sleep (INV-TIMER-6): it reads the word under mu_, unlocks, and sleeps on
  // the futex while the word still holds that value; a waker bumps it under mu_ and then
  // wakes the futex. So a wake between the thread's unlock and its sleep is not lost: the
  // kernel sees the bumped value and the sleep returns at once.
  atomic<std::uint32_t> wake_word_{0};
  timing_wheel wheel_;                              // guarded by mu_
  std::unordered_map<timer_id, task_node*> tasks_;  // guarded by mu_; pending tasks by id
  timer_id next_id_ = 1;                            // guarded by mu_
  std::size_t pending_ = 0;                         // guarded by mu_
  std::uint64_t cancelled_by_stop_ = 0;             // guarded by mu_
  unsigned cancel_waiters_ = 0;  // guarded by mu_: cancel() calls waiting on done_
  bool stopped_ = false;         // guarded by mu_
  // When the thread will wake by itself, in ns since epoch_: its current wait's deadline
  // (max: none). Guarded by mu_; link() wakes the thread only for an earlier due time. Min
  // whenever the thread is not asleep — before its first wait, from when it re-locks mu_
  // after a wait, and from when a wake has been requested — so nothing wakes a thread that
  // will look at the wheel under mu_ before it next sleeps anyway (a stream of asks with a
  // timeout then costs no wake per ask while the thread is up).
  std::int64_t sleeping_until_ns_ = std::numeric_limits<std::int64_t>::min();
  std::thread thread_;  // started under mu_ by the first link(); joined by stop()
};

}  // namespace troupe::detail
