// troupe/exit_reason.hpp — why an actor stopped, as monitors (troupe::down), links
// (troupe::exit_signal) and supervisors see it. See monitor.hpp.
#pragma once

#include <exception>
#include <string>
#include <typeinfo>

#include "troupe/stats.hpp"

namespace troupe {

/// Why an actor stopped.
struct exit_reason {
  enum class kind : unsigned char {
    normal,             ///< closed (its close sentinel was handled) or its run() returned
    shutdown,           ///< closed by runtime::shutdown()
    killed,             ///< ref::kill(), or killed through a link (see linked_from)
    shutdown_deadline,  ///< killed by runtime::shutdown(deadline) at the deadline
    failed,             ///< an exception escaped a handler, on_start(), on_stop() or run()
  };
  kind what = kind::normal;
  /// failed: the exception. Null otherwise.
  std::exception_ptr error{};
  /// failed: the type of the message whose handler threw; null when the exception came from
  /// outside a handler (on_start(), on_stop(), or a coroutine or blocking actor's run()
  /// between receives).
  const std::type_info* message_type = nullptr;
  /// Non-zero when the actor was killed through a link: the id of the linked actor whose
  /// stop took it down (`what`, `error` and `message_type` are then that actor's).
  actor_id linked_from = 0;

  /// normal or shutdown: the actor was asked to stop and did. Links propagate only the
  /// others (killed, shutdown_deadline, failed).
  bool is_normal() const noexcept { return what == kind::normal || what == kind::shutdown; }
  /// The readable (demangled) dynamic type of `error`; empty if there is none.
  std::string error_type() const;
  /// error's what() (a placeholder for exceptions that are not std::exception); empty if
  /// there is none.
  std::string error_text() const;
  /// The readable (demangled) name of message_type; empty if it is null.
  std::string message_type_name() const;
};

/// The kind's name as spelled in the enum: "normal", "shutdown", "killed", …
const char* to_string(exit_reason::kind k) noexcept;

/// One line for a log, e.g. "failed: std::runtime_error: bad frame (handling app::Frame)"
/// or "killed (linked to actor 12)".
std::string to_string(const exit_reason& r);

}  // namespace troupe
