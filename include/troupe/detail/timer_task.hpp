// troupe/detail/timer_task.hpp — what a runtime's timer thread runs when a deadline passes
// (recv_for() timeouts, ask() timeouts). Installed because blocking_actor and ask are
// templates; not API.
#pragma once

#include <chrono>
#include <cstdint>

namespace troupe::detail {

class runtime_core;

/// Exactly one of fire() (the deadline passed) and discard() (cancelled, or the runtime
/// shut down first) is called, once, on some thread; each must free the task.
struct timer_task {
  virtual void fire() noexcept = 0;
  virtual void discard() noexcept = 0;

 protected:
  ~timer_task() = default;
};

using timer_clock = std::chrono::steady_clock;
using timer_id = std::uint64_t;

/// Runs `t` at `when` on `core`'s timer thread (started at first use). After shutdown the
/// task is discarded at once and 0 is returned; otherwise the id is never 0.
timer_id schedule_timer(runtime_core* core, timer_clock::time_point when, timer_task* t);
/// Discards the task now if it has not fired yet and returns true; false if it has fired
/// (or is firing) or was already discarded.
bool cancel_timer(runtime_core* core, timer_id id) noexcept;

}  // namespace troupe::detail
