// troupe/coro_actor.hpp — coroutine actors: the recipe's generator actor as a C++20
// coroutine, on the same mailboxes and workers as event actors.
//
//   struct Printer : troupe::coro_actor<Printer, std::string> {
//     task run() {
//       try {
//         for (;;) {
//           std::string msg = co_await recv();   // suspends while the mailbox is empty
//           std::printf("Got: %s\n", msg.c_str());
//         }
//       } catch (const troupe::actor_exit&) {     // close() reached: the recipe's GeneratorExit
//         std::printf("Actor terminating\n");
//       }
//     }
//   };
//   auto p = rt.spawn<Printer>();                 // run() starts at once, on a worker
//   p.send(std::string("hello"));
//   p.close(); p.join();
//
// run() starts on a worker as soon as the actor is spawned, and runs until its first
// co_await recv() finds the mailbox empty; the coroutine then suspends (stackless: nothing
// but its frame is kept) and the worker moves on. A send resumes it, possibly on another
// worker. With several message types, recv() returns a std::variant<Msgs...>.
//
// Killing: after kill() (through a ref), the next recv(), recv_for(), sleep or co_await on
// a result throws troupe::actor_exit (a suspended coroutine is resumed for it); what is
// queued becomes dead letters (reason killed).
//
// Stopping: recv() and recv_for() throw troupe::actor_exit at the close sentinel (and at
// every later call), and so does a co_await on a result or a sleep that the close reaches
// first (see "Awaiting results" and "Waiting with a deadline"). The actor stops when run()
// finishes — by returning, by letting actor_exit escape (both normal stops), or by another
// exception (a failure, reported like an event actor's). Then on_stop() runs if defined,
// and whatever is still queued becomes dead letters. Do not swallow actor_exit and loop on
// recv() forever: shutdown() waits for every actor to stop.
//
// Cost: a message to a waiting coroutine actor costs one resume; messages already queued
// are taken inside the coroutine without suspending, up to the turn's batch.
//
// Awaiting results: inside run(), `co_await` on a troupe::result<T> (an rvalue: from
// troupe::ask() or troupe::submit()) suspends the coroutine until the result is ready and
// yields its value, or throws its exception (a troupe::ask_error for an ask — ask_failed,
// ask_dropped, ask_stopped, ask_timeout — troupe::error, or what the task failed with):
//   long sq = co_await troupe::ask(squarer, 7, 100ms);
// The worker is not blocked: the actor goes idle, and the result's completion resumes it
// (through the side channel, see result.hpp "Continuations"; it counts as one message).
// Messages that arrive meanwhile stay queued in order for later recv() calls: the actor
// moves them into a private queue (one pooled allocation each) so that its mailbox can go
// idle, and recv() takes from that queue first. Only run() itself may co_await a result;
// nested coroutines are not supported. Two things end the wait early:
//   * the close sentinel, if it arrives before the result is complete: the co_await throws
//     troupe::actor_exit (the messages that came before the close are still received by
//     later recv() calls, then recv() throws again). So does every later co_await on a
//     result that is not complete yet, as every later recv() throws: an actor that only
//     awaits still stops, and shutdown() returns. A close() sent right behind a message may
//     thus cut short its handling: to have a job finished, wait for its outcome first;
//   * the result is the reply to an ask() this actor sent to itself (through self()) whose
//     request is still queued here, unreceived: troupe::error at once, with a timeout or
//     without — the actor cannot receive its request while it awaits, so the reply would
//     never come. Receive and answer the request first. (An own request that was received
//     and passed on to another actor is awaited normally.)
// A reply that comes after its co_await ended early is dropped: if the actor still runs,
// its turn takes the reply and discards it (counted as handled); once it has stopped, the
// reply is a dead letter (type troupe::result<T>). Either way sent == handled +
// dead_lettered.
//
// Waiting with a deadline: inside run(),
//   std::optional<Msg> m = co_await recv_for(50ms);  // the next message, or std::nullopt
//   co_await sleep_for(10ms);                        // (or sleep_until(steady time point))
// recv_for() is recv() with a deadline: it yields the next message — from the messages set
// aside during an earlier await or sleep first, as recv() does — or std::nullopt once the
// timeout has passed with nothing to take (at once for a timeout <= 0 and nothing queued);
// the close sentinel and kill() make it throw troupe::actor_exit, as recv(). A message that
// is queued when the deadline is noticed wins: it is yielded, and no message is ever lost
// to a timeout. sleep_for() suspends run() for the duration, receiving nothing: messages
// that arrive meanwhile stay queued in order for later recv() calls (set aside as during a
// result await), and, as for a result await, the close sentinel ends the sleep early with
// troupe::actor_exit (the messages before it are still received by later recv() calls),
// as does a kill(), and a sleep begun after the close was taken throws at once. Both wait
// without a thread: while the mailbox is empty (recv_for) or during the sleep, the actor
// is idle like one in recv(), and one timer on the runtime's timer thread (the one that
// runs send_after() and ask() timeouts) resumes it; the timer is cancelled as soon as the
// wait ends any other way, so nothing stays pending once the wait is over. The timer's
// expiry is not a message: it is not counted in runtime_stats. Deadlines are never early
// and are usually up to about a millisecond late (the timer thread's 1 ms tick), more on a
// loaded machine.
//
// Alignment: every message reaches run() aligned for its type, however over-aligned (an
// alignas(64) struct, a SIMD vector, a std::variant holding one), as in event and blocking
// actors. Coroutines need one extra step for it. The value co_await recv() yields lives in
// the coroutine frame, which C++20 allocates with operator new(size) — no alignment is
// passed — while the compiler lays the frame out for a block aligned to its most-aligned
// member (GCC 12 places each member at an offset that is a multiple of its alignment, and
// does not realign a block that is less aligned). So run()'s frame is allocated aligned to
//   max(alignof(std::max_align_t), alignof(message), Derived::frame_alignment).
// Normally that is 16 bytes and the frame comes from the node pool, as any other block;
// above 16 it comes from ::operator new with that alignment (once per actor: the frame lives
// as long as run()). troupe cannot see run()'s own locals, and GCC 12 keeps every one of
// them in the frame, even one that is never live across a co_await: an over-aligned local
// (an alignas(32) array, say) needs
//   static constexpr std::size_t frame_alignment = 32;   // in Derived; a power of two
// or it may be misaligned.
//
// Compiler note: GCC 12 miscompiles a co_await that appears inside an if condition, e.g.
// `if (co_await recv() == 3) ...` crashes (illegal instruction) even in a coroutine that has
// nothing to do with troupe; clang is fine. Bind the result first:
// `int n = co_await recv(); if (n == 3) ...`.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/actor.hpp"
#include "troupe/ask.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/message_stash.hpp"
#include "troupe/detail/node_pool.hpp"
#include "troupe/detail/typed_actor.hpp"
#include "troupe/detail/wait_timer.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"
#include "troupe/result.hpp"

namespace troupe {

template <class Derived, class... Msgs>
class coro_actor : public detail::typed_actor<Derived, Msgs...> {
  using base = detail::typed_actor<Derived, Msgs...>;

 public:
  /// What recv() yields: the message itself, or std::variant<Msgs...> for several types.
  using message = typename detail::payload_of<Msgs...>::type;
  /// run() starts right after spawn, without waiting for a message.
  static constexpr bool starts_at_spawn = true;
  /// A supervisor can restart a coroutine actor in place (supervisor.hpp): run() starts
  /// again from its top on the fresh state.
  static constexpr bool restartable_in_place = true;
  /// The least alignment of run()'s frame; Derived may declare a larger one, for
  /// over-aligned locals of run() (see "Alignment" above).
  static constexpr std::size_t frame_alignment = alignof(std::max_align_t);

  /// The return type of Derived::run(). Frames come from the node pool (see "Alignment").
  class task {
   public:
    struct promise_type {
      std::exception_ptr error;
      coro_actor* actor = nullptr;  // set by run_turn() before the body first runs

      task get_return_object() noexcept {
        return task(std::coroutine_handle<promise_type>::from_promise(*this));
      }
      std::suspend_always initial_suspend() noexcept { return {}; }
      std::suspend_always final_suspend() noexcept { return {}; }
      void return_void() noexcept {}
      void unhandled_exception() noexcept { error = std::current_exception(); }
      // The frame is laid out for a block aligned to its most-aligned member, but C++20
      // passes only its size: align it to what run() needs (see "Alignment").
      static void* operator new(std::size_t n) {
        if constexpr (run_frame_alignment() <= alignof(std::max_align_t)) {
          return detail::pool_allocate(n);  // the common case: 16-byte pool blocks
        } else {
          return ::operator new (n, std::align_val_t{run_frame_alignment()});
        }
      }
      static void operator delete(void* p, std::size_t n) noexcept {
        if constexpr (run_frame_alignment() <= alignof(std::max_align_t)) {
          detail::pool_release(p, n);
        } else {
          ::operator delete (p, n, std::align_val_t{run_frame_alignment()});
        }
      }

      // co_await on a result suspends until it is ready (see "Awaiting results").
      template <class T>
      auto await_transform(result<T>&& r) {
        if (actor == nullptr) {
          throw troupe::error(
              "coro_actor: co_await on a result is only supported in the actor's run() "
              "itself, not in a nested coroutine");
        }
        // The close was taken already: like every recv() after it, give up at once (unless
        // there is nothing to wait for), so that an actor that only awaits still stops.
        if (actor->exiting_ && r.valid() && !r.ready()) throw actor_exit{};
        if (actor->killed_) throw actor_exit{};  // kill(): nothing more is awaited
        // Our own request, still queued: we receive nothing while we wait, so no reply
        // comes. (If it is still in the mailbox, run_turn() finds it while awaiting.)
        const detail::result_state_base* own = detail::unanswered_ask_to(r, *actor);
        if (own != nullptr && actor->stash_holds_request(own)) {
          detail::throw_awaiting_own_request();
        }
        return result_awaiter<T>{actor, std::move(r)};
      }
      template <class T>
      auto await_transform(result<T>&) {
        static_assert(!std::is_same_v<T, T>,
                      "co_await on a troupe::result consumes it: write co_await std::move(r)");
      }
      template <class A>
      A&& await_transform(A&& awaitable) noexcept {
        return std::forward<A>(awaitable);
      }
    };
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    task& operator=(task&&) = delete;
    ~task() {
      if (h_) h_.destroy();
    }

   private:
    friend class coro_actor;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }
    std::coroutine_handle<promise_type> h_;
  };

 protected:
  coro_actor() noexcept = default;
  // Restart in place (supervision, see actor_base): every field here is the runtime's (the
  // coroutine, the stash of the kept mailbox, the wait state), so these assign nothing.
  coro_actor& operator=(const coro_actor&) noexcept { return *this; }
  coro_actor& operator=(coro_actor&&) noexcept { return *this; }
  ~coro_actor() override {
    if (coro_) coro_.destroy();  // only if spawn failed or the actor never finished
  }

  /// Awaitable: the next message, in send order per sender. Throws troupe::actor_exit at
  /// the close sentinel. Only for use inside run().
  auto recv() noexcept { return recv_awaiter{this}; }

  /// Awaitable: as recv(), yielding std::optional<message> — the next message, or
  /// std::nullopt once `timeout` has passed with nothing to take (at once for a timeout
  /// <= 0 and an empty mailbox). Throws troupe::actor_exit as recv() does. Only for use
  /// inside run(). See "Waiting with a deadline" above.
  template <class Rep, class Period>
  auto recv_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return recv_for_awaiter{this, detail::deadline_after(timeout)};
  }

  /// Awaitable: suspends run() until `duration` has passed (at once for a duration <= 0);
  /// messages that arrive meanwhile stay queued, in order, for later recv() calls. Throws
  /// troupe::actor_exit instead if the close sentinel arrives first (or had been taken
  /// already), and after kill(). Only for use inside run(). See "Waiting with a deadline".
  template <class Rep, class Period>
  auto sleep_for(std::chrono::duration<Rep, Period> duration) noexcept {
    return sleep_awaiter{this, detail::deadline_after(duration)};
  }

  /// Sends `m` through `r` at once, as r.send(m) does, and returns an awaitable that
  /// suspends run() while the receiver's bounded mailbox is over its capacity, until it has
  /// drained to its low-water mark (troupe/bounded.hpp); ready at once otherwise. A plain
  /// r.send() from run() is throttled too, but only when the turn ends.
  ///   for (auto& item : items) co_await send(out, item);
  template <class... Ts, class M>
  auto send(const ref<Ts...>& r, M&& m) {
    r.send(std::forward<M>(m));
    return room_awaiter{this};
  }

  /// Awaitable: sleep_for() until `deadline` on the steady clock (at once if it has passed).
  auto sleep_until(std::chrono::steady_clock::time_point deadline) noexcept {
    return sleep_awaiter{this, deadline};
  }

 private:
  using typename base::node_type;
  using typename base::set_aside;

  // The alignment run()'s frame is allocated with. A function, not a constant: it reads
  // Derived, which is complete only where the frame is allocated.
  static constexpr std::size_t run_frame_alignment() noexcept {
    static_assert(std::has_single_bit(std::size_t{Derived::frame_alignment}),
                  "coro_actor: Derived::frame_alignment must be a power of two");
    return std::max(
        {alignof(std::max_align_t), alignof(message), std::size_t{Derived::frame_alignment}});
  }

  // Why the coroutine is suspended (consumer only).
  enum class wait_reason : unsigned char {
    message,  // in recv() or recv_for() (timed_): resume with the next message, or nullopt
    reply,    // in co_await on a result: not ready yet
    sleep,    // in sleep_for(): timer_ has not expired yet
    room,     // in co_await send(): the receiver's bounded mailbox is over capacity
    resume    // the result is ready, the sleep over, or either ended early (end_await())
  };

  struct room_awaiter {
    coro_actor* self;
    // Ready unless the send asked the worker to mute us (bounded.hpp).
    bool await_ready() noexcept { return !detail::mute_pending_on_this_thread(); }
    void await_suspend(std::coroutine_handle<>) noexcept {  // back to run_turn()
      self->wait_ = wait_reason::room;
    }
    void await_resume() noexcept {}
  };

  // How a co_await on a result, or a sleep, ended, if not by the result or the deadline
  // (consumer only).
  enum class await_end : unsigned char {
    none,        // by the result, or the deadline
    closed,      // the close sentinel (or kill()) came first: actor_exit
    own_request  // the result's request was our own, still queued: troupe::error
  };

  struct recv_awaiter {
    coro_actor* self;
    // Takes an already queued message without suspending, while the turn has budget.
    bool await_ready() noexcept { return self->take_next(); }
    void await_suspend(std::coroutine_handle<>) noexcept {  // back to run_turn()
      self->wait_ = wait_reason::message;
    }
    message await_resume() { return self->hand_over(); }
  };

  // Lives in run()'s frame while the coroutine waits; the actor points to it (timed_), so
  // that coroutine actors that never call recv_for() pay only for that pointer.
  struct recv_for_awaiter {
    coro_actor* self;
    detail::timer_clock::time_point deadline;
    std::exception_ptr error{};  // the timer could not be armed: thrown by await_resume()
    bool gave_up = false;        // the deadline passed with nothing to take: std::nullopt
    bool await_ready() noexcept {
      if (self->take_next()) return true;
      // Nothing taken: the batch is used up (run_turn() looks again at the next turn), or
      // the mailbox is empty — then a deadline that has passed ends the wait at once.
      gave_up = self->budget_left_ != 0 && detail::timer_clock::now() >= deadline;
      return gave_up;
    }
    void await_suspend(std::coroutine_handle<>) noexcept {  // back to run_turn()
      self->wait_ = wait_reason::message;
      self->timed_ = this;
    }
    std::optional<message> await_resume() {
      self->timed_ = nullptr;
      self->timer_.disarm(*self);  // a message came first: no timer left pending
      if (error) std::rethrow_exception(error);
      if (gave_up) return std::nullopt;
      return std::optional<message>(self->hand_over());
    }
  };

  struct sleep_awaiter {
    coro_actor* self;
    detail::timer_clock::time_point deadline;
    bool await_ready() {
      self->killed_ = self->killed_ || self->kill_requested();  // as take_next() does
      if (self->killed_) throw actor_exit{};
      if (detail::timer_clock::now() >= deadline) return true;
      // The close was taken: like every recv() after it, give up at once.
      if (self->exiting_) throw actor_exit{};
      self->timer_.arm(*self, deadline);  // may throw: from the co_await, nothing armed
      return false;
    }
    void await_suspend(std::coroutine_handle<>) noexcept {  // back to run_turn()
      self->wait_ = wait_reason::sleep;
    }
    void await_resume() {
      self->timer_.disarm(*self);  // ended early: no timer left pending
      if (std::exchange(self->await_end_, await_end::none) == await_end::closed) {
        throw actor_exit{};
      }
    }
  };

  template <class T>
  struct result_awaiter {
    coro_actor* self;
    result<T> r;
    // Always suspends, even if r is ready: the continuation is what lets get() run on the
    // worker (a result handed to a continuation is ready by construction).
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) {  // back to run_turn()
      const detail::result_state_base* const s = detail::result_access::state_of(r);
      // If r is ready already, then() posts at once; the turn serves it next. The delivery
      // is for this await only while awaited_ names its state: one that comes after the
      // await ended early (end_await()) is dropped without touching *this, which is gone.
      std::move(r).then(*self, [actor = self, this](result<T> ready) {
        if (actor->awaited_ != detail::result_access::state_of(ready)) return;
        r = std::move(ready);
        actor->wait_ = wait_reason::resume;
      });
      self->awaited_ = s;
      self->wait_ = wait_reason::reply;
    }
    T await_resume() {
      self->awaited_ = nullptr;
      switch (std::exchange(self->await_end_, await_end::none)) {
        case await_end::closed:
          throw actor_exit{};
        case await_end::own_request:
          detail::throw_awaiting_own_request();
        case await_end::none:
          break;
      }
      return r.get();
    }
  };

  // Consumer only. Takes the next message into current_ — from the stash first, then the
  // mailbox — or notes the close sentinel (current_ stays null).
  bool take_next() noexcept {
    killed_ = killed_ || this->kill_requested();  // the mailbox's cache line: no extra miss
    if (killed_) return true;  // current_ stays null: hand_over() throws actor_exit
    if (!stash_.empty()) {
      if (budget_left_ == 0) return false;
      node_type* n = stash_.pop_front();
      --budget_left_;
      if (this->drop_if_stale(n, true, *turn_)) return take_next();  // demonitored since
      current_ = n;
      current_owned_ = true;
      turn_->took(current_->payload_type_info());
      return true;
    }
    if (exiting_) return true;
    if (budget_left_ == 0) return false;
    auto [n, retired] = this->mailbox_.pop();
    this->free_retired(retired);
    if (n == nullptr) return false;
    if (this->is_close_sentinel(n)) {
      exiting_ = true;
      return true;
    }
    this->message_taken();
    auto* node = static_cast<node_type*>(n);
    --budget_left_;
    if (this->drop_if_stale(node, false, *turn_)) return take_next();  // demonitored since
    current_ = node;
    current_owned_ = false;
    turn_->took(current_->payload_type_info());
    return true;
  }

  message hand_over() {
    if (current_ == nullptr) throw actor_exit{};  // take_next() found the sentinel
    struct release_after {
      node_type* n;
      bool owned;
      ~release_after() {
        n->destroy_payload();
        if (owned) node_type::deallocate(n);  // a stashed node is ours, not the dummy
      }
    } guard{std::exchange(current_, nullptr), current_owned_};
    return std::move(guard.n->payload());  // constructed before the guard runs
  }

  // ---- the stash: messages that arrive while the coroutine awaits a result ----------------
  // The mailbox cannot go idle with messages in it, so while the coroutine awaits, each one
  // is moved into a node of our own, queued in arrival order; take_next() drains it first.

  enum class stashed : unsigned char { one, none, failed };

  // Consumer only, while awaiting a result or sleeping: moves the next message (if any) to
  // the stash, and ends the wait early if that was the close sentinel (before the result is
  // ready) or our own request (see "Awaiting results").
  stashed stash_next() noexcept {
    set_aside got = set_aside::nothing;
    try {
      got = this->set_aside_next(stash_, exiting_);
    } catch (...) {  // out of memory: the message was dead-lettered
      --budget_left_;
      stash_error_ = std::current_exception();
      return stashed::failed;
    }
    if (got == set_aside::nothing) return stashed::none;
    --budget_left_;
    // awaited_ is alive: the continuation holds it until served, and it has not been (we
    // are still awaiting). If it is complete already, its delivery is on its way: take it,
    // and let the next recv() report the close. A message set aside that is the request
    // of the awaited result itself can never be answered while we wait. A sleep ends at
    // the close.
    if (wait_ == wait_reason::sleep) {
      if (got == set_aside::closed) end_await(await_end::closed);
    } else if (got == set_aside::closed && !awaited_->ready()) {
      end_await(await_end::closed);
    } else if (got == set_aside::stashed &&
               detail::payload_is_request_for<Msgs...>(stash_.newest()->payload(), awaited_)) {
      end_await(await_end::own_request);
    }
    return stashed::one;
  }

  // Consumer only: gives up the await (or sleep) in progress; the coroutine resumes and
  // await_resume() throws. The result's delivery, whenever it comes, is dropped (see
  // result_awaiter); the sleep's timer is cancelled by its await_resume().
  void end_await(await_end why) noexcept {
    awaited_ = nullptr;
    await_end_ = why;
    wait_ = wait_reason::resume;
  }

  // Consumer only, in the recv_for() `w` that found the mailbox empty: true if its deadline
  // has passed (the timer was served, or it is due already); otherwise arms the timer if
  // that is not done yet. If arming fails, true, with the error for w to throw.
  bool recv_deadline_passed(recv_for_awaiter& w) noexcept {
    if (timer_.expired()) return true;
    if (timer_.armed()) return false;
    if (detail::timer_clock::now() >= w.deadline) return true;
    try {
      timer_.arm(*this, w.deadline);
    } catch (...) {
      w.error = std::current_exception();
      return true;
    }
    return false;
  }

  // True if the stash holds the (unanswered) request whose result state is `s`.
  bool stash_holds_request(const detail::result_state_base* s) const noexcept {
    return stash_.any_of(
        [s](const message& m) { return detail::payload_is_request_for<Msgs...>(m, s); });
  }

  detail::turn_result run_turn(unsigned budget, detail::turn_record& turn) noexcept final {
    budget_left_ = budget;
    turn_ = &turn;
    if (!coro_) {
      // No coroutine: the first turn, or a supervised child resumed after a suspension
      // (its frame was destroyed then): restarted in place, or given up.
      if (this->interrupted()) {
        detail::turn_result r{};
        if (this->supervision_request(r, nullptr) == detail::request_outcome::turn_ends) {
          return r;
        }
        if (this->resumed_to_stop()) return stop(nullptr);
      }
      try {
        coro_ = static_cast<Derived&>(*this).run().release();
        coro_.promise().actor = this;  // before the body runs (it starts suspended)
      } catch (...) {                  // the frame could not be allocated
        return stop(std::current_exception());
      }
      coro_.resume();
    }
    for (;;) {
      if (coro_.done()) return stop(nullptr);
      if (wait_ == wait_reason::room) {        // co_await send() filled a bounded mailbox
        wait_ = wait_reason::resume;           // the next turn resumes run()
        return detail::turn_result::runnable;  // the worker mutes us meanwhile
      }
      // Side notifications first: a result the coroutine awaits, then() continuations.
      if (this->mailbox_.signalled()) {
        if (auto e = this->serve_side()) return stop(std::move(e));
        if (this->suspension_requested()) {  // a group restart: suspend at this boundary
          end_run();
          detail::turn_result r{};
          (void)this->supervision_request(r, nullptr);
          return r;
        }
        if (!killed_ && this->kill_requested()) {  // kill() signals: stop receiving now
          killed_ = true;
          if (wait_ == wait_reason::reply || wait_ == wait_reason::sleep) {
            end_await(await_end::closed);
          }
        }
        // The sleep's timer was served: it is over.
        if (wait_ == wait_reason::sleep && timer_.expired()) wait_ = wait_reason::resume;
      }
      if (wait_ == wait_reason::resume) {
        wait_ = wait_reason::message;  // until the coroutine suspends again
        coro_.resume();
        continue;
      }
      if (wait_ == wait_reason::reply || wait_ == wait_reason::sleep) {
        // Awaiting a result or sleeping: keep the mailbox moving into the stash so that it
        // can go idle; the result's delivery or the timer (side notifications) wakes us.
        if (budget_left_ == 0) return detail::turn_result::runnable;
        const stashed st = stash_next();
        if (st == stashed::one) continue;
        if (st == stashed::failed) return stop(std::exchange(stash_error_, nullptr));
        if (this->template try_go_idle<node_type>()) return detail::turn_result::idle;
        if (!this->mailbox_.signalled()) return detail::turn_result::runnable;  // a push
        continue;                                                               // served at the top
      }
      // Suspended in recv() or recv_for(): the mailbox was empty, or the batch is used up.
      if (budget_left_ == 0) return detail::turn_result::runnable;
      if (!take_next()) {
        // A message wins over a deadline that passed meanwhile: take_next() looks first.
        if (timed_ == nullptr || !recv_deadline_passed(*timed_)) {
          if (this->template try_go_idle<node_type>()) return detail::turn_result::idle;
          if (!this->mailbox_.signalled()) return detail::turn_result::runnable;  // a push
          continue;  // served at the top
        }
        timed_->gave_up = true;  // recv_for() yields std::nullopt, or throws its error
      }
      coro_.resume();
    }
  }

  detail::turn_result stop(std::exception_ptr error) noexcept {
    error = end_run(std::move(error));
    // A supervised child that failed or was killed is suspended instead: its stash stays
    // (it is part of its mailbox), and run() starts afresh when it is restarted. A run()
    // that returned, or let the close escape, ends it for good.
    if ((error || killed_) && this->suspends_on_stop()) {
      killed_ = false;
      return this->stop_for(std::move(error));
    }
    while (node_type* n = stash_.pop_front()) {  // stashed while awaiting, never received
      this->dead_letter(n);
      node_type::deallocate(n);
    }
    this->finish(error);
    return detail::turn_result::stopped;
  }

  // Ends the run() in progress, if any: destroys its frame and what pointed into it, and
  // resets the wait state. Returns the error to stop with: `error`, else the one run() let
  // escape, except actor_exit (the close escaping run() is a normal stop).
  std::exception_ptr end_run(std::exception_ptr error = nullptr) noexcept {
    if (coro_) {
      if (!error) error = coro_.promise().error;
      coro_.destroy();
      coro_ = {};
    }
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const actor_exit&) {
        error = nullptr;  // run() let the close escape: a normal stop
      } catch (...) {
      }
    }
    timed_ = nullptr;           // it was in the frame, which is gone
    timer_.disarm(*this);       // run() ended mid-wait (a failure): nothing stays pending
    if (current_ != nullptr) {  // taken but never handed over (run() ended first)
      node_type* n = std::exchange(current_, nullptr);
      n->destroy_payload();
      if (current_owned_) node_type::deallocate(n);
    }
    awaited_ = nullptr;
    wait_ = wait_reason::message;
    await_end_ = await_end::none;
    return error;
  }

  // Consumer only (the worker running the turn).
  std::coroutine_handle<typename task::promise_type> coro_;
  node_type* current_ = nullptr;            // taken by take_next(), not yet handed to run()
  detail::message_stash<node_type> stash_;  // arrived while awaiting a result
  std::exception_ptr stash_error_;          // stash_next() failed: stop with this
  const detail::result_state_base* awaited_ = nullptr;  // the co_await in progress, if any
  detail::turn_record* turn_ = nullptr;                 // the running turn's (run_turn())
  recv_for_awaiter* timed_ = nullptr;                   // the recv_for() in progress, if any
  unsigned budget_left_ = 0;
  wait_reason wait_ = wait_reason::message;
  await_end await_end_ = await_end::none;  // set by end_await(), read by await_resume()
  bool current_owned_ = false;             // current_ came from the stash (ours to free)
  bool exiting_ = false;                   // the close sentinel was taken
  bool killed_ = false;                    // kill() was seen: recv() and awaits throw
  // Last: touched only by timed waits, so the fields every message uses stay together.
  detail::wait_timer timer_;  // recv_for()'s deadline, sleep_for()'s end
};

}  // namespace troupe
