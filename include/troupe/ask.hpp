// troupe/ask.hpp — request/response between actors: ask() sends a request and returns a
// troupe::result for its reply.
//
//   struct Squarer : troupe::actor<Squarer, troupe::request<int, long>> {
//     void on(troupe::request<int, long> r) { r.reply(long(r.value()) * r.value()); }
//   };
//   auto sq = rt.spawn<Squarer>();
//
//   // From a thread outside the runtime: block on the result.
//   long v = troupe::ask(sq, 7).get();                       // 49
//   long w = troupe::ask(sq, 8, 100ms).get();                // or troupe::ask_timeout
//
//   // From an event actor: a continuation that runs in this actor's turn (never blocks).
//   troupe::ask(sq, 7, 100ms).then(*this, [this](troupe::result<long> r) {
//     try { total_ += r.get(); } catch (const troupe::ask_error& e) { ... }
//   });
//
//   // From a coroutine actor (inside run()): suspends the coroutine, not the worker.
//   long x = co_await troupe::ask(sq, 7, 100ms);
//
// The responder lists troupe::request<Req, Reply> among its messages and answers each one
// with reply(value) or fail(exception_ptr), once. ask(target, req) picks the request type
// from the target's message list: the one whose Req is exactly the argument's type, else the
// only one that Req can be constructed from; Reply is its reply type. No match, or several,
// is a compile-time error that says so. The target may be a narrowed ref (ref.hpp,
// "Narrowing"): then only the requests its own list names can be asked through it, and the
// request travels as through any send on that ref.
//
// Outcomes, through the result (exactly one wins, whatever the timing). Every error is a
// troupe::ask_error (itself a troupe::error), one type per way the reply failed to come:
//   * reply(v)                 -> get() returns v;
//   * fail(e)                  -> troupe::ask_failed: cause() is e (rethrow it to handle it
//     by its own type), what() includes e's text. Constructing the reply throwing counts
//     the same;
//   * the responder let go of the request unanswered — its handler returned without
//     replying, or an exception left the handler before it answered (the responder then
//     fails and reports that exception to on_failure) -> troupe::ask_dropped;
//   * the responder had stopped, or stopped before it took the request: the request became a
//     dead letter -> troupe::ask_stopped, whose reason() is the dead letter's
//     (stopped, shutdown, shutdown_deadline, killed, failed);
//   * the timeout passes first -> troupe::ask_timeout (naming the timeout).
//     A reply or fail() that comes later is discarded: it counts as one message sent and
//     dead-lettered on the target's runtime and is reported to on_dead_letter with
//     receiver 0 and the type Reply. The responder can test request::expired() to skip work
//     nobody waits for any more.
//   Only if memory for the error itself cannot be allocated does the result fall back to a
//   plain troupe::error (dropped, stopped, timeout) or to e unwrapped (fail(e)).
//
//   try {
//     long v = troupe::ask(sq, 7, 100ms).get();
//   } catch (const troupe::ask_failed& e) {     // the responder said no: e.cause()
//   } catch (const troupe::ask_stopped& e) {    // nobody there any more: e.reason()
//   } catch (const troupe::ask_error& e) {      // dropped or timed out
//   }
// Without a timeout, a responder that keeps a request forever keeps the asker waiting.
//
// Asking yourself: an actor may ask() itself (through self()). An event actor's then()
// continuation runs in a later turn, after the request was handled: that works. A
// coroutine or blocking actor receives nothing while it awaits, so awaiting the reply to an
// own request it has not received yet could never end: co_await and await() throw
// troupe::error at once instead, with a timeout or without. Receive and answer the request
// first. (An await in those actors also ends, with troupe::actor_exit, when a close()
// reaches it: see coro_actor.hpp and blocking_actor.hpp.)
//
// Costs and accounting: the request is one ordinary message (one pooled mailbox node,
// counted sent and handled or dead-lettered); the result's shared state, with the reply
// value and the timer, is one pooled allocation; a timeout adds one entry in the target
// runtime's timer thread (a lock, off the send path). A reply delivered to an actor (then()
// or co_await) counts as one more message sent to the asker and handled by it, or, if the
// asker has stopped, dead-lettered (see result.hpp, "Continuations"), so sent == handled +
// dead_lettered holds after shutdown.
//
// Order: a reply reaches an asking actor through its side channel, not its mailbox, so it
// is not ordered with ordinary messages from the responder: it may overtake messages the
// responder sent before replying.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/node_pool.hpp"
#include "troupe/detail/timer_task.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"
#include "troupe/result.hpp"
#include "troupe/stats.hpp"

namespace troupe {

/// The base of every error an ask()'s result throws instead of a reply: catch it for "no
/// reply came", or catch the four kinds below one by one. Misuse (an empty ref, awaiting an
/// own request) is a plain troupe::error, not an ask_error.
class ask_error : public error {
 protected:
  explicit ask_error(const std::string& what) : error(what) {}
};

/// The responder answered with fail(e) (or constructing its reply threw e). cause() is e,
/// as the responder gave it; what() includes e's text.
class ask_failed : public ask_error {
 public:
  explicit ask_failed(std::exception_ptr cause);
  /// The responder's exception: std::rethrow_exception(cause()) to handle it by its type.
  const std::exception_ptr& cause() const noexcept { return cause_; }
  /// The responder's exception's what() (a placeholder if it is no std::exception).
  const std::string& cause_text() const noexcept { return cause_text_; }

 private:
  std::exception_ptr cause_;
  std::string cause_text_;
};

/// The request was destroyed unanswered by a responder that was running: its handler
/// returned (or its run() let go of the request) without reply() or fail(), or an
/// exception left the handler before it answered.
class ask_dropped : public ask_error {
 public:
  ask_dropped();
};

/// The responder had stopped (or stopped before it took the request): the request became
/// a dead letter. reason() is the dead letter's reason (stopped, shutdown,
/// shutdown_deadline, killed, failed).
class ask_stopped : public ask_error {
 public:
  explicit ask_stopped(dead_letter_reason reason);
  dead_letter_reason reason() const noexcept { return reason_; }

 private:
  dead_letter_reason reason_;
};

/// The error of an ask() whose timeout passed before a reply came.
class ask_timeout : public ask_error {
 public:
  explicit ask_timeout(std::chrono::nanoseconds timeout);
  /// The timeout that passed.
  std::chrono::nanoseconds timeout() const noexcept { return timeout_; }

 private:
  std::chrono::nanoseconds timeout_;
};

namespace detail {

// The broken-result reasons of a dropped or timed-out ask when not even its error can be
// allocated (the result then throws a plain troupe::error with this text).
inline constexpr const char* request_dropped_reason =
    "ask: the request was dropped without a reply (the responder had stopped, so it became a "
    "dead letter, or its handler returned without calling reply() or fail())";

class runtime_core;

/// The timeout half of an ask's shared state; out of line (runtime/results/ask.cpp).
/// arm() runs on the asker before the request is sent; disarm() and late_reply() on the
/// responder after it has received it, so the request's send orders them (no atomics).
class ask_timing {
 public:
  ask_timing() noexcept = default;
  ~ask_timing();  // drops the runtime reference arm() took
  ask_timing(const ask_timing&) = delete;
  ask_timing& operator=(const ask_timing&) = delete;

  /// Keeps `core` alive and schedules `t` on its timer thread `timeout` from now. If that
  /// throws, `t` has been discarded.
  void arm(runtime_core* core, std::chrono::nanoseconds timeout, timer_task* t);
  /// The request side completed the state first: cancel the timer (if armed).
  void disarm() noexcept;
  /// A reply came after the timeout: count it as sent and dead-lettered, and report it.
  void late_reply(const std::type_info& type) const noexcept;
  std::chrono::nanoseconds timeout() const noexcept { return timeout_; }

 private:
  runtime_core* core_ = nullptr;  // counted; non-null iff armed
  timer_id timer_ = 0;
  std::chrono::nanoseconds timeout_{0};
};

/// An ask_timeout for `timeout`, or null if it cannot be allocated.
std::exception_ptr make_ask_timeout(std::chrono::nanoseconds timeout) noexcept;
/// An ask_failed wrapping `cause`; `cause` itself if that cannot be allocated.
std::exception_ptr make_ask_failed(std::exception_ptr cause) noexcept;
/// What an ask whose request was destroyed unanswered on this thread gets: ask_stopped if
/// the request is a dead letter being dropped (dead_letter_in_progress()), else
/// ask_dropped; null if it cannot be allocated.
std::exception_ptr make_request_dropped() noexcept;

inline constexpr const char* ask_timed_out_reason = "ask: no reply within the timeout";

/// The shared state of one ask: the result's state plus its timer (one allocation). Up to
/// three references: the result, the request, the timer while scheduled. Two would-be
/// producers, the request side and the timer, race through try_claim(): the first one
/// completes the state, the other does nothing (a late reply is counted, see above).
template <class Reply>
class ask_state final : public result_state<Reply>, public timer_task {
 public:
  /// `receiver`: the actor the request goes to (an identity, see request_receiver()).
  explicit ask_state(const actor_base* receiver) noexcept : receiver_(receiver) {}

  const actor_base* request_receiver() const noexcept override { return receiver_; }

  static void* operator new(std::size_t n) { return pool_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { pool_release(p, n); }
  // An over-aligned Reply makes the state over-aligned: the pool's 16-byte blocks would
  // misplace the reply it holds, so such states come from the aligned global forms.
  static void* operator new(std::size_t n, std::align_val_t al) { return ::operator new(n, al); }
  static void operator delete(void* p, std::size_t n, std::align_val_t al) noexcept {
    ::operator delete(p, n, al);
  }

  /// Asker, before sending: arms the timeout (the timer takes a reference).
  void arm(runtime_core* core, std::chrono::nanoseconds timeout) {
    this->add_ref();  // released by fire() or discard(); arm() discards on failure
    timing_.arm(core, timeout, this);
  }

  // ---- the request side (the responder) -------------------------------------------------
  template <class... A>
  void complete_value(A&&... args) noexcept {
    if (!this->try_claim()) {
      timing_.late_reply(typeid(Reply));
      return;
    }
    try {
      this->set_value("reply", std::forward<A>(args)...);
    } catch (...) {  // constructing the reply threw: the asker gets ask_failed with it
      this->complete_with_exception(make_ask_failed(std::current_exception()));
    }
    timing_.disarm();
  }
  void complete_error(std::exception_ptr e) noexcept {
    if (!this->try_claim()) {
      timing_.late_reply(typeid(Reply));
      return;
    }
    this->complete_with_exception(make_ask_failed(std::move(e)));
    timing_.disarm();
  }
  void complete_dropped() noexcept {
    if (!this->try_claim()) return;  // timed out already: nothing was lost
    if (std::exception_ptr e = make_request_dropped()) {
      this->complete_with_exception(std::move(e));
    } else {
      this->abandon(request_dropped_reason);
    }
    timing_.disarm();
  }

 private:
  ~ask_state() override = default;

  // ---- the timer (timer_task) -------------------------------------------------------------
  void fire() noexcept override {
    if (this->try_claim()) {
      if (std::exception_ptr e = make_ask_timeout(timing_.timeout())) {
        this->complete_with_exception(std::move(e));
      } else {
        this->abandon(ask_timed_out_reason);
      }
    }
    this->release();  // the timer's reference
  }
  void discard() noexcept override { this->release(); }

  ask_timing timing_;
  const actor_base* receiver_;  // compared only, never dereferenced
};

/// The request's end of an ask: one reference; destroying it unanswered drops the request.
template <class Reply>
class ask_link {
 public:
  explicit ask_link(ask_state<Reply>* s) noexcept : s_(s) {}
  ask_link(ask_link&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  ask_link& operator=(ask_link&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~ask_link() { reset(); }

  bool empty() const noexcept { return s_ == nullptr; }
  bool expired() const noexcept { return s_ != nullptr && s_->ready(); }
  /// The state this request answers (nullptr once answered): an identity, for comparing.
  const result_state_base* state() const noexcept { return s_; }
  /// Gives up the reference to the caller (who completes and releases it).
  ask_state<Reply>* take(const char* operation);

 private:
  void reset() noexcept {
    if (s_ == nullptr) return;
    s_->complete_dropped();
    std::exchange(s_, nullptr)->release();
  }
  ask_state<Reply>* s_;
};

[[noreturn]] void throw_request_answered(const char* operation);

template <class Reply>
ask_state<Reply>* ask_link<Reply>::take(const char* operation) {
  if (s_ == nullptr) throw_request_answered(operation);
  return std::exchange(s_, nullptr);
}

struct ask_tag {};
struct request_access;

}  // namespace detail

/// The message an ask() sends: a value of type Req and the means to answer it with a Reply.
/// List it among the responder's messages (actor<R, ..., request<Req, Reply>, ...>) and
/// answer once with reply() or fail(). Move-only. Destroying it unanswered fails the
/// asker's result with troupe::ask_dropped, or troupe::ask_stopped if it was a dead letter
/// (see the file comment).
template <class Req, class Reply>
class request {
  static_assert(std::is_object_v<Req> && !std::is_array_v<Req> && std::is_move_constructible_v<Req>,
                "troupe::request<Req, Reply>: Req must be a move-constructible object type");
  static_assert(std::is_void_v<Reply> || (std::is_object_v<Reply> && !std::is_array_v<Reply> &&
                                          std::is_move_constructible_v<Reply>),
                "troupe::request<Req, Reply>: Reply must be void or a move-constructible "
                "object type");

 public:
  using value_type = Req;
  using reply_type = Reply;

  request(request&&) noexcept(std::is_nothrow_move_constructible_v<Req>) = default;
  request& operator=(request&&) noexcept(std::is_nothrow_move_assignable_v<Req>) = default;
  ~request() = default;  // unanswered: the asker's result breaks

  /// The request's payload.
  Req& value() & noexcept { return value_; }
  const Req& value() const& noexcept { return value_; }
  Req&& value() && noexcept { return std::move(value_); }

  /// Answers with a Reply constructed from `v`. Throws troupe::error if already answered.
  /// After the asker's timeout the reply is discarded (and counted, see the file comment).
  template <class U>
  requires(!std::is_void_v<Reply> && std::is_constructible_v<Reply, U&&>) void reply(U&& v) {
    detail::ask_state<Reply>* s = link_.take("reply");
    s->complete_value(std::forward<U>(v));
    s->release();
  }
  /// Answers a request<Req, void>.
  void reply() requires std::is_void_v<Reply> {
    detail::ask_state<Reply>* s = link_.take("reply");
    s->complete_value();
    s->release();
  }

  /// Answers with an exception: the asker's get() throws troupe::ask_failed, whose
  /// cause() is `e`. Throws troupe::error if already answered or if `e` is null.
  void fail(std::exception_ptr e) {
    if (!e) throw error("request::fail(): the exception_ptr is null");
    detail::ask_state<Reply>* s = link_.take("fail");
    s->complete_error(std::move(e));
    s->release();
  }

  /// True once reply() or fail() was called (or this request was moved from).
  bool answered() const noexcept { return link_.empty(); }
  /// True if the asker's result is complete although this request is unanswered: its
  /// timeout passed, so a reply would be discarded. A hint for skipping work.
  bool expired() const noexcept { return link_.expired(); }

  // Not API: built by ask().
  template <class A>
  request(detail::ask_tag, detail::ask_state<Reply>* s, A&& v)
      : link_(s), value_(std::forward<A>(v)) {}

 private:
  friend struct detail::request_access;
  detail::ask_link<Reply> link_;  // first: if value_'s construction throws, it drops the ask
  Req value_;
};

namespace detail {

template <class M>
struct request_of {
  static constexpr bool value = false;
  using reply_type = void;
};
template <class Q, class R>
struct request_of<request<Q, R>> {
  static constexpr bool value = true;
  using value_type = Q;
  using reply_type = R;
};

// ---- awaiting the reply inside the asking actor -------------------------------------------
// A coroutine or blocking actor that awaits a result sets aside the messages that arrive
// meanwhile; it receives none of them until the await ends. If the request of the awaited
// result is queued in the awaiting actor itself — an ask() it sent to itself — the reply can
// never come: the await fails with troupe::error instead (blocking_actor::await,
// coro_actor's co_await). Each request set aside during the await is compared with the
// awaited state (one pointer compare; nothing for an actor that handles no request). The
// messages set aside before the await began are searched only if the ask's state names the
// awaiting actor as the request's receiver (request_receiver()), so that only a self-ask
// pays for that search.

struct request_access {
  template <class Q, class R>
  static const result_state_base* state_of(const request<Q, R>& r) noexcept {
    return r.link_.state();
  }
};

/// True if `m` is a request, still unanswered, for the result whose state is `s`.
template <class M>
bool is_request_for(const M& m, const result_state_base* s) noexcept {
  if constexpr (request_of<M>::value) {
    return request_access::state_of(m) == s;
  } else {
    (void)m;
    (void)s;
    return false;
  }
}
template <class... Msgs, std::size_t... I>
bool variant_holds_request_for(const std::variant<Msgs...>& v, const result_state_base* s,
                               std::index_sequence<I...>) noexcept {
  return ((v.index() == I && is_request_for(*std::get_if<I>(&v), s)) || ...);
}
/// The same for an actor's payload (payload_of<Msgs...>: one message type, or a variant).
/// Compiles to `false` for an actor that handles no request.
template <class... Msgs>
bool payload_is_request_for(const typename payload_of<Msgs...>::type& p,
                            const result_state_base* s) noexcept {
  if constexpr (sizeof...(Msgs) == 1) {
    return is_request_for(p, s);
  } else {
    return variant_holds_request_for(p, s, std::index_sequence_for<Msgs...>{});
  }
}

/// The state of `r` if it is an ask() to `self` that is not complete yet, else nullptr:
/// `self` must not await it while the request is queued in its own mailbox or stash.
template <class T>
const result_state_base* unanswered_ask_to(const result<T>& r, const actor_base& self) noexcept {
  const result_state_base* s = result_access::state_of(r);
  if (s == nullptr || s->request_receiver() != &self || s->ready()) return nullptr;
  return s;
}

/// Throws the troupe::error of an await that found its own request still queued.
[[noreturn]] void throw_awaiting_own_request();

template <class Arg, class M>
constexpr bool request_exactly_for() {
  if constexpr (request_of<M>::value) {
    return std::is_same_v<std::remove_cvref_t<Arg>, typename request_of<M>::value_type>;
  } else {
    return false;
  }
}
template <class Arg, class M>
constexpr bool request_accepts() {
  if constexpr (request_of<M>::value) {
    return std::is_constructible_v<typename request_of<M>::value_type, Arg>;
  } else {
    return false;
  }
}

/// Which request<Req, Reply> in Msgs an ask with an argument of type Arg sends.
template <class Arg, class... Msgs>
struct ask_resolution {
  static constexpr std::size_t requests = (std::size_t{request_of<Msgs>::value} + ... + 0);
  static constexpr std::size_t exact = (std::size_t{request_exactly_for<Arg, Msgs>()} + ... + 0);
  static constexpr std::size_t accepting = (std::size_t{request_accepts<Arg, Msgs>()} + ... + 0);
  static constexpr bool by_exact = exact == 1;
  static constexpr bool ok = by_exact || (exact == 0 && accepting == 1);

  template <class M>
  static constexpr bool chosen = by_exact ? request_exactly_for<Arg, M>()
                                          : request_accepts<Arg, M>();
  template <class... Ms>
  struct pick {
    using type = void;
  };
  template <class M, class... Ms>
  struct pick<M, Ms...> {
    using type = std::conditional_t<chosen<M>, M, typename pick<Ms...>::type>;
  };
  using message = typename pick<Msgs...>::type;
  using reply_type = typename request_of<message>::reply_type;
};

template <class Arg, class... Msgs>
constexpr bool check_ask() {
  using res = ask_resolution<Arg, Msgs...>;
  static_assert(res::requests > 0,
                "troupe::ask: the target does not handle any troupe::request<Req, Reply>; list "
                "request<Req, Reply> among its actor's messages and answer it with reply()");
  static_assert(res::requests == 0 || res::exact + res::accepting > 0,
                "troupe::ask: no troupe::request<Req, Reply> of the target takes this argument "
                "as its Req");
  static_assert(res::requests == 0 || res::exact + res::accepting == 0 || res::ok,
                "troupe::ask: the argument matches several troupe::request<Req, Reply> of the "
                "target (ambiguous); pass a value of exactly one Req type");
  return res::ok;
}

template <class Rep, class Period>
std::chrono::nanoseconds ask_timeout_of(std::chrono::duration<Rep, Period> d) {
  if (d <= d.zero()) return std::chrono::nanoseconds::zero();
  // Beyond ~31 years, saturate instead of overflowing nanoseconds.
  if (std::chrono::duration<double>(d).count() >= 1e9) return std::chrono::nanoseconds::max();
  return std::chrono::ceil<std::chrono::nanoseconds>(d);
}

template <class Message, class... Msgs, class Arg>
auto ask_send(const ref<Msgs...>& target, Arg&& arg, const std::chrono::nanoseconds* timeout)
    -> result<typename request_of<Message>::reply_type> {
  using Reply = typename request_of<Message>::reply_type;
  actor_base* a = ref_access::actor_of(target, "ask");
  auto* s = new ask_state<Reply>(a);  // one reference: the result's
  result<Reply> r = result_access::adopt<Reply>(s);
  s->add_ref();  // the request's
  Message m(ask_tag{}, s, std::forward<Arg>(arg));
  // Armed before the send, so the responder sees the timer (request send → receive).
  if (timeout != nullptr) s->arm(a->core(), *timeout);
  target.send(std::move(m));  // if this throws, m drops the ask (and cancels its timer)
  return r;
}

}  // namespace detail

/// Sends `req` to `target` as its request<Req, Reply> and returns the result of the reply.
/// No timeout: the result completes when the request is answered, dropped or dead-lettered
/// (troupe::ask_failed, ask_dropped, ask_stopped; see the file comment). Throws
/// troupe::error on an empty ref, std::bad_alloc if allocation fails (then nothing is sent).
/// Callable from any thread, including handlers (see the file comment for how to consume
/// the result there).
template <class... Msgs, class Arg>
auto ask(const ref<Msgs...>& target, Arg&& req) {
  using res = detail::ask_resolution<Arg, Msgs...>;
  if constexpr (detail::check_ask<Arg, Msgs...>()) {
    return detail::ask_send<typename res::message>(target, std::forward<Arg>(req), nullptr);
  } else {
    return result<void>{};  // unreachable: check_ask() has failed a static_assert
  }
}

/// As ask(target, req), but the result fails with troupe::ask_timeout if no answer came
/// within `timeout` (measured from this call; zero or less: at once). Timers run on the
/// target runtime's timer thread.
template <class... Msgs, class Arg, class Rep, class Period>
auto ask(const ref<Msgs...>& target, Arg&& req, std::chrono::duration<Rep, Period> timeout) {
  using res = detail::ask_resolution<Arg, Msgs...>;
  if constexpr (detail::check_ask<Arg, Msgs...>()) {
    const std::chrono::nanoseconds t = detail::ask_timeout_of(timeout);
    return detail::ask_send<typename res::message>(target, std::forward<Arg>(req), &t);
  } else {
    return result<void>{};  // unreachable: check_ask() has failed a static_assert
  }
}

}  // namespace troupe
