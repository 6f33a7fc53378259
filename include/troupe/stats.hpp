// troupe/stats.hpp — what a runtime counts, and what it reports about lost work.
//
// Dead letters and failures reach runtime_config::on_dead_letter / on_failure as the structs
// below. Their type names are readable (demangled) through message_type_name(),
// error_type() and to_string(), which a callback can log as they are:
//
//   cfg.on_dead_letter = [](const troupe::dead_letter& d) { log(troupe::to_string(d)); };
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <typeinfo>

namespace troupe {

/// Identity of an actor, as `ref::id()` returns it: unique for the life of the process. An
/// id is never reused, not even after the actor is gone and its memory serves another one,
/// so an id kept in a map or a log names one actor only. 0 is never an actor's id (an
/// empty ref's id() is 0). Ids are handed out in spawn order per spawning thread, but are
/// not dense and say nothing about order across threads.
using actor_id = std::uint64_t;

/// A snapshot of a runtime's counters. While the runtime runs, the fields are read one by
/// one without a global lock, so they need not add up; after `runtime::shutdown()` they are
/// exact and `sent == handled + dead_lettered` holds.
struct runtime_stats {
  std::uint64_t sent = 0;           ///< messages accepted by `send()` (close sentinels excluded)
  std::uint64_t handled = 0;        ///< messages passed to a handler (including one that threw)
  std::uint64_t dead_lettered = 0;  ///< messages that reached a stopped actor
  std::uint64_t spawned = 0;        ///< actors spawned
  std::uint64_t stopped = 0;        ///< actors that stopped (normally or by failure)
  std::uint64_t failed = 0;         ///< actors stopped by an exception escaping a handler
  std::uint64_t steals = 0;         ///< runnable actors taken from another worker's deque
  std::uint64_t parks = 0;          ///< times a worker went to sleep for lack of work
  /// times an actor was muted: its send left a bounded mailbox over capacity, and it was
  /// not run again until that mailbox drained (troupe/bounded.hpp)
  std::uint64_t muted = 0;
  /// send_every() timers that cancelled themselves because their target had stopped
  std::uint64_t timers_cancelled_by_stop = 0;
};

/// Why a message became a dead letter.
enum class dead_letter_reason : unsigned char {
  stopped,            ///< the receiver had stopped: its close() sentinel, or its run() returned
  shutdown,           ///< the receiver was stopped by runtime::shutdown()
  killed,             ///< the receiver was stopped by ref::kill(), its queue unhandled
  failed,             ///< the receiver had stopped by an exception
  late_reply,         ///< a reply to an ask() that had already timed out (receiver is 0)
  shutdown_deadline,  ///< the receiver was killed by runtime::shutdown(deadline) at its deadline
};

/// Passed to the dead-letter callback, on whichever thread drained the message.
struct dead_letter {
  actor_id receiver;                   ///< the stopped actor the message was sent to
  const std::type_info& message_type;  ///< the message's C++ type
  dead_letter_reason reason = dead_letter_reason::stopped;
  /// The actor whose handler sent the message (or set the result a then() continuation
  /// waited for), or 0 if not known. Known when that send itself found the receiver
  /// stopped, from a handler, on_start() or on_stop(), or a blocking or coroutine actor's
  /// run(), on a worker of any runtime. 0 for a send from a thread outside the workers or
  /// from a timer, for a late ask() reply, and for a message that was already queued when
  /// the receiver stopped: mailboxes do not keep senders.
  actor_id sender = 0;

  /// The message type's readable (demangled) name, e.g. "app::Add" where
  /// message_type.name() says "N3app3AddE". Allocates: call it when you report, not per
  /// message you only count.
  std::string message_type_name() const;
};

/// Passed to the failure callback when an exception escapes an actor's handler.
struct failure {
  actor_id actor;          ///< the actor that stopped
  std::string actor_type;  ///< its demangled C++ type name
  std::exception_ptr error;

  /// The readable (demangled) dynamic type of `error`, e.g. "std::runtime_error"; empty if
  /// `error` is null.
  std::string error_type() const;
};

/// The reason's name, as spelled in the enum: "stopped", "shutdown", "shutdown_deadline",
/// "killed", "failed" or "late_reply".
const char* to_string(dead_letter_reason reason) noexcept;

/// One line for a log, with readable type names:
///   "dead letter: app::Add to actor 17 (killed)"
///   "dead letter: app::Add to actor 17 from actor 9 (stopped)"   (the sender is known)
///   "dead letter: long to no actor (late_reply)"   (a late ask() reply: receiver 0)
std::string to_string(const dead_letter& d);

/// One line for a log, with readable type names; what the runtime prints to stderr when
/// runtime_config::on_failure is not set:
///   "actor app::Session (id 17) stopped by std::runtime_error: bad frame"
std::string to_string(const failure& f);

}  // namespace troupe
