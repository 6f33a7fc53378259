// troupe/diagnostics.hpp — what a runtime reports about actors that hold it up: a handler
// that runs too long (runtime_config::stuck_handler_limit) and the actors that had not
// stopped when runtime::shutdown(deadline) ran out of time.
//
//   troupe::runtime_config cfg;
//   cfg.stuck_handler_limit = 500ms;
//   cfg.on_stuck_handler = [](const troupe::stuck_handler& s) { log(s.actor_type, ...); };
//   troupe::runtime rt(cfg);
//   ...
//   troupe::shutdown_report r = rt.shutdown(5s);
//   for (const auto& s : r.stragglers) log(s.actor_type, s.message_type, s.running_for);
//   if (!r.complete) std::quick_exit(1);   // a handler never returned: see below
//
// How long a handler has run is observed, not timed: the runtime looks at what each worker
// is doing every so often (a quarter of the limit for the watchdog; every 10 ms or less
// during shutdown) and sees the same message still being handled. `running_for` is thus a
// lower bound, short by at most one look's interval, and for shutdown it counts from the
// shutdown() call at the earliest. Nothing on the send or dispatch path reads a clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "troupe/stats.hpp"

namespace troupe {

/// A handler that has been running for longer than runtime_config::stuck_handler_limit,
/// passed to runtime_config::on_stuck_handler once per such handler (on the runtime's
/// watchdog thread).
struct stuck_handler {
  actor_id actor = 0;        ///< the actor whose handler it is
  std::string actor_type;    ///< its demangled C++ type
  std::string message_type;  ///< the message being handled (demangled); empty between
                             ///< messages: in on_start(), or in a coroutine or blocking
                             ///< actor's run() before it received anything this turn
  std::chrono::milliseconds running_for{0};  ///< at least this long (see the top)
  unsigned worker = 0;                       ///< the worker thread it holds (0-based)
};

/// What runtime::shutdown(deadline) did.
struct shutdown_report {
  /// An actor that had not stopped when the deadline passed.
  struct straggler {
    actor_id actor = 0;
    std::string actor_type;  ///< demangled C++ type
    /// The message it was handling at the deadline (demangled); empty if it was not in a
    /// handler (queued behind others, or waiting for a worker held by a stuck handler), or
    /// between messages (see stuck_handler::message_type).
    std::string message_type;
    bool in_handler = false;                   ///< a worker was running it at the deadline
    std::chrono::milliseconds running_for{0};  ///< in_handler: at least this long
    /// It stopped after the deadline killed it (its queue became dead letters with reason
    /// dead_letter_reason::shutdown_deadline); false: it was still running when shutdown()
    /// returned — a handler that never returned.
    bool stopped = false;
  };

  /// Every message in flight at the call was handled before the actors were closed.
  bool drained = false;
  /// Some actors had not stopped by the deadline and were killed.
  bool deadline_passed = false;
  /// Every actor stopped and every worker thread was joined. False only if some handler
  /// did not return even after the kill: its worker cannot be stopped (C++ cannot preempt
  /// a function), so the runtime abandons its threads and memory (its destructor then
  /// returns at once) and the process should exit, e.g. with std::quick_exit().
  bool complete = true;
  /// From the call until it returned.
  std::chrono::milliseconds took{0};
  /// The actors that held it up: those not stopped at the deadline, the ones in a handler
  /// first, longest-running first. At most max_stragglers are listed.
  std::vector<straggler> stragglers;
  /// How many actors had not stopped at the deadline (listed or not).
  std::size_t stragglers_total = 0;
  static constexpr std::size_t max_stragglers = 100;
};

}  // namespace troupe
