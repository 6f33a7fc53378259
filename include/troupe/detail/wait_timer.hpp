// troupe/detail/wait_timer.hpp — the one timer a coroutine or blocking actor has pending for
// its own wait: the deadline of a recv_for() or the end of a sleep_for(), on its runtime's
// timer service. Installed because the actor templates use it; not API.
//
// arm() schedules a task that holds a reference to the actor. When it is due, the timer
// thread posts the task to the actor's side channel (actor_base::post, not a message: never
// counted in the stats); the consumer serves it inside a turn, and serving it marks the wait
// expired — but only if it belongs to the arming in progress. Each arm() starts a new
// generation, and the task carries the one it was armed for, so a task that fired after its
// wait had already ended (the timer could not be cancelled in time: cancel() lost the race
// with the timer thread) finds an older generation, or nothing armed, and changes nothing:
// it cannot end a later wait early.
//
// disarm() ends the arming: it cancels the timer if it is still pending (the task is then
// discarded and drops its reference at once, so nothing stays pending after the wait), and
// clears `expired`. A wait disarms whenever it ends, by its deadline or not, and the actor
// disarms once more when it stops, in case run() ended mid-wait.
//
// Owner: the actor's consumer only (the worker running its turn, or the fiber or coroutine
// it resumes), so the fields are plain. The task touches them only while being served,
// which happens on the consumer, inside a turn of the living actor.
#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/timer_task.hpp"

namespace troupe::detail {

/// The deadline `timeout` from now; now itself for a timeout <= 0, and saturated instead of
/// overflowing for "forever"-like timeouts (std::chrono::hours::max()).
template <class Rep, class Period>
timer_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) noexcept {
  using time_point = timer_clock::time_point;
  const time_point now = timer_clock::now();
  if (timeout <= timeout.zero()) return now;
  const auto cap = time_point::max() - now;
  if (timeout >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(cap)) {
    return time_point::max();
  }
  return now + std::chrono::duration_cast<timer_clock::duration>(timeout);
}

class wait_timer {
 public:
  wait_timer() noexcept = default;
  wait_timer(const wait_timer&) = delete;
  wait_timer& operator=(const wait_timer&) = delete;

  /// Consumer: a timer is armed and has not been disarmed.
  bool armed() const noexcept { return armed_; }
  /// Consumer: the armed timer's task has been served (its deadline passed).
  bool expired() const noexcept { return expired_; }

  /// Consumer, not armed: schedules the timer for `deadline` on a's runtime. Throws (with
  /// nothing armed and no reference kept) if the task cannot be allocated or scheduled.
  void arm(actor_base& a, timer_clock::time_point deadline) {
    assert(!armed_ && "wait_timer: one wait at a time; the previous one must disarm");
    ++generation_;
    auto* t = new task(a, *this, generation_);
    a.add_ref();                                  // released by the task's fire() or discard()
    id_ = schedule_timer(a.core(), deadline, t);  // on failure it discards t: no reference left
    armed_ = true;
  }

  /// Consumer: ends the arming, cancelling the timer if it is still pending. No-op if
  /// nothing is armed.
  void disarm(actor_base& a) noexcept {
    if (!armed_) return;
    // A timer that already fired has posted (or is posting) its task for this generation;
    // once armed_ is false, served() ignores it.
    if (id_ != 0) cancel_timer(a.core(), id_);
    armed_ = false;
    expired_ = false;
    id_ = 0;
  }

 private:
  struct task final : timer_task, side_node {
    actor_base* actor;
    wait_timer* timer;  // a field of *actor: alive while the actor is served
    std::uint32_t generation;
    task(actor_base& a, wait_timer& w, std::uint32_t g) noexcept
        : actor(&a), timer(&w), generation(g) {
      this->handle = &served;
    }
    void fire() noexcept override {  // on the timer thread
      actor_base* a = actor;         // post() may free *this at once
      a->post(this);
      a->release();  // the reference arm() took
    }
    void discard() noexcept override {  // cancelled, or the runtime shut down
      actor_base* a = actor;
      delete this;
      a->release();
    }
    static void served(side_node* n, actor_base&, bool run) {
      auto* t = static_cast<task*>(n);
      // run == false: the actor has stopped; its wait_timer must not be touched.
      if (run) t->timer->expire(t->generation);
      delete t;
    }
  };

  void expire(std::uint32_t generation) noexcept {
    if (armed_ && generation == generation_) {
      expired_ = true;
      id_ = 0;  // fired: nothing left to cancel
    }
  }

  timer_id id_ = 0;  // of the pending timer; 0 once it has fired
  // Of the latest arm(). 32 bits are plenty: a task that fired is posted at once, and the
  // actor serves it before it can arm again (every wait looks at the side channel before
  // it arms), so a stale task is at most a few generations old, never 2^32.
  std::uint32_t generation_ = 0;
  bool armed_ = false;    // a timer is armed for generation_
  bool expired_ = false;  // ... and its task has been served
};

}  // namespace troupe::detail
