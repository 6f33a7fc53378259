// runtime/sched/worker.hpp — one worker thread: its run queues and its loop.
//
// Run queues, in the order the loop consults them:
//   1. every 61st turn: the injection queue, then the oldest item of its own deque — so
//      neither the LIFO slot nor the deque's LIFO end can starve anything for long;
//   2. lifo_     — the actor this worker woke last (request/reply stays on one core);
//                  owner only, not stealable, always emptied before the worker searches;
//   3. deque_    — Chase–Lev deque: the owner pushes/takes at the bottom, thieves steal
//                  from the top; when full, half of it moves to the injection queue;
//   4. the runtime's injection queue (sends from outside the pool, rescheduled actors);
//   5. stealing from the other workers (as a searcher, see idle.hpp), then sleep.
//
// Fields: everything but deque_'s steal end, counters (read by stats()) and the parked
// word in idle_protocol is touched by the owner thread only.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <cstdint>
#include <thread>

#include "lockfree/ws_deque.hpp"
#include "sched/worker_counters.hpp"
#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {

class runtime_core;

class worker {
 public:
  worker(runtime_core& core, unsigned index);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  void join();

  runtime_core& core() const noexcept { return core_; }
  worker_counters& counters() noexcept { return counters_; }
  const worker_counters& counters() const noexcept { return counters_; }

  /// Owner thread only: `a` became runnable through a send from this worker.
  void schedule_local(actor_base* a) noexcept;

  /// Any thread: take the oldest runnable actor of this worker.
  bool steal(actor_base*& out) noexcept { return deque_.steal(out); }
  bool may_have_stealable_work() const noexcept { return deque_.maybe_nonempty(); }

 private:
  void run() noexcept;
  bool take_local(actor_base*& out) noexcept;
  bool search(actor_base*& out) noexcept;
  bool steal_from_others(actor_base*& out) noexcept;
  bool pop_injected(actor_base*& out) noexcept;
  bool any_work_visible() noexcept;
  void run_turn(actor_base* a) noexcept;
  void push_deque(actor_base* a) noexcept;
  void reinject(actor_base* a) noexcept;

  runtime_core& core_;
  const unsigned index_;
  const unsigned batch_;
  const unsigned spin_rounds_;
  actor_base* lifo_ = nullptr;
  std::uint64_t tick_ = 0;
  std::uint64_t rng_;
  ws_deque<actor_base*> deque_;
  moodycamel::ProducerToken inject_producer_;
  moodycamel::ConsumerToken inject_consumer_;
  worker_counters counters_;
  std::thread thread_;
};

/// The worker running on this thread, or nullptr on any other thread.
extern constinit thread_local worker* tls_current_worker;

/// The worker running on this thread if it belongs to `core`, else nullptr.
inline worker* current_worker_of(const runtime_core* core) noexcept {
  worker* w = tls_current_worker;
  return (w != nullptr && &w->core() == core) ? w : nullptr;
}

}  // namespace troupe::detail
