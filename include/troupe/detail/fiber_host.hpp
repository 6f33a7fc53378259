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
#include <typeinfo>

namespace troupe::detail {

class runtime_core;
class fiber;

/// Usable stack bytes a blocking actor's fiber gets at least (smaller requests are raised).
inline constexpr std::size_t min_fiber_stack_size = 16 * 1024;
/// The largest stack a fiber may ask for: thousands of times what deep recursion needs, so a
/// larger size is more likely an overflowed computation than a need (and near SIZE_MAX,
/// rounding it up to whole pages would wrap around to a tiny stack).
inline constexpr std::size_t max_fiber_stack_size = std::size_t{1} << 30;  // 1 GiB

class fiber_host {
 public:
  /// The stack size a fiber asking for `requested` bytes gets: at least min_fiber_stack_size.
  /// Throws troupe::error, naming both sizes, if `requested` exceeds max_fiber_stack_size.
  static std::size_t stack_size_for(std::size_t requested);

  fiber_host() noexcept = default;
  /// Unwinds the body if it started and has not finished (every destructor on its stack
  /// runs), then gives the stack back.
  ~fiber_host();
  fiber_host(const fiber_host&) = delete;
  fiber_host& operator=(const fiber_host&) = delete;

  /// The demangled name of `type`, in storage that is never freed: a stack overflow report
  /// may need it at any moment, even during static destruction. Allocates; call once per
  /// actor type (blocking_actor keeps it in a function-local static).
  static const char* lasting_type_name(const std::type_info& type);

  /// Creates the fiber on a pooled stack of at least `stack_size` usable bytes (rounded up to
  /// whole pages) of `core`; entry(arg) runs at the first resume(). `label` (the actor's type
  /// name, or null; it must outlive the fiber) names the actor if its stack overflows: the
  /// process then prints one line naming it and the stack size on stderr before it dies of
  /// SIGSEGV (runtime/fiber/stack_overflow.hpp). Throws std::bad_alloc if no stack can be
  /// mapped, troupe::error if `stack_size` exceeds max_fiber_stack_size.
  void start(runtime_core* core, std::size_t stack_size, void (*entry)(void*), void* arg,
             const char* label);
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
  /// suspend() from a noexcept function (a send that waits for room): a fiber being
  /// destroyed returns at once, and unwinds at its next suspend() instead.
  static void suspend_noexcept() noexcept;
  /// This fiber is the one running on the calling thread.
  bool is_current() const noexcept;

 private:
  fiber* fiber_ = nullptr;
};

}  // namespace troupe::detail
