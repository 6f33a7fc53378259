// troupe/timer.hpp — messages delivered later: send_after() once, send_every() at a fixed rate.
//
//   struct Tick {};
//   struct Retry { int attempt; };
//   struct Session : troupe::actor<Session, Tick, Retry> {
//     void on_start() { ticker_ = troupe::send_every(self(), 1s, Tick{}); }
//     void on(Tick) { if (++idle_ticks_ == 30) ticker_.cancel(); }  // no Tick after this
//     void on(Retry r) { ... }
//     troupe::timer ticker_;
//     int idle_ticks_ = 0;
//   };
//   auto s = rt.spawn<Session>();
//   troupe::send_after(s, 250ms, Retry{1});  // fire and forget: dropping the handle does
//                                             // not cancel the timer
//
// Both work from any thread, inside handlers too, for every kind of actor; the timer runs
// on the target's runtime (one timer thread per runtime, started by its first timer).
//
// A timer's message is an ordinary message: when it is due, the timer thread sends it
// through the target's ref as any outside thread would — it is counted as sent, then
// handled, or dead-lettered if the target has stopped; it takes its place in the mailbox
// behind what was sent before it. (Per-sender order: the timer thread is the sender, so two
// timers' messages keep the order of their due times, and those due in the same millisecond
// the order in which they were scheduled; a timer's message is not ordered against the
// messages of the thread that scheduled it.)
//
// Timing: never early. A delivery happens at or after its due time, normally within about
// a millisecond of it (due times are rounded up to the timer wheel's 1 ms tick), later if
// the machine is overloaded. send_every() is fixed-rate: the n-th delivery is due at
// start + n * period whatever the lateness of the ones before, so no drift accumulates; if
// the timer thread falls more than a period behind (a suspended process), the missed
// deliveries are skipped, not replayed: at most one catch-up delivery, then back on the grid.
// A period shorter than the 1 ms tick cannot be kept: such a timer delivers about twice per
// tick (the due delivery and one catch-up).
//
// Ends of a timer:
//   * cancel() on its handle: after it returns, no further delivery of that timer happens
//     or is in progress. For send_after(), cancel() racing with the firing yields exactly
//     one of {delivered, cancelled}: cancel() returns true iff the message is never sent.
//   * a send_every() timer whose target has stopped cancels itself at its next tick (that
//     tick is dead-lettered) and is counted in runtime_stats::timers_cancelled_by_stop. Until
//     that tick it holds a reference to the stopped actor's memory (the actor handles
//     nothing); a long period with a short-lived target is better cancelled explicitly.
//   * the runtime's shutdown(): timers still pending are discarded (their messages are never
//     sent, so they count nowhere); scheduling after shutdown discards the timer at once.
// Dropping a troupe::timer does NOT cancel it (a fire-and-forget send_after() needs no
// handle); troupe::scoped_timer does cancel when it goes out of scope.
//
// Costs: one allocation per timer (the message lives in the timer's block: 64 bytes for a
// one-shot timer with a message of up to 8 bytes), O(1) to schedule and to cancel, under a
// short lock on the runtime's timer service (not on the send path). The timer thread sleeps
// until the next due time: an idle runtime with no timers uses no CPU. See
// docs/architecture.md, "Timers", and docs/benchmarks.md, "Timers".
#pragma once

#include <chrono>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/timer_node.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"

namespace troupe {

namespace detail {

// The message and target of one send_after() / send_every() timer, in the timer's block.
template <class M, bool Periodic, class... Msgs>
class message_timer final : public timer_node {
 public:
  template <class Arg>
  message_timer(const ref<Msgs...>& target, std::int64_t period_ns, Arg&& m)
      : target_(target), period_(period_ns) {
    ::new (static_cast<void*>(&msg_)) M(std::forward<Arg>(m));
  }
  ~message_timer() override {
    // retire() ran (INV-TIMER-4) unless the service never got the node: destroy what is left.
    if (target_) msg_.~M();
  }

  bool fire() noexcept override {
    try {
      if constexpr (Periodic) {
        target_.send(msg_);  // a copy per tick
      } else {
        target_.send(std::move(msg_));
      }
    } catch (...) {
      report_timer_send_failure();
    }
    if constexpr (Periodic) {
      return !target_.stopped();
    } else {
      return true;
    }
  }

  void retire(bool) noexcept override {
    // Drop the message and the target now: a handle kept afterwards (perhaps by the target
    // itself) then holds only this block, never the actor (no reference cycle).
    msg_.~M();
    target_ = ref<Msgs...>();
  }

  std::int64_t period_ns() const noexcept override {
    if constexpr (Periodic) {
      return period_.ns;
    } else {
      return 0;
    }
  }

 private:
  struct no_period {
    explicit no_period(std::int64_t) noexcept {}
  };
  struct with_period {
    explicit with_period(std::int64_t p) noexcept : ns(p) {}
    std::int64_t ns;
  };

  ref<Msgs...> target_;  // empty once retired
  [[no_unique_address]] std::conditional_t<Periodic, with_period, no_period> period_;
  union {
    M msg_;  // alive from construction until retire()
  };
};

template <class Rep, class Period>
std::chrono::nanoseconds timer_duration(std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) return std::chrono::nanoseconds::zero();
  // Beyond ~100 years, saturate instead of overflowing nanoseconds (the service clamps).
  if (std::chrono::duration<double>(d).count() >= 3e9) return std::chrono::hours(24 * 365 * 100);
  return std::chrono::ceil<std::chrono::nanoseconds>(d);
}

}  // namespace detail

/// A handle to a send_after() / send_every() timer. Movable, not copyable; empty when
/// default-constructed or moved from. Dropping it does not cancel the timer.
class timer {
 public:
  timer() noexcept = default;
  timer(timer&& o) noexcept
      : node_(std::exchange(o.node_, nullptr)), core_(std::exchange(o.core_, nullptr)) {}
  /// Drops (does not cancel) the timer this handle held, and takes `o`'s.
  timer& operator=(timer&& o) noexcept {
    if (this != &o) {
      timer old(std::move(*this));
      node_ = std::exchange(o.node_, nullptr);
      core_ = std::exchange(o.core_, nullptr);
    }
    return *this;
  }
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;
  ~timer() {
    if (node_ != nullptr) {
      node_->release();
      detail::release_core(core_);
    }
  }

  /// Stops the timer: when cancel() returns, no delivery of it is in progress and none will
  /// happen. Returns true if this call stopped it; for a send_after() timer, true iff its
  /// message is never sent (false: it was delivered, or was already cancelled). A delivery
  /// in progress on the timer thread is waited for (the time of one send). From any thread,
  /// inside handlers too, including the target's own handler of that timer's message.
  /// False on an empty handle, after shutdown, or once the timer has ended otherwise.
  bool cancel() noexcept { return node_ != nullptr && detail::cancel_timer(core_, node_); }

  /// True while a delivery may still happen: a send_after() timer not yet fired, a
  /// send_every() timer not cancelled (explicitly, by its target's stop or by shutdown).
  bool active() const noexcept { return node_ != nullptr && detail::timer_active(core_, node_); }

  /// True if this handle holds a timer (whatever its state).
  explicit operator bool() const noexcept { return node_ != nullptr; }

  // Not API: used by send_after() and send_every(). Takes over one reference to `n` and one
  // to `core`.
  timer(detail::timer_node* n, detail::runtime_core* core) noexcept : node_(n), core_(core) {}

 private:
  detail::timer_node* node_ = nullptr;    // counted (the handle's reference)
  detail::runtime_core* core_ = nullptr;  // counted while node_ is set
};

/// A troupe::timer that cancels its timer when it is destroyed or assigned over.
class scoped_timer {
 public:
  scoped_timer() noexcept = default;
  scoped_timer(timer t) noexcept : t_(std::move(t)) {}  // NOLINT: implicit by design
  scoped_timer(scoped_timer&&) noexcept = default;
  scoped_timer& operator=(scoped_timer&& o) noexcept {
    if (this != &o) {
      t_.cancel();
      t_ = std::move(o.t_);
    }
    return *this;
  }
  ~scoped_timer() { t_.cancel(); }

  bool cancel() noexcept { return t_.cancel(); }
  bool active() const noexcept { return t_.active(); }
  explicit operator bool() const noexcept { return static_cast<bool>(t_); }
  /// Gives the timer up without cancelling it.
  timer release() noexcept { return std::move(t_); }

 private:
  timer t_;
};

namespace detail {

template <bool Periodic, class... Msgs, class M>
timer start_message_timer(const ref<Msgs...>& target, std::chrono::nanoseconds first,
                          std::chrono::nanoseconds period, M&& msg, const char* operation) {
  using message = std::remove_cvref_t<M>;
  static_assert(is_one_of<message, Msgs...>,
                "troupe::send_after/send_every: the actor does not handle this message type "
                "(it is not in the actor's message list actor<Derived, Msgs...>)");
  static_assert(!Periodic || std::is_copy_constructible_v<message>,
                "troupe::send_every: the message must be copyable (each tick sends a copy)");
  runtime_core* core = ref_access::actor_of(target, operation)->core();
  const timer_clock::time_point due = timer_clock::now() + first;
  auto* n =
      new message_timer<message, Periodic, Msgs...>(target, period.count(), std::forward<M>(msg));
  retain_core(core);
  timer handle(n, core);         // one of the node's two references
  schedule_timer(core, due, n);  // the other; after shutdown it is retired at once
  return handle;
}

}  // namespace detail

/// Sends `msg` (moved or copied into the timer) to `target` once, `delay` from now (zero or
/// less: as soon as the timer thread gets to it). Throws troupe::error on an empty ref,
/// std::bad_alloc if the timer cannot be allocated (then nothing is scheduled).
template <class... Msgs, class M, class Rep, class Period>
timer send_after(const ref<Msgs...>& target, std::chrono::duration<Rep, Period> delay, M&& msg) {
  const std::chrono::nanoseconds d = detail::timer_duration(delay);
  return detail::start_message_timer<false>(target, d, std::chrono::nanoseconds::zero(),
                                            std::forward<M>(msg), "send_after");
}

/// Sends a copy of `msg` to `target` every `period`, fixed-rate: the n-th delivery (n >= 1)
/// is due at now + n * period. Runs until cancelled, until its target stops (then it
/// cancels itself, counted in runtime_stats::timers_cancelled_by_stop) or until shutdown.
/// Throws troupe::error on an empty ref or a period of zero or less.
template <class... Msgs, class M, class Rep, class Period>
timer send_every(const ref<Msgs...>& target, std::chrono::duration<Rep, Period> period, M&& msg) {
  const std::chrono::nanoseconds p = detail::timer_duration(period);
  if (p <= std::chrono::nanoseconds::zero()) {
    throw error("send_every: the period must be positive");
  }
  return detail::start_message_timer<true>(target, p, p, std::forward<M>(msg), "send_every");
}

}  // namespace troupe
