// troupe/task_worker.hpp — the recipe's `Worker`: an actor that runs the functions submitted
// to it, one at a time, and hands each one's outcome back through a troupe::result.
//
//   long ipow(long base, int exp);
//
//   troupe::runtime rt;
//   auto w = rt.spawn<troupe::task_worker>();          // a task_worker::handle
//   troupe::result<long> r = troupe::submit(w, ipow, 2, 10);
//   long v = r.get();                                   // 1024; blocks this non-worker thread
//
// submit(w, f, args...) works like std::async: f and args are decay-copied (moved when
// passed as rvalues) into the task, and f is later called with them as rvalues on a worker
// thread; pass std::ref(x) to hand over a reference. The task is one message to the worker:
// a task_worker is an ordinary event actor on the runtime's work-stealing workers, not a
// thread of its own, so
//   * it runs one task at a time, in the order each thread submitted them (tasks submitted
//     from different threads interleave); for parallelism spawn several task_workers;
//   * f must not block for long: it holds a worker thread while it runs; get() on a result,
//     join() or shutdown() inside f throw troupe::error;
//   * the runtime's stats count each submit as one message sent, and it ends up handled or
//     dead-lettered like any other.
//
// Outcomes, through the result:
//   * f returns             -> get() returns the value (result<void> if f returns void);
//   * f throws              -> get() rethrows that exception; the worker keeps running;
//   * the worker had stopped (closed, shut down) before the task reached it -> the task is
//     a dead letter, the result is a broken promise: get() throws troupe::error ("... the task
//     was never run: its worker had stopped ..."). It never hangs.
// By the time the result is ready, the task's copies of f and args have been destroyed.
// Discarding the result is allowed (fire and forget), but then an exception from f is lost.
//
// Submitting from inside another actor works, but its handler must not call get() (it
// throws: it would block the worker). Wait-free pattern: let the task send its outcome back
// as a message,
//   troupe::submit(w, [me = self(), x] { me.send(Done{work(x)}); });
// or hand the result to a continuation that runs in the actor's turn (result.hpp, then()):
//   troupe::submit(w, work, x).then(*this, [this](troupe::result<R> r) { use(r.get()); });
// (or co_await it in a coroutine actor); ask.hpp does the same for request/response.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/actor.hpp"
#include "troupe/ref.hpp"
#include "troupe/result.hpp"

namespace troupe {

namespace detail {

inline constexpr const char* task_never_run_reason =
    "submit: the task was never run: its worker had stopped (closed, failed or shut down) "
    "before the task reached it, so the task became a dead letter. Submit to a running "
    "task_worker, and close it only after the results you need are in.";

/// A submitted function with its arguments and its result's producing end: the message a
/// task_worker handles. Move-only and type-erased (two pointers): the function, arguments
/// and result share one allocation (a task_state), reached through `op_`. Not API.
class task {
 public:
  /// run == true: call the function and complete the result; false: break the result. Both
  /// destroy the function and arguments, then drop the task's reference to the state.
  using op_fn = void (*)(result_state_base* s, bool run) noexcept;

  task(result_state_base* s, op_fn op) noexcept : s_(s), op_(op) {}
  task(task&& o) noexcept : s_(std::exchange(o.s_, nullptr)), op_(o.op_) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
      op_ = o.op_;
    }
    return *this;
  }
  /// A task destroyed without having run (a dead letter) breaks its result.
  ~task() { reset(); }

  /// Runs the function once and completes the result. Never throws.
  void operator()() noexcept {
    if (s_ != nullptr) op_(std::exchange(s_, nullptr), true);
  }
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  void reset() noexcept {
    if (s_ != nullptr) op_(std::exchange(s_, nullptr), false);
  }

  result_state_base* s_;
  op_fn op_;
};

/// The shared state of one submitted task: the result's state plus the decayed function and
/// arguments (destroyed as soon as the task has run or been dropped).
template <class R, class F, class... Args>
class task_state final : public result_state<R> {
 public:
  template <class F2, class... A2>
  explicit task_state(F2&& f, A2&&... args)
      : call_(std::in_place, std::forward<F2>(f), std::forward<A2>(args)...) {}

  static void op(result_state_base* base, bool run) noexcept {
    auto* s = static_cast<task_state*>(base);
    if (run) {
      s->run();
    } else {
      s->call_.reset();
      s->abandon(task_never_run_reason);
    }
    s->release();
  }

 private:
  ~task_state() override = default;

  void run() noexcept {
    std::exception_ptr e;
    try {
      this->construct_from([this]() -> R {
        return std::apply(
            [](F& f, Args&... args) -> R { return std::invoke(std::move(f), std::move(args)...); },
            *call_);
      });
    } catch (...) {
      e = std::current_exception();
    }
    call_.reset();  // before publishing: when get() returns, f and its arguments are gone
    if (e) {
      this->complete_with_exception(std::move(e));
    } else {
      this->publish_value();
    }
  }

  std::optional<std::tuple<F, Args...>> call_;
};

template <class F, class... Args>
struct submit_traits {
  static constexpr bool invocable = std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>;
  static_assert(invocable,
                "troupe::submit(worker, f, args...): f cannot be called with these arguments. "
                "Like std::async, submit stores decayed copies of f and args and later calls f "
                "with them as rvalues; to pass a reference use std::ref / std::cref.");
  using type =
      typename std::conditional_t<invocable,
                                  std::invoke_result<std::decay_t<F>, std::decay_t<Args>...>,
                                  std::type_identity<void>>::type;
  static_assert(!std::is_reference_v<type>,
                "troupe::submit: f returns a reference, which would dangle once it crosses "
                "threads; wrap f in a lambda that returns the value.");
};

}  // namespace detail

/// The recipe's Worker: runs each submitted task (see submit()) and completes its result.
/// Spawn with rt.spawn<troupe::task_worker>(); close/join/shutdown as for any actor.
class task_worker final : public actor<task_worker, detail::task> {
 public:
  void on(detail::task t) noexcept { t(); }  // exceptions from f go to the result
};

/// Sends f(args...) to the task_worker `w` and returns its result (see the file comment).
/// Throws troupe::error if `w` is empty, std::bad_alloc if allocation fails (then nothing is
/// sent). Callable from any thread, including handlers.
template <class F, class... Args>
auto submit(const task_worker::handle& w, F&& f, Args&&... args)
    -> result<typename detail::submit_traits<F, Args...>::type> {
  using R = typename detail::submit_traits<F, Args...>::type;
  using state = detail::task_state<R, std::decay_t<F>, std::decay_t<Args>...>;
  auto* s = new state(std::forward<F>(f), std::forward<Args>(args)...);
  s->add_ref();  // the result's reference; the task holds the first
  result<R> r = detail::result_access::adopt<R>(s);
  // If send() throws (empty handle, no memory), the task breaks the state and drops its
  // reference on the way out; r drops the other one.
  w.send(detail::task(s, &state::op));
  return r;
}

}  // namespace troupe
