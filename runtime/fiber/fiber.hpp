// runtime/fiber/fiber.hpp — a stackful fiber on a pooled stack (Boost.Context underneath).
//
// Design: a fiber runs a `void()` body on its own stack (a fiber_stack from a stack_pool). The
// body object itself is stored in the top bytes of that stack, and Boost.Context keeps its
// control record just below it, so a fiber costs no heap allocation beyond the `fiber` object.
// Only runtime/fiber/fiber.cpp includes Boost.Context.
//
// Roles:
//   scheduler  — any thread outside the fiber: constructs it, calls resume(), reads done() and
//                exception(), destroys it. resume() runs the body until it calls suspend() or
//                returns, and only then returns itself.
//   body       — the code on the fiber's stack: calls suspend() to give its thread back.
// A fiber may be resumed on a different thread each time (migration between workers).
//
// Invariants:
//   INV-FIBER-1  At most one thread touches a fiber at a time: the one running resume(), or,
//                between resumes, the one that owns it. The fiber has no atomics; whoever
//                passes a suspended fiber to another thread (a run queue) supplies the
//                happens-before edge, exactly as for an event actor's fields.
//   INV-FIBER-2  suspend() returns control to the resume() call currently running the fiber,
//                on whatever thread that is, and returns when the next resume() (perhaps on
//                another thread) continues it. resume() returns only when the body suspends or
//                has finished.
//   INV-FIBER-3  The stack goes back to its pool exactly once: inside the resume() in which the
//                body finished, after the last instruction ran on it (Boost.Context frees it
//                from the resumer's stack). done() is true from then on.
//   INV-FIBER-4  No exception crosses a context switch: an exception escaping the body is
//                captured and exposed by exception(); resume() itself never throws.
//   INV-FIBER-5  Every switch goes through one function (switch_to in fiber.cpp) that carries
//                the AddressSanitizer and ThreadSanitizer fiber annotations; resume() also
//                swaps the C++ exception-handling state (std::current_exception(),
//                std::uncaught_exceptions()), so each fiber and each thread sees its own even
//                when a fiber suspends inside a catch block and resumes on another thread.
//   INV-FIBER-6  Destroying a fiber that has not finished resumes it once with an unwind
//                request: its pending suspend() throws fiber_unwind, which unwinds the stack
//                (every destructor on it runs, on the destroying thread) and is swallowed at
//                the body's entry. While unwinding, every suspend() throws again instead of
//                switching, so destruction completes within that one resume(). A fiber that
//                never started has its body destroyed without being run.
//
// Hazards for code running on a fiber (documented in docs/architecture.md):
//   - catch (...) without rethrowing swallows fiber_unwind and keeps a destroyed fiber running
//     until its next suspend() (which throws again). Catch it and rethrow:
//       catch (const troupe::detail::fiber_unwind&) { throw; } catch (...) { ... }
//     fiber_unwind deliberately does not derive from std::exception.
//   - suspend() must not be called from a noexcept function (destructors included): when the
//     fiber is destroyed, it throws there and std::terminate follows.
//   - Do not keep a pointer or reference to a thread_local across suspend(): after it the
//     fiber may run on another thread. Compilers may also cache a thread_local's address
//     within one function, so read thread_locals through a non-inline function.
//   - Blocking the thread (a mutex held across suspend(), a long syscall) blocks the worker.
//
// Not guaranteed: fairness or any scheduling (the caller decides who runs); running a fiber
// from inside itself; moving a fiber object (it is pinned: the body refers to it).
#pragma once

#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "fiber/stack_pool.hpp"

namespace troupe::detail {

/// Thrown by suspend() in a fiber that is being destroyed (INV-FIBER-6). Not a
/// std::exception on purpose: only `catch (...)` can swallow it, and must rethrow it.
struct fiber_unwind final {};

/// What a fiber runs: a callable taking no arguments, stored by value (decayed) on the stack.
template <class F>
concept fiber_body = std::is_invocable_v<std::add_lvalue_reference_t<std::decay_t<F>>> &&
    std::is_constructible_v<std::decay_t<F>, F>;

class fiber {
 public:
  /// Scheduler: prepares `body` to run on `stack`; it starts at the first resume().
  /// Throws std::invalid_argument for an empty stack, std::length_error if the body object
  /// would take more than a quarter of the stack, or whatever copying/moving `body` throws
  /// (then `stack` goes back to its pool).
  template <fiber_body F>
  fiber(fiber_stack stack, F&& body);

  /// Scheduler: if the body started and has not finished, unwinds its stack on this thread
  /// (INV-FIBER-6). Must not be called from inside this fiber.
  ~fiber();

  fiber(const fiber&) = delete;
  fiber& operator=(const fiber&) = delete;

  /// Scheduler: runs the body until it suspends or finishes (INV-FIBER-2). Precondition:
  /// !done() and the fiber is not running. Never throws (INV-FIBER-4).
  void resume() noexcept;

  /// Body only, on this fiber: switch back to the thread's resume(). Throws fiber_unwind if
  /// the fiber is being destroyed (INV-FIBER-6).
  void suspend();
  /// suspend() for a noexcept caller: a fiber being destroyed returns at once instead of
  /// throwing, and unwinds at its next suspend() (INV-FIBER-6).
  void suspend_noexcept() noexcept;

  /// The body has returned or thrown; its stack is back in the pool (INV-FIBER-3).
  bool done() const noexcept { return state_ == state::done; }
  /// After done(): what escaped the body, or null.
  std::exception_ptr exception() const noexcept { return error_; }

  /// The fiber that the calling thread is running right now, or nullptr on a thread's own
  /// stack. (A non-inline read of a thread_local: safe to call after a migration.)
  static fiber* current() noexcept;

  /// The usable stack range, for diagnosing an overflow: a fault address in the page just
  /// below stack_bottom() is a stack overflow (see stack_pool.hpp, INV-STACK-1).
  const std::byte* stack_bottom() const noexcept { return stack_bottom_; }
  std::size_t stack_size() const noexcept { return stack_size_; }

  /// What the fiber runs, for the stack overflow report (stack_overflow.hpp): a blocking
  /// actor's type name, or null. The string must outlive the fiber; set it before the first
  /// resume().
  void set_label(const char* label) noexcept { label_ = label; }
  const char* label() const noexcept { return label_; }

 private:
  friend struct fiber_access;
  enum class state : unsigned char { ready, running, suspended, done };
  using invoke_fn = void (*)(void*);
  using destroy_fn = void (*)(void*) noexcept;

  // Bytes to reserve at the top of `stack` for a body of this size and alignment.
  static std::size_t body_reserve(const fiber_stack& stack, std::size_t size, std::size_t align);
  void start(fiber_stack&& stack, std::size_t reserved, void* body, invoke_fn invoke,
             destroy_fn destroy) noexcept;

  // Two boost::context::fiber objects (one pointer each; fiber.cpp static_asserts that).
  alignas(void*) std::byte ctx_[sizeof(void*)];     // the suspended body; empty while running
  alignas(void*) std::byte caller_[sizeof(void*)];  // back to resume(); valid while running
  void* body_ = nullptr;                            // the body object, at the top of the stack
  invoke_fn invoke_ = nullptr;
  destroy_fn destroy_ = nullptr;
  std::exception_ptr error_;
  void* eh_caught_ = nullptr;  // this fiber's exception-handling state while not running
  unsigned eh_uncaught_ = 0;
  state state_ = state::ready;  // written by the scheduler side only
  bool unwinding_ = false;      // set by ~fiber before its final resume()
  std::byte* stack_bottom_ = nullptr;
  std::size_t stack_size_ = 0;
  const char* label_ = nullptr;
  // Sanitizer bookkeeping; unused in ordinary builds but always present (one layout).
  void* tsan_fiber_ = nullptr;
  void* tsan_caller_ = nullptr;
  const void* caller_stack_bottom_ = nullptr;
  std::size_t caller_stack_size_ = 0;
};

template <fiber_body F>
fiber::fiber(fiber_stack stack, F&& body) {
  using Fn = std::decay_t<F>;
  const std::size_t reserved = body_reserve(stack, sizeof(Fn), alignof(Fn));
  void* slot = stack.top() - reserved;
  ::new (slot) Fn(std::forward<F>(body));  // if this throws, `stack` returns to its pool
  start(
      std::move(stack), reserved, slot, [](void* p) { (*static_cast<Fn*>(p))(); },
      [](void* p) noexcept { static_cast<Fn*>(p)->~Fn(); });
}

}  // namespace troupe::detail
