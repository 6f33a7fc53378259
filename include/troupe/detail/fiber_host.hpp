// troupe/detail/fiber_host.hpp — the stackful fiber a blocking actor runs on, seen from the
// actor template (the fiber itself lives in runtime/fiber, which only the library compiles).
// Installed because blocking_actor is a template; not API.
//
// Roles: start(), resume(), done(), error() and the destructor belong to the actor's
// consumer (the worker running its turn); suspend() to the body, on the fiber. The host
// never runs two of these at once (INV-FIBER-1: the run queue that hands the actor from
// worker to worker orders them).
#pragma once

#include <cstddef>
#include <exception>

namespace troupe::detail {

class runtime_core;
class fiber;

class fiber_host {
 public:
  fiber_host() noexcept = default;
  /// Unwinds the body if it started and has not finished (every destructor on its stack
  /// runs), then gives the stack back.
  ~fiber_host();
  fiber_host(const fiber_host&) = delete;
  fiber_host& operator=(const fiber_host&) = delete;

  /// Creates the fiber on a pooled stack of at least `stack_size` usable bytes (rounded up to
  /// whole pages) of `core`; entry(arg) runs at the first resume(). Throws std::bad_alloc if
  /// no stack can be mapped.
  void start(runtime_core* core, std::size_t stack_size, void (*entry)(void*), void* arg);
  bool started() const noexcept { return fiber_ != nullptr; }
  /// Runs the body until it suspends or returns.
  void resume() noexcept;
  bool done() const noexcept;
  /// After done(): what escaped the body, or null.
  std::exception_ptr error() const noexcept;
  /// Destroys the fiber now (as the destructor does).
  void reset() noexcept;

  /// Body only: gives the worker back until the next resume(), perhaps on another worker.
  static void suspend();

 private:
  fiber* fiber_ = nullptr;
};

}  // namespace troupe::detail
