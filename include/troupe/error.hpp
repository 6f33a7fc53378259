// troupe/error.hpp — the one exception type troupe throws for misuse.
//
// Thrown for: sending/closing/joining through an empty handle, spawning on a runtime that
// has shut down, joining or shutting down from inside a worker thread (it would block the
// worker that has to make progress), awaiting in a coroutine or blocking actor the reply
// to an ask() the actor sent to itself and has not received yet (it would wait forever).
// The message says what happened and what to do.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace troupe {

class error : public std::logic_error {
 public:
  explicit error(const std::string& what) : std::logic_error("troupe: " + what) {}
};

/// Thrown by recv() in a coroutine (or blocking) actor when it reaches the close sentinel —
/// the recipe's ActorExit — and by co_await / await() on a result when the close comes
/// before the result. Catch it to clean up; letting it escape run() stops the actor
/// normally (it is not reported as a failure). Every later recv() throws it again, and so
/// does every later await on a result that is not complete yet.
class actor_exit : public std::exception {
 public:
  const char* what() const noexcept override { return "troupe::actor_exit: the actor was closed"; }
};

}  // namespace troupe
