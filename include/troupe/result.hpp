// troupe/result.hpp — a value that arrives later: a troupe::promise<T> sets it once, a
// troupe::result<T> takes it (the recipe's `Result` with its blocking `result()`).
//
//   troupe::promise<int> p;
//   troupe::result<int> r = p.get_result();
//   std::thread t([p = std::move(p)]() mutable { p.set_value(42); });
//   int v = r.get();          // blocks this (non-worker) thread until the value is set
//   t.join();
//
// troupe::submit() (task_worker.hpp) is the usual way to get one: it runs a function on a
// worker actor and returns its result.
//
// Rules:
//   * One shared state per promise/result pair, allocated once (by the promise, or by submit()
//     together with the task), freed by whichever side lets go last. Both handles are
//     move-only; set and get may happen on different threads.
//   * Single consumer: get() hands the value over exactly once (it is moved out, so T may be
//     move-only, e.g. std::unique_ptr). A second get() — by the same or another thread, even
//     concurrently — throws troupe::error. wait(), wait_for() and ready() do not consume and
//     may be called from any number of threads at once.
//   * get() rethrows an exception stored with set_exception() (for submit(): one thrown by the
//     function).
//   * Broken promise: if the promise is destroyed without a value or exception — e.g. its task
//     became a dead letter because its worker had stopped — the result becomes ready and get()
//     throws troupe::error saying why. A result never waits forever for a promise that is gone.
//   * Nothing that can block may run on a worker thread (inside a handler): get(), wait() and
//     wait_for() throw troupe::error there, whether or not the value is ready yet (the same
//     rule as ref::join(), and deterministic: code that only works when the value happens to
//     be early is rejected every time). ready() never blocks and is allowed anywhere. Inside
//     an actor, hand the result to a continuation instead (then(), below), or co_await it in
//     a coroutine actor (coro_actor.hpp).
//
// Continuations: std::move(r).then(actor, fn) consumes r and, once the result is ready,
// calls fn(troupe::result<T>) inside `actor`'s turn (on its worker, never concurrently with
// its handlers), where get() is allowed because the result is ready by construction:
//
//   troupe::ask(squarer, 7, 100ms).then(*this, [this](troupe::result<long> r) {
//     try { total_ += r.get(); } catch (const troupe::error& e) { /* timeout, dropped */ }
//   });
//
// The result is delivered through the actor's side channel (actor_base::post): it counts as
// one message sent to the actor and, when fn runs, one handled. If the actor has stopped by
// then, fn never runs: the delivery is a dead letter (reported to on_dead_letter with the
// type troupe::result<T>, counted in stats). An exception from fn stops the actor like one
// from a handler. A delivery is not ordered with the actor's messages: it is served at the
// start of the actor's next turn (event actors), so it may overtake messages sent earlier.
// Until the result is ready the continuation keeps the actor's memory alive.
//
// Waiting: a state word (std::atomic<uint32_t>) holds "done" and "someone is waiting" bits.
// Setting the value, ready(), and get() on a result that is already set touch only that word.
// A consumer that must sleep does so on a mutex + condition variable taken from a small
// table shared by all results (indexed by the state's address), and the producer takes that
// mutex only when the waiting bit is set. Why not std::atomic::wait: C++20 has no timed
// atomic wait, and wait_for() needs one; why a shared table and not a mutex + condvar per
// result: it keeps each shared state at 40 bytes plus the value instead of ~130.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/node_pool.hpp"
#include "troupe/detail/sync.hpp"
#include "troupe/error.hpp"

namespace troupe {

template <class T>
class result;
template <class T>
class promise;

namespace detail {

/// True on a worker thread of any troupe runtime (i.e. inside a handler). Out of line.
bool on_worker_thread() noexcept;

/// Why a result is broken when its promise is destroyed without a value.
inline constexpr const char* broken_promise_reason =
    "result: broken promise: the promise was destroyed without setting a value or an exception";

/// What a result's consumer attached with then(): called once the state is complete, by the
/// thread that completed it (or by then() itself if it already was). Must free itself.
struct result_continuation {
  void (*complete)(result_continuation* self) noexcept = nullptr;
};

/// The part of a shared state that does not depend on T: the state word, the reference
/// count, the stored exception or broken reason, waiting, and a continuation.
class result_state_base {
 public:
  result_state_base(const result_state_base&) = delete;
  result_state_base& operator=(const result_state_base&) = delete;

  // ---- state word bits ----------------------------------------------------------------
  // Exactly one of has_value / has_exception / broken is set, once, by the producer; the
  // consumer side sets waiter (before sleeping) and taken (first get()).
  static constexpr std::uint32_t has_value = 1u << 0;
  static constexpr std::uint32_t has_exception = 1u << 1;
  static constexpr std::uint32_t broken = 1u << 2;
  static constexpr std::uint32_t done_mask = has_value | has_exception | broken;
  static constexpr std::uint32_t waiter = 1u << 3;
  static constexpr std::uint32_t taken = 1u << 4;
  // Set by try_claim(): with several would-be producers (ask: the reply and the timeout),
  // the one that set it completes the state; the others leave it alone.
  static constexpr std::uint32_t claimed = 1u << 5;
  // Set by attach(): a continuation waits in cont_; whoever completes the state runs it.
  static constexpr std::uint32_t continued = 1u << 6;

  void add_ref() noexcept {
    // relaxed: the caller holds a reference already; taking another publishes nothing.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: release publishes this side's last uses (the value it wrote or read); the
    // acquire of the final decrement makes both sides' uses happen-before the delete.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  // ---- consumer side (any thread holding the result) ------------------------------------
  bool ready() const noexcept {
    // acquire: pairs with publish(); a caller that sees "done" may read the value.
    return (word_.load(memory_order_acquire) & done_mask) != 0;
  }
  bool taken_by_get() const noexcept {
    // relaxed: informational (valid()); get() itself decides with an RMW.
    return (word_.load(memory_order_relaxed) & taken) != 0;
  }
  /// wait(): throws on a worker thread; otherwise returns once done.
  void wait(const char* operation);
  /// wait_for(): false if still not done after `timeout` (ns; negative means 0).
  bool wait_for(const char* operation, std::chrono::nanoseconds timeout);
  /// The first get(): throws on a worker thread or if already taken; waits; returns the
  /// state word (one done bit set). The caller then reads the value or calls rethrow().
  std::uint32_t take();
  /// Throws the stored exception (has_exception) or troupe::error(reason) (broken). Only
  /// after take() (once): the state gives up its reference to the exception, so the last
  /// one is the consumer's and the exception object is destroyed on the consumer's thread,
  /// never on a producer's that releases the state later (an order ThreadSanitizer could
  /// not see: the exception's reference count lives in the uninstrumented C++ runtime).
  [[noreturn]] void rethrow(std::uint32_t word);

  /// Consumer (then()): stores `c` and runs it now if the state is already complete, else
  /// leaves it for the producer's publish(). At most once per state.
  void attach(result_continuation* c) noexcept {
    cont_ = c;
    // acq_rel: release publishes cont_ to publish()'s RMW; acquire, if a done bit is
    // already set, pairs with publish() so that the payload is visible to c. The two RMWs
    // are ordered: either publish() sees `continued` and runs c, or we see the done bit.
    if ((word_.fetch_or(continued, memory_order_acq_rel) & done_mask) != 0) c->complete(c);
  }

  /// For the state of an ask(): the actor its request was sent to; nullptr for any other
  /// result. An identity only, compared and never dereferenced (the actor may be gone): it
  /// lets an actor that awaits this result tell that it asked itself (see ask.hpp).
  virtual const actor_base* request_receiver() const noexcept { return nullptr; }

  // ---- producer side (the one holder of the promise or task) ----------------------------
  /// Several producers: true for exactly one caller, which must then complete the state
  /// (set_value, complete_with_exception or abandon); the others must not touch it.
  bool try_claim() noexcept {
    // relaxed: the RMW alone elects the producer; the winner's payload is published by
    // publish()'s release, and a loser writes nothing.
    return (word_.fetch_or(claimed, memory_order_relaxed) & claimed) == 0;
  }
  /// Producer only: true once this side completed the state.
  bool completed_by_me() const noexcept {
    // relaxed: only the producer sets the done bits, so it sees its own writes.
    return (word_.load(memory_order_relaxed) & done_mask) != 0;
  }
  /// Stores `e` and wakes the consumer. Precondition: not completed.
  void complete_with_exception(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    publish(has_exception);
  }
  /// Marks the state broken (get() throws troupe::error(reason)) unless already completed.
  /// `reason` must have static storage duration.
  void abandon(const char* reason) noexcept {
    if (completed_by_me()) return;
    reason_ = reason;
    publish(broken);
  }

 protected:
  result_state_base() noexcept = default;
  virtual ~result_state_base() = default;

  /// Sets one done bit (release: publishes the value / exception / reason written before),
  /// wakes a sleeping consumer if the waiter bit was set, and runs an attached continuation.
  void publish(std::uint32_t done_bit) noexcept {
    // acq_rel: release publishes the payload; the RMW orders us against a consumer's
    // fetch_or(waiter) in wait_slow() — either we see `waiter` and wake it, or it sees our
    // done bit and never sleeps — and likewise against attach()'s fetch_or(continued),
    // whose release makes cont_ visible to our acquire.
    const std::uint32_t w = word_.fetch_or(done_bit, memory_order_acq_rel);
    if ((w & waiter) != 0) wake();
    if ((w & continued) != 0) cont_->complete(cont_);
  }
  [[noreturn]] static void throw_already_satisfied(const char* operation);

  atomic<std::uint32_t> word_{0};

 private:
  bool wait_slow(const std::chrono::nanoseconds* timeout);  // false: timed out
  void wake() noexcept;
  void check_not_on_worker(const char* operation) const;

  atomic<std::uint32_t> refs_{1};
  const char* reason_ = nullptr;         // broken: why (static storage)
  std::exception_ptr error_;             // has_exception: what
  result_continuation* cont_ = nullptr;  // continued: what then() attached
};

/// The shared state of a result<T>: the base plus raw storage for the value.
template <class T>
class result_state : public result_state_base {
 public:
  result_state() noexcept = default;

  /// Producer: constructs the value from `args`, then publishes it.
  template <class... A>
  void set_value(const char* operation, A&&... args) {
    if (completed_by_me()) throw_already_satisfied(operation);
    ::new (static_cast<void*>(storage_)) T(std::forward<A>(args)...);
    publish(has_value);
  }
  /// Producer: constructs the value from what `fn()` returns (no extra move) without
  /// publishing it yet; publish_value() follows. Precondition: not completed.
  template <class Fn>
  void construct_from(Fn&& fn) {
    ::new (static_cast<void*>(storage_)) T(std::forward<Fn>(fn)());
  }
  void publish_value() noexcept { publish(has_value); }
  /// Consumer, after take() returned has_value: the value, to be moved out once.
  T& value() noexcept { return *std::launder(reinterpret_cast<T*>(storage_)); }

 protected:
  ~result_state() override {
    // relaxed: the final release() (acq_rel) already ordered the producer's writes before us.
    if ((word_.load(memory_order_relaxed) & has_value) != 0) value().~T();
  }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

template <>
class result_state<void> : public result_state_base {
 public:
  result_state() noexcept = default;
  void set_value(const char* operation) {
    if (completed_by_me()) throw_already_satisfied(operation);
    publish(has_value);
  }
  template <class Fn>
  void construct_from(Fn&& fn) {
    std::forward<Fn>(fn)();
  }
  void publish_value() noexcept { publish(has_value); }

 protected:
  ~result_state() override = default;
};

/// Builds a result<T> around a state the caller already holds one reference to (not API:
/// used by promise<T> and submit()).
struct result_access {
  template <class T>
  static result<T> adopt(result_state<T>* s) noexcept {
    return result<T>(s);
  }
  /// The state `r` holds (nullptr if r is empty); `r` keeps its reference.
  template <class T>
  static result_state<T>* state_of(const result<T>& r) noexcept {
    return r.s_;
  }
};

[[noreturn]] void throw_empty_result(const char* operation);

}  // namespace detail

/// The consuming end: move-only; get() once. See the file comment for the rules.
template <class T>
class result {
  static_assert(std::is_void_v<T> || (std::is_object_v<T> && !std::is_array_v<T>),
                "troupe::result<T>: T must be void or an object type (not a reference or an "
                "array). If a function given to troupe::submit returns a reference, wrap it in "
                "a lambda that returns the value.");
  static_assert(std::is_void_v<T> || std::is_move_constructible_v<T>,
                "troupe::result<T>: get() moves the value out, so T must be move-constructible");

 public:
  using value_type = T;

  /// An empty result: get()/wait()/wait_for() throw troupe::error; ready() is false.
  result() noexcept = default;
  result(result&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  result& operator=(result&& o) noexcept {
    if (this != &o) {
      if (s_ != nullptr) s_->release();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~result() {
    if (s_ != nullptr) s_->release();
  }

  /// Blocks (a non-worker thread) until the value is set, then returns it, moved out; or
  /// rethrows the stored exception; or throws troupe::error if the promise was broken.
  /// Throws troupe::error on a worker thread, on an empty result, and on the second call.
  T get() {
    detail::result_state<T>* s = state("get");
    const std::uint32_t w = s->take();
    if ((w & detail::result_state_base::has_value) == 0) s->rethrow(w);
    if constexpr (!std::is_void_v<T>) return std::move(s->value());
  }

  /// Blocks (a non-worker thread) until the result is ready (value, exception or broken).
  /// Does not consume. Throws troupe::error on a worker thread or an empty result.
  void wait() const { state("wait")->wait("wait"); }

  /// Like wait(), for at most `timeout`; true if the result is ready. Does not consume.
  /// A timeout of zero or less only checks (still refused on a worker thread).
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    detail::result_state<T>* s = state("wait_for");
    // Beyond ~31 years, wait without a deadline (and without overflowing nanoseconds).
    if (std::chrono::duration<double>(timeout).count() >= 1e9) {
      s->wait("wait_for");
      return true;
    }
    return s->wait_for("wait_for", std::chrono::ceil<std::chrono::nanoseconds>(timeout));
  }

  /// True once a value, an exception or a broken promise is in. Never blocks; allowed on
  /// worker threads. False for an empty result.
  bool ready() const noexcept { return s_ != nullptr && s_->ready(); }

  /// True if this result has a state whose value has not been taken by get() yet.
  bool valid() const noexcept { return s_ != nullptr && !s_->taken_by_get(); }

  /// Consumes this result: once it is ready, fn(troupe::result<T>) runs inside `actor`'s
  /// turn (usually `*this` in a handler), where get() on it does not block and is allowed.
  /// See "Continuations" in the file comment. Callable from any thread. Throws
  /// troupe::error on an empty or already consumed result; std::bad_alloc leaves it intact.
  template <class Actor, class Fn>
  void then(Actor& actor, Fn&& fn) &&;

 private:
  friend struct detail::result_access;
  explicit result(detail::result_state<T>* s) noexcept : s_(s) {}

  detail::result_state<T>* state(const char* operation) const {
    if (s_ == nullptr) detail::throw_empty_result(operation);
    return s_;
  }

  detail::result_state<T>* s_ = nullptr;
};

/// The producing end: move-only; sets a value or an exception once. Destroying it before
/// that breaks the promise (get() then throws troupe::error). One producer: a promise is
/// not to be used by two threads at once (move it to the thread that will set it).
template <class T>
class promise {
  // The parameter type of set_value(); a placeholder for promise<void>, whose set_value()
  // takes nothing.
  struct no_value {};
  using value_arg = std::conditional_t<std::is_void_v<T>, no_value, T>;

 public:
  /// Allocates the shared state (the only allocation of the pair).
  promise() : s_(new detail::result_state<T>) {}
  promise(promise&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), retrieved_(std::exchange(o.retrieved_, false)) {}
  promise& operator=(promise&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
      retrieved_ = std::exchange(o.retrieved_, false);
    }
    return *this;
  }
  ~promise() { reset(); }

  /// The consuming end; once per promise (troupe::error on the second call).
  result<T> get_result() {
    detail::result_state<T>* s = state("get_result");
    if (retrieved_) throw error("promise::get_result() called twice; a result has one consumer");
    retrieved_ = true;
    s->add_ref();
    return detail::result_access::adopt(s);
  }

  /// Sets the value (copied or moved in) and wakes the consumer. troupe::error if a value or
  /// exception was already set.
  void set_value(const value_arg& v) requires(!std::is_void_v<T>) {
    state("set_value")->set_value("set_value", v);
  }
  void set_value(value_arg&& v) requires(!std::is_void_v<T>) {
    state("set_value")->set_value("set_value", std::move(v));
  }
  void set_value() requires std::is_void_v<T> { state("set_value")->set_value("set_value"); }

  /// Stores an exception for get() to rethrow. troupe::error if already satisfied.
  void set_exception(std::exception_ptr e) {
    detail::result_state<T>* s = state("set_exception");
    if (s->completed_by_me()) {
      throw error("promise::set_exception(): the promise already has a value or an exception");
    }
    if (!e) throw error("promise::set_exception(): the exception_ptr is null");
    s->complete_with_exception(std::move(e));
  }

  /// False for a moved-from promise.
  bool valid() const noexcept { return s_ != nullptr; }

 private:
  detail::result_state<T>* state(const char* operation) const {
    if (s_ == nullptr) {
      throw error(std::string("promise::") + operation + "() on a moved-from promise");
    }
    return s_;
  }
  void reset() noexcept {
    if (s_ == nullptr) return;
    s_->abandon(detail::broken_promise_reason);
    s_->release();
    s_ = nullptr;
  }

  detail::result_state<T>* s_;
  bool retrieved_ = false;
};

// ---- continuations (result<T>::then) ------------------------------------------------------

namespace detail {

/// then()'s continuation: attached to the state, then posted to the actor's side channel
/// when the state completes, then served (fn runs) or discarded (a dead letter) there. One
/// pooled allocation. Holds the consumer's reference to the state, and one to the actor
/// until it is posted.
template <class T, class Fn>
class continuation_node final : public result_continuation, public side_node {
 public:
  continuation_node(result_state<T>* s, actor_base* a, Fn f)
      : state_(s), actor_(a), fn_(std::move(f)) {
    this->result_continuation::complete = &on_complete;
    this->side_node::handle = &on_side;
    this->side_node::message_type = &typeid(result<T>);
  }

  static void* operator new(std::size_t n) { return pool_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { pool_release(p, n); }

 private:
  static_assert(alignof(Fn) <= alignof(std::max_align_t),
                "result::then(): an over-aligned callable is not supported");

  // The thread that completed the state: hand the result to the actor.
  static void on_complete(result_continuation* c) noexcept {
    auto* self = static_cast<continuation_node*>(c);
    actor_base* a = self->actor_;
    a->post(self);  // from here *self may be served or discarded, on any thread
    a->release();   // the reference taken by then(); the actor's own keep it alive now
  }

  // The actor's consumer: run == true inside its turn, false if it has stopped.
  static void on_side(side_node* n, actor_base&, bool run) {
    std::unique_ptr<continuation_node> self(static_cast<continuation_node*>(n));
    result<T> r = result_access::adopt(self->state_);
    if (run) std::invoke(self->fn_, std::move(r));
  }

  result_state<T>* state_;
  actor_base* actor_;
  Fn fn_;
};

}  // namespace detail

template <class T>
template <class Actor, class Fn>
void result<T>::then(Actor& actor, Fn&& fn) && {
  static_assert(std::is_base_of_v<detail::actor_base, Actor>,
                "troupe::result::then(actor, fn): the first argument must be an actor (in a "
                "handler, usually *this); fn runs inside that actor's turn");
  static_assert(std::is_invocable_v<std::decay_t<Fn>&, result<T>&&>,
                "troupe::result::then(actor, fn): fn must be callable with a "
                "troupe::result<T> (the ready result; call get() on it)");
  detail::result_state<T>* s = state("then");
  if (s->taken_by_get()) throw error("result::then() after get(): the value was taken already");
  auto* node = new detail::continuation_node<T, std::decay_t<Fn>>(s, &actor, std::forward<Fn>(fn));
  detail::actor_base& a = actor;
  a.add_ref();   // released once the node is posted (continuation_node::on_complete)
  s_ = nullptr;  // the node holds our reference now
  s->attach(node);
}

}  // namespace troupe
