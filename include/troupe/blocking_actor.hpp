// troupe/blocking_actor.hpp — blocking actors: the recipe's Actor, with run() and recv(),
// on a stackful fiber — never a thread per actor.
//
//   struct Printer : troupe::blocking_actor<Printer, std::string> {
//     void run() {
//       for (;;) {
//         std::string msg = recv();            // the fiber sleeps while the mailbox is empty
//         std::printf("Got: %s\n", msg.c_str());
//       }                                      // close() makes recv() throw actor_exit,
//     }                                        // which ends run(): a normal stop
//   };
//   auto p = rt.spawn<Printer>();              // run() starts at once, on a worker
//   p.send(std::string("hello"));
//   p.close(); p.join();
//
// run() is an ordinary function on its own stack (a fiber). recv() on an empty mailbox
// suspends the fiber and gives the worker thread back to other actors; a send resumes it,
// possibly on another worker. Messages already queued are taken without suspending, up to
// the turn's batch; then the actor yields its worker like any other.
//
// Receiving:
//   recv()              the next message; with several types a std::variant<Msgs...>.
//   recv_for(timeout)   the same, or std::nullopt when `timeout` passes first.
//   recv<M>()           selective: the first queued message of type M (one of Msgs).
//   recv_if(pred)       selective: the first message for which pred(const message&) holds.
//   recv_if_for(pred, timeout)  both.
//   await(result)       the value of an ask() or submit() result, parking the fiber (not
//                       the worker) until it is ready; messages arriving meanwhile wait
//                       (see "Awaiting").
//   sleep_for(duration) suspends run() for `duration` (sleep_until(t): until t), parking the
//                       fiber, not the worker; messages arriving meanwhile wait, in order,
//                       for later receives; the close or a kill ends it with actor_exit.
// Timeouts and sleeps never end early; they end up to about a millisecond late (the
// runtime's one timer thread has a 1 ms tick), more on a loaded machine.
// A selective receive leaves every message it skips queued, in order: later receives see
// them first, in the order they arrived. Skipped messages are moved into a private queue
// (one pooled allocation each), so a selective receive is the slower path; a plain recv()
// takes from that queue first and costs nothing extra while it is empty.
//
// Message types may be over-aligned (alignas(32), alignas(64), a SIMD vector): receives hand
// each message out aligned for its type — its node, and the stash's copy, are allocated with
// that alignment (detail/message_node.hpp), and what recv() returns lives on the fiber's
// stack, which the compiler aligns for over-aligned locals as on any stack.
//
// Awaiting: await(r) receives nothing while it waits — messages that arrive meanwhile are
// set aside, in order, for later receives — and ends in one of three ways:
//   * r is ready: await() returns its value or throws its exception;
//   * the close sentinel arrives first: troupe::actor_exit, as for a selective receive that
//     meets it (a result that is complete by then still wins). So does every later await()
//     whose result is not complete yet, as every later receive throws: an actor that only
//     awaits still stops, and shutdown() returns;
//   * r is the reply to an ask() this actor sent to itself (through self()), and that
//     request is still queued here, unreceived: troupe::error at once, with a timeout or
//     without — the actor cannot receive its request while it awaits, so the reply would
//     never come. Receive and answer the request first. (An own request that was received
//     and passed on to another actor is awaited normally.)
// A reply that comes after its await ended early is dropped: if the actor still runs, its
// turn takes the reply and discards it (counted as handled); once it has stopped, the reply
// is a dead letter (type troupe::result<T>). Either way sent == handled + dead_lettered.
//
// Killing: after kill() (through a ref), the next receive, await() or sleep throws
// troupe::actor_exit at once (a parked fiber is woken for it), messages set aside or not;
// what is queued becomes dead letters (reason killed).
//
// Stopping: a receive throws troupe::actor_exit at the close sentinel (the recipe's
// ActorExit), and again at every later call — after handing out, first, any message that
// arrived before the sentinel but was skipped by a selective receive or set aside during an
// await(). A selective receive, or an await(), that reaches the sentinel throws at once.
// The actor stops when run() ends: by returning,
// or by letting actor_exit escape (both normal stops), or by another exception (a failure,
// reported like an event actor's). Then on_stop() runs if defined, and every message still
// queued — skipped ones included — becomes a dead letter. Do not swallow actor_exit and
// loop forever: shutdown() waits for every actor to stop. A close() sent right behind a
// message may thus cut short the handling of that message if it awaits a result: to have
// a job finished, wait for its outcome before closing, or let run() return after it.
//
// Stacks: pooled per size and reused, each with a guard page below it. The default is
// 64 KiB of usable stack; pass fiber_options to the base to choose per actor:
//   Parser() : blocking_actor({.stack_size = 1 << 20}) {}
// Sizes below min_stack_size (16 KiB) are raised to it; above max_stack_size (1 GiB) the
// spawn throws troupe::error naming the size and the limit.
// Only the pages a fiber touches become resident (see docs/benchmarks.md for bytes per
// blocking actor). A stack overflow cannot be recovered from: it hits the guard page, the
// process prints one line on stderr naming the actor's type and its stack size,
//   troupe: blocking actor Parser overflowed its 64 KiB stack (guard page hit at 0x7f…);
//   raise fiber_options::stack_size (see troupe/blocking_actor.hpp)
// (one line, wrapped here), and dies of SIGSEGV as it would have without troupe: a core
// dump, or a SIGSEGV handler the program installed before its first blocking actor started,
// still gets the fault. The fix is a larger stack_size for that actor, or less recursion.
// Under AddressSanitizer the report is ASan's ("stack-overflow"); under ThreadSanitizer
// there is none (docs/architecture.md, "Stack overflow", says how to tell).
//
// On the fiber, as in any handler: do not block the thread (a mutex held long, join(),
// result::get() from a worker is refused), and do not catch (...) without rethrowing —
// destroying a fiber unwinds it with an internal exception that must pass through.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include "troupe/ask.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/fiber_host.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/message_stash.hpp"
#include "troupe/detail/timer_task.hpp"
#include "troupe/detail/typed_actor.hpp"
#include "troupe/detail/wait_timer.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"
#include "troupe/result.hpp"

namespace troupe {

/// Per-actor fiber settings, passed to blocking_actor's constructor.
struct fiber_options {
  /// Usable stack bytes, rounded up to whole pages; at least blocking_actor's
  /// min_stack_size (smaller sizes are raised to it) and at most its max_stack_size (spawn
  /// throws troupe::error above it). A guard page comes on top.
  std::size_t stack_size = 64 * 1024;
};

template <class Derived, class... Msgs>
class blocking_actor : public detail::typed_actor<Derived, Msgs...> {
  using base = detail::typed_actor<Derived, Msgs...>;

 public:
  /// What recv() returns: the message itself, or std::variant<Msgs...> for several types.
  using message = typename detail::payload_of<Msgs...>::type;
  /// run() starts right after spawn, without waiting for a message.
  static constexpr bool starts_at_spawn = true;
  /// A supervisor can restart a blocking actor in place (supervisor.hpp): run() starts
  /// again, on a new fiber, on the fresh state.
  static constexpr bool restartable_in_place = true;
  /// Smaller requested stacks are raised to this.
  static constexpr std::size_t min_stack_size = detail::min_fiber_stack_size;
  /// Larger requested stacks are refused: spawn throws troupe::error (1 GiB).
  static constexpr std::size_t max_stack_size = detail::max_fiber_stack_size;

 protected:
  /// Throws troupe::error if options.stack_size exceeds max_stack_size; spawn passes it on.
  explicit blocking_actor(fiber_options options = {})
      : stack_size_(detail::fiber_host::stack_size_for(options.stack_size)) {}
  // Restart in place (supervision, see actor_base): every field here is the runtime's (the
  // fiber, the stash of the kept mailbox, the wait state), so these assign nothing.
  blocking_actor& operator=(const blocking_actor&) noexcept { return *this; }
  blocking_actor& operator=(blocking_actor&&) noexcept { return *this; }
  ~blocking_actor() override = default;

  /// The next message, in send order per sender. Throws troupe::actor_exit at the close
  /// sentinel. Only inside run().
  message recv() { return *take(nullptr, nullptr); }

  /// As recv(), or std::nullopt once `timeout` has passed with nothing to take.
  template <class Rep, class Period>
  std::optional<message> recv_for(std::chrono::duration<Rep, Period> timeout) {
    const auto deadline = detail::deadline_after(timeout);
    return take(nullptr, &deadline);
  }

  /// Selective: the first message of type M, leaving the others queued in order.
  template <class M>
  requires(sizeof...(Msgs) > 1 && detail::is_one_of<M, Msgs...>) M recv() {
    const matcher m = matcher::template of_type<M>();
    return std::get<M>(std::move(*take(&m, nullptr)));
  }

  /// Selective: the first message for which pred(const message&) is true, leaving the
  /// others queued in order. If pred throws, the message it was testing stays queued.
  template <class Pred>
  requires std::is_invocable_r_v<bool, Pred&, const message&> message recv_if(Pred&& pred) {
    const matcher m = matcher::of(pred);
    return std::move(*take(&m, nullptr));
  }

  /// Waits for `r` — from troupe::ask() or troupe::submit() — without blocking the worker:
  /// the fiber parks until r is ready, then this returns its value or throws its exception
  /// (a troupe::ask_error for an ask — ask_failed, ask_dropped, ask_stopped, ask_timeout —
  /// troupe::error, or what the task failed with):
  ///   long sq = await(troupe::ask(squarer, 7, 100ms));
  /// Messages that arrive meanwhile stay queued, in order, for later receives (they move to
  /// the stash so that the mailbox can go idle). The result's delivery counts as one
  /// message (see result.hpp, "Continuations"). Only inside run().
  /// Two things end the wait early (see "Awaiting" in the file comment):
  ///   * the close sentinel, if it arrives (or has arrived) before r is ready: throws
  ///     troupe::actor_exit;
  ///   * r is the reply to an ask() this actor sent itself and has not received yet:
  ///     throws troupe::error (at once, timeout or not) instead of waiting forever.
  template <class T>
  T await(result<T> r) {
    // The close was taken already: like every receive after it, give up at once (unless
    // there is nothing to wait for), so that an actor that only awaits still stops.
    if (exiting_ && r.valid() && !r.ready()) throw actor_exit{};
    // Our own request, still queued: we receive nothing while we wait, so no reply comes.
    const detail::result_state_base* const own = detail::unanswered_ask_to(r, *this);
    if (own != nullptr && stash_holds_request(own)) detail::throw_awaiting_own_request();
    const detail::result_state_base* const awaited = detail::result_access::state_of(r);
    std::optional<result<T>> ready;
    // The delivery is served by the turn, while the fiber is parked here. It fills `ready`
    // only for the await in progress (awaited_ names its state); one for an await that has
    // ended early (by an exception) comes after `ready` is gone and is dropped.
    std::move(r).then(*this, [this, &ready](result<T> x) {
      if (awaited_ == detail::result_access::state_of(x)) ready.emplace(std::move(x));
    });
    awaited_ = awaited;
    struct end_await {
      blocking_actor* self;
      ~end_await() { self->awaited_ = nullptr; }
    } guard{this};
    while (!ready) {
      if (killed_) throw actor_exit{};  // kill() ends the wait, the result unused
      if (budget_left_ == 0) {
        wait_ = wait_reason::yield;
        detail::fiber_host::suspend();
        continue;
      }
      const set_aside got = this->set_aside_next(stash_, exiting_);
      if (got == set_aside::nothing) {
        // The delivery comes through the side channel, served by the turn.
        wait_ = wait_reason::message;
        detail::fiber_host::suspend();
        continue;
      }
      --budget_left_;
      // The close came first. `awaited` is alive: the continuation holds it until served,
      // and it has not been (ready is empty). If it is complete already, its delivery is
      // on its way: take it, and let the next receive report the close.
      if (got == set_aside::closed && !awaited->ready()) throw actor_exit{};
      // A message set aside that is the request of the awaited result itself can never be
      // answered while we wait.
      if (got == set_aside::stashed &&
          detail::payload_is_request_for<Msgs...>(stash_.newest()->payload(), awaited)) {
        detail::throw_awaiting_own_request();
      }
    }
    return ready->get();
  }

  /// Suspends run() until `duration` has passed — the fiber parks, the worker runs others —
  /// and returns; at once for a duration <= 0. Messages that arrive meanwhile stay queued,
  /// in order, for later receives (set aside as during await()). Throws troupe::actor_exit
  /// instead if the close sentinel arrives before the end (or had been taken already: as
  /// every later receive throws, a sleeping actor still stops), and after kill(). Only
  /// inside run(). The end is never early and is usually late by up to the timer service's
  /// 1 ms tick (docs/architecture.md, "Timers").
  template <class Rep, class Period>
  void sleep_for(std::chrono::duration<Rep, Period> duration) {
    sleep_until(detail::deadline_after(duration));
  }

  /// sleep_for() until `deadline` on the steady clock; returns at once if it has passed.
  void sleep_until(std::chrono::steady_clock::time_point deadline) {
    killed_ = killed_ || this->kill_requested();  // as a receive does
    if (killed_) throw actor_exit{};
    if (detail::timer_clock::now() >= deadline) return;
    if (exiting_) throw actor_exit{};  // the close was taken: like every receive after it
    const disarm_on_exit disarm_guard{this};
    timer_.arm(*this, deadline);
    while (!timer_.expired()) {  // served by the turn from the side channel
      if (killed_) throw actor_exit{};
      if (budget_left_ == 0) {
        wait_ = wait_reason::yield;
        detail::fiber_host::suspend();
        continue;
      }
      // Keep the mailbox moving into the stash, so that it can go idle while we sleep.
      const set_aside got = this->set_aside_next(stash_, exiting_);
      if (got == set_aside::nothing) {
        wait_ = wait_reason::message;
        detail::fiber_host::suspend();
        continue;
      }
      --budget_left_;
      if (got == set_aside::closed) throw actor_exit{};
    }
  }

  /// recv_if() with a timeout: std::nullopt once `timeout` has passed with no match.
  template <class Pred, class Rep, class Period>
  requires std::is_invocable_r_v<bool, Pred&, const message&> std::optional<message> recv_if_for(
      Pred&& pred, std::chrono::duration<Rep, Period> timeout) {
    const matcher m = matcher::of(pred);
    const auto deadline = detail::deadline_after(timeout);
    return take(&m, &deadline);
  }

 private:
  using typename base::node_type;
  using typename base::set_aside;
  using time_point = detail::timer_clock::time_point;

  // A type-erased reference to a selective receive's test.
  struct matcher {
    const void* obj;
    bool (*fn)(const void*, const message&);
    bool operator()(const message& m) const { return fn(obj, m); }

    template <class Pred>
    static matcher of(Pred& p) {
      return {&p, [](const void* o, const message& m) -> bool {
                return static_cast<bool>((*static_cast<Pred*>(const_cast<void*>(o)))(m));
              }};
    }
    template <class M>
    static matcher of_type() {
      return {nullptr,
              [](const void*, const message& m) -> bool { return std::holds_alternative<M>(m); }};
    }
  };

  // ---- on the fiber ----------------------------------------------------------------------

  // The next message that `m` accepts (any if null); std::nullopt if `deadline` passes first.
  std::optional<message> take(const matcher* m, const time_point* deadline) {
    // Taken before the close sentinel (skipped by a selective receive, or stashed while
    // awaiting a result): still received, in order, before actor_exit.
    // kill(): nothing more is received, stash or not. The state word shares the mailbox's
    // cache line, which a receive touches anyway.
    killed_ = killed_ || this->kill_requested();
    if (killed_) throw actor_exit{};
    while (node_type* n = m == nullptr ? stash_.pop_front() : stash_.take_first(*m)) {
      if (this->drop_if_stale(n, true, *turn_)) continue;  // a down demonitored since
      return hand_over(n, true);
    }
    if (exiting_) throw actor_exit{};
    const disarm_on_exit disarm_guard{this};
    for (;;) {
      if (budget_left_ == 0) {  // the turn's batch is used up: let others run
        wait_ = wait_reason::yield;
        detail::fiber_host::suspend();
        continue;
      }
      auto [n, retired] = this->mailbox_.pop();
      this->free_retired(retired);
      if (n == nullptr) {
        if (deadline != nullptr) {
          if (timer_.expired()) return std::nullopt;
          if (!timer_.armed()) {
            if (detail::timer_clock::now() >= *deadline) return std::nullopt;
            timer_.arm(*this, *deadline);
          }
        }
        wait_ = wait_reason::message;
        detail::fiber_host::suspend();
        if (killed_) throw actor_exit{};
        continue;
      }
      if (this->is_close_sentinel(n)) {
        exiting_ = true;
        throw actor_exit{};
      }
      this->message_taken();
      auto* node = static_cast<node_type*>(n);
      --budget_left_;  // skipped messages count too: a long scan still yields its worker
      if (this->drop_if_stale(node, false, *turn_)) continue;  // a down demonitored since
      if (m != nullptr && !test_or_stash(*m, node)) continue;
      return hand_over(node, false);
    }
  }

  // True if the stash holds the (unanswered) request whose result state is `s`.
  bool stash_holds_request(const detail::result_state_base* s) const noexcept {
    return stash_.any_of(
        [s](const message& m) { return detail::payload_is_request_for<Msgs...>(m, s); });
  }

  // Runs the selective test on a popped node; if it fails (or throws), moves the message to
  // the stash and returns false (or rethrows).
  bool test_or_stash(const matcher& m, node_type* node) {
    bool accepted = false;
    try {
      accepted = m(node->payload());
    } catch (...) {
      this->stash_moved(stash_, node);
      throw;
    }
    if (!accepted) this->stash_moved(stash_, node);
    return accepted;
  }

  // Moves the payload out; the node is freed if it is ours (stashed), else it stays the
  // mailbox's dummy.
  std::optional<message> hand_over(node_type* n, bool owned) {
    turn_->took(n->payload_type_info());
    struct release_after {
      node_type* n;
      bool owned;
      ~release_after() {
        n->destroy_payload();
        if (owned) node_type::deallocate(n);
      }
    } guard{n, owned};
    return std::optional<message>(std::move(n->payload()));  // built before the guard runs
  }

  // ---- timeouts -------------------------------------------------------------------------
  // recv_for() and sleep_for() arm timer_ (detail/wait_timer.hpp) when they have to wait;
  // its expiry reaches the actor through the side channel, served by the turn, and sets
  // timer_.expired() for the fiber to see once it is resumed. Every wait disarms as it
  // ends, however it ends.

  struct disarm_on_exit {
    blocking_actor* self;
    ~disarm_on_exit() { self->timer_.disarm(*self); }
  };

  // ---- on the worker (the consumer) -----------------------------------------------------

  static void enter(void* self) {
    static_assert(
        requires(Derived & d) { d.run(); },
        "troupe::blocking_actor: Derived needs a public `void run()`");
    try {
      static_cast<Derived&>(*static_cast<blocking_actor*>(self)).run();
    } catch (const actor_exit&) {
      // The close escaped run(): a normal stop, as if run() had returned. Caught here, at
      // the nearest frame, rather than by the fiber's catch-all and then rethrown by stop()
      // to tell it from a failure: one exception per closed actor instead of two.
    }
  }

  // Derived's demangled name for a stack overflow report, computed once per type.
  static const char* type_label() {
    static const char* const label = detail::fiber_host::lasting_type_name(typeid(Derived));
    return label;
  }

  detail::turn_result run_turn(unsigned budget, detail::turn_record& turn) noexcept final {
    budget_left_ = budget;
    turn_ = &turn;
    if (!fiber_.started()) {
      // No fiber: the first turn, or a supervised child resumed after a suspension (its
      // fiber ended then): restarted in place, or given up.
      if (this->interrupted()) {
        detail::turn_result r{};
        if (this->supervision_request(r, nullptr) == detail::request_outcome::turn_ends) {
          return r;
        }
        if (this->resumed_to_stop()) return stop(nullptr);
      }
      try {
        fiber_.start(this->core(), stack_size_, &enter, this, type_label());
      } catch (...) {  // no stack could be mapped
        return stop(std::current_exception());
      }
    }
    // Side notifications first (a result the fiber awaits, then() continuations), so that
    // a steady stream of messages cannot hold them back.
    if (this->mailbox_.signalled()) {
      if (auto e = this->serve_side()) return stop(std::move(e));
      killed_ = killed_ || this->kill_requested();  // kill() signals: receives throw now
      unwind_to_suspend();
    }
    for (;;) {
      fiber_.resume();
      if (fiber_.done()) return stop(fiber_.error());
      if (wait_ == wait_reason::yield) return detail::turn_result::runnable;
      // The body waits for a message (or its timeout).
      if (this->template try_go_idle<node_type>()) return detail::turn_result::idle;
      if (!this->mailbox_.signalled()) return detail::turn_result::runnable;  // a push
      if (auto e = this->serve_side()) return stop(std::move(e));
      // kill() may be what signalled: the fiber, parked in a wait, must see it now, or it
      // would park again and the actor go idle with the kill unnoticed.
      killed_ = killed_ || this->kill_requested();
      unwind_to_suspend();
      // A timeout was served (or a spurious signal): let the body look again.
    }
  }

  // A send of run() left a bounded receiver over capacity: the fiber parks here, inside
  // send(), and the worker mutes the actor until the receiver has drained; then send()
  // returns. Not on the fiber (a continuation served by the turn): the actor is muted when
  // its turn ends.
  void throttled() noexcept final {
    if (!fiber_.is_current()) return;
    wait_ = wait_reason::yield;
    detail::fiber_host::suspend_noexcept();
  }

  // A group restart asks this supervised child to suspend: its body must end first, so
  // every receive and await throws actor_exit (as for a kill) until run() returns.
  void unwind_to_suspend() noexcept {
    if (!unwinding_ && this->suspension_requested()) {
      unwinding_ = true;
      killed_ = true;
    }
  }

  detail::turn_result stop(std::exception_ptr error) noexcept {
    fiber_.reset();  // the body has finished (or never started): give the stack back
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const actor_exit&) {
        error = nullptr;  // run() let the close escape: a normal stop
      } catch (...) {
      }
    }
    timer_.disarm(*this);  // run() ended mid-wait (a failure): nothing stays pending
    awaited_ = nullptr;
    wait_ = wait_reason::message;
    // A supervised child that failed, was killed or unwound for a group restart is
    // suspended instead: its stash stays (it is part of its mailbox), and run() starts on a
    // new fiber when it is restarted. A run() that returned, or let the close escape, ends
    // it for good.
    if (std::exchange(unwinding_, false) && !error) {
      killed_ = false;
      detail::turn_result r{};
      if (this->supervision_request(r, nullptr) == detail::request_outcome::turn_ends) return r;
      killed_ = this->kill_requested();  // no longer asked (stopping for good): as it was
    }
    if ((error || killed_) && this->suspends_on_stop()) {
      killed_ = false;
      return this->stop_for(std::move(error));
    }
    while (node_type* n = stash_.pop_front()) {  // skipped or stashed, never received
      this->dead_letter(n);
      node_type::deallocate(n);
    }
    this->finish(error);
    return detail::turn_result::stopped;
  }

  enum class wait_reason : unsigned char { message, yield };

  // Consumer only: the worker running the turn, and the fiber it resumes.
  detail::fiber_host fiber_;
  detail::message_stash<node_type> stash_;  // skipped, or arrived while awaiting a result
  const detail::result_state_base* awaited_ = nullptr;  // the state await() waits for, if any
  detail::turn_record* turn_ = nullptr;                 // the running turn's (run_turn())
  detail::wait_timer timer_;                            // recv_for()'s deadline, sleep_for()'s end
  std::size_t stack_size_;
  unsigned budget_left_ = 0;
  wait_reason wait_ = wait_reason::message;
  bool exiting_ = false;    // the close sentinel was taken
  bool killed_ = false;     // kill() was seen: every receive and await throws actor_exit
  bool unwinding_ = false;  // ending run() to suspend for a group restart (killed_ is set)
};

}  // namespace troupe
