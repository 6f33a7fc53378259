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
// Stopping: recv() throws troupe::actor_exit at the close sentinel (and at every later
// call). The actor stops when run() finishes — by returning, by letting actor_exit escape
// (both normal stops), or by another exception (a failure, reported like an event
// actor's). Then on_stop() runs if defined, and whatever is still queued becomes dead
// letters. Do not swallow actor_exit and loop on recv() forever: shutdown() waits for
// every actor to stop.
//
// Cost: a message to a waiting coroutine actor costs one resume; messages already queued
// are taken inside the coroutine without suspending, up to the turn's batch.
//
// Compiler note: GCC 12 miscompiles a co_await that appears inside an if condition, e.g.
// `if (co_await recv() == 3) ...` crashes (illegal instruction) even in a coroutine that has
// nothing to do with troupe; clang is fine. Bind the result first:
// `int n = co_await recv(); if (n == 3) ...`.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <typeinfo>
#include <utility>

#include "troupe/actor.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/node_pool.hpp"
#include "troupe/detail/typed_actor.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"

namespace troupe {

template <class Derived, class... Msgs>
class coro_actor : public detail::typed_actor<Derived, Msgs...> {
  using base = detail::typed_actor<Derived, Msgs...>;

 public:
  /// What recv() yields: the message itself, or std::variant<Msgs...> for several types.
  using message = typename detail::payload_of<Msgs...>::type;
  /// run() starts right after spawn, without waiting for a message.
  static constexpr bool starts_at_spawn = true;

  /// The return type of Derived::run(). Frames come from the node pool.
  class task {
   public:
    struct promise_type {
      std::exception_ptr error;
      task get_return_object() noexcept {
        return task(std::coroutine_handle<promise_type>::from_promise(*this));
      }
      std::suspend_always initial_suspend() noexcept { return {}; }
      std::suspend_always final_suspend() noexcept { return {}; }
      void return_void() noexcept {}
      void unhandled_exception() noexcept { error = std::current_exception(); }
      static void* operator new(std::size_t n) { return detail::pool_allocate(n); }
      static void operator delete(void* p, std::size_t n) noexcept { detail::pool_release(p, n); }
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
  ~coro_actor() override {
    if (coro_) coro_.destroy();  // only if spawn failed or the actor never finished
  }

  /// Awaitable: the next message, in send order per sender. Throws troupe::actor_exit at
  /// the close sentinel. Only for use inside run().
  auto recv() noexcept { return recv_awaiter{this}; }

 private:
  using typename base::node_type;

  struct recv_awaiter {
    coro_actor* self;
    // Takes an already queued message without suspending, while the turn has budget.
    bool await_ready() noexcept { return self->take_next(); }
    void await_suspend(std::coroutine_handle<>) noexcept {}  // back to run_turn()
    message await_resume() { return self->hand_over(); }
  };

  // Consumer only. Pops the next message into current_ (or notes the sentinel).
  bool take_next() noexcept {
    if (exiting_) return true;
    if (budget_left_ == 0) return false;
    auto [n, retired] = this->mailbox_.pop();
    this->free_retired(retired);
    if (n == nullptr) return false;
    if (this->is_close_sentinel(n)) {
      exiting_ = true;
      return true;
    }
    current_ = static_cast<node_type*>(n);
    --budget_left_;
    ++*handled_;
    return true;
  }

  message hand_over() {
    if (exiting_) throw actor_exit{};
    struct destroy_payload_after {
      node_type* n;
      ~destroy_payload_after() { n->destroy_payload(); }
    } guard{std::exchange(current_, nullptr)};
    return std::move(guard.n->payload());  // constructed before the guard runs
  }

  detail::turn_result run_turn(unsigned budget, std::uint64_t& handled) noexcept final {
    budget_left_ = budget;
    handled_ = &handled;
    if (!coro_) {
      try {
        coro_ = static_cast<Derived&>(*this).run().release();
      } catch (...) {  // the frame could not be allocated
        return stop(std::current_exception());
      }
      coro_.resume();
    }
    for (;;) {
      if (coro_.done()) return stop(nullptr);
      // Suspended in recv(): the mailbox was empty, or the batch is used up.
      if (budget_left_ == 0) return detail::turn_result::runnable;
      if (!take_next()) {
        return this->template try_go_idle<node_type>() ? detail::turn_result::idle
                                                       : detail::turn_result::runnable;
      }
      coro_.resume();
    }
  }

  detail::turn_result stop(std::exception_ptr error) noexcept {
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
    if (current_ != nullptr) {  // taken but never handed over (run() ended first)
      std::exchange(current_, nullptr)->destroy_payload();
    }
    this->finish(error);
    return detail::turn_result::stopped;
  }

  // Consumer only (the worker running the turn).
  std::coroutine_handle<typename task::promise_type> coro_;
  node_type* current_ = nullptr;  // taken by take_next(), not yet handed to run()
  std::uint64_t* handled_ = nullptr;
  unsigned budget_left_ = 0;
  bool exiting_ = false;  // the close sentinel was taken
};

}  // namespace troupe
