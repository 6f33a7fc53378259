// troupe/detail/timer_node.hpp — one pending timer as the runtime's timer service holds it:
// the wheel's hook, the life-cycle state and a reference count, in 40 bytes, followed by what
// the derived class needs (send_after's target and message, a task of recv_for()/ask()).
// Installed because troupe/timer.hpp is a template; not API. The service's side is
// runtime/timer/timer_service.hpp, which documents the state machine (INV-TIMER-*).
#pragma once

#include <chrono>
#include <cstdint>

#include "troupe/detail/sync.hpp"
#include "troupe/detail/timer_task.hpp"

namespace troupe::detail {

class timer_service;
class timing_wheel;

/// Life cycle of a timer_node. Written only under the service's lock.
enum class timer_state : std::uint8_t {
  unscheduled,  ///< built, not yet handed to the service
  pending,      ///< linked in the wheel, waiting for its due time
  firing,       ///< taken out by the timer thread, fire() running without the lock
  fired,        ///< one-shot: delivered (terminal)
  cancelled,    ///< cancel() took it before (one-shot) or between (periodic) deliveries (terminal)
  stopped_target,  ///< periodic: fire() found its target stopped; cancelled itself (terminal)
  discarded,       ///< the service stopped (runtime shutdown) before it was due (terminal)
};

class timer_node {
 public:
  timer_node(const timer_node&) = delete;
  timer_node& operator=(const timer_node&) = delete;

  /// Delivers once, on the timer thread, without the service's lock. Returns false if the
  /// target has stopped (a periodic timer then cancels itself).
  virtual bool fire() noexcept = 0;
  /// The service is done with this timer (called once, without the lock, just before the
  /// service drops its reference): drop the message and the target now, so a handle kept
  /// afterwards holds only this block. `fired`: fire() ran at least once.
  virtual void retire(bool fired) noexcept = 0;
  /// Fixed-rate period in nanoseconds; 0 for a one-shot timer.
  virtual std::int64_t period_ns() const noexcept { return 0; }
  /// Non-zero only for the service's own wrappers of timer_tasks (their id).
  virtual timer_id task_id() const noexcept { return 0; }

  void add_ref() noexcept {
    // relaxed: the caller already holds a reference.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: release publishes this holder's last uses of the node (the service's
    // retire(), a handle's reads); the last holder's acquire orders them before the delete.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

 protected:
  /// Starts with two references: the service's and the handle's (a task node, which has no
  /// handle, drops one at once).
  timer_node() noexcept = default;
  virtual ~timer_node() = default;

 private:
  friend class timer_service;
  friend class timing_wheel;
  friend struct timer_node_test_access;  // tests/unit/timing_wheel_test.cpp

  // ---- the wheel's hook: guarded by the service's lock ---------------------------------
  timer_node* prev_ = nullptr;
  timer_node* next_ = nullptr;
  std::int64_t due_ = 0;  // ns since the service's epoch; the next delivery
  // ---- shared --------------------------------------------------------------------------
  atomic<std::uint32_t> refs_{2};
  // ---- guarded by the service's lock ---------------------------------------------------
  timer_state state_ = timer_state::unscheduled;
  bool cancel_requested_ = false;  // cancel() came while firing
  std::uint8_t level_ = 0;         // where the wheel linked it (see timing_wheel)
  std::uint8_t slot_ = 0;
};

// The per-timer memory figure in docs/benchmarks.md relies on this (vtable pointer, two
// links, due time, count, four bytes of state).
static_assert(sizeof(timer_node) == 40,
              "timer_node grew: recheck docs/benchmarks.md's timer figure");

/// Hands `n` (holding the service's reference) to `core`'s timer service, due at `first`.
/// After shutdown the node is retired at once and false is returned. If starting the timer
/// thread throws, the node is retired and the exception propagates.
bool schedule_timer(runtime_core* core, timer_clock::time_point first, timer_node* n);
/// See troupe::timer::cancel().
bool cancel_timer(runtime_core* core, timer_node* n) noexcept;
/// See troupe::timer::active().
bool timer_active(runtime_core* core, timer_node* n) noexcept;
/// A handle keeps its runtime's core alive (out of line: runtime_core is not installed).
void retain_core(runtime_core* core) noexcept;
void release_core(runtime_core* core) noexcept;
/// fire() could not allocate the message's mailbox node: says so on stderr.
void report_timer_send_failure() noexcept;

}  // namespace troupe::detail
