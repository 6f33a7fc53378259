// runtime/timer/timer_service.hpp — one thread per runtime that fires timer_tasks at their
// deadlines: recv_for() and ask() timeouts.
//
// Design: a mutex-guarded ordered map (deadline, id) → task and one thread that sleeps on a
// condition variable until the earliest deadline. Timers are not on the send/dispatch path
// (a handler that never asks for a timeout never touches this), so a lock is fine here; a
// timer costs one map insertion and, unless it fires, one erase. The thread starts with the
// first timer, so a runtime that uses none has no timer thread.
//
// Invariants:
//   INV-TIMER-1  Each task scheduled gets exactly one fire() or discard(): a task is in the
//                map until the thread removes it to fire it, cancel() removes it to discard
//                it, or stop() removes them all to discard them — each removal under mu_.
//   INV-TIMER-2  fire() runs on the timer thread without mu_ held, so a task may schedule
//                or cancel timers itself.
//   INV-TIMER-3  After stop() no task is pending and no fire() is running; schedule()
//                discards new tasks at once.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "troupe/detail/timer_task.hpp"

namespace troupe::detail {

class timer_service {
 public:
  timer_service() = default;
  ~timer_service() { stop(); }
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Any thread. Returns 0 (and discards t) after stop().
  timer_id schedule(timer_clock::time_point when, timer_task* t);
  /// Any thread. True if the task was pending and is now discarded.
  bool cancel(timer_id id) noexcept;
  /// Joins the thread and discards every pending task (INV-TIMER-3). Idempotent.
  void stop() noexcept;
  /// Tasks waiting for their deadline.
  std::size_t pending() const;

 private:
  using key = std::pair<timer_clock::time_point, timer_id>;
  void run() noexcept;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<key, timer_task*> by_deadline_;                      // guarded by mu_
  std::unordered_map<timer_id, timer_clock::time_point> when_;  // guarded by mu_
  timer_id next_id_ = 1;                                        // guarded by mu_
  bool stopped_ = false;                                        // guarded by mu_
  // When the thread will wake by itself: its current wait's deadline (max: none). Guarded
  // by mu_; schedule() notifies only for an earlier deadline. Starts at min: the thread
  // has not run yet, so the first schedule() notifies.
  timer_clock::time_point sleeping_until_ = timer_clock::time_point::min();
  std::thread thread_;  // started under mu_ by the first schedule(); joined by stop()
};

}  // namespace troupe::detail
