// runtime/sched/worker.hpp — one worker thread: its run queues and its loop.
//
// Run queues, in the order the loop consults them:
//   0. every fourth turn: the runtime's wake queue — actors made runnable from outside the
//      pool (a send from another thread, a timer, a reply or close from outside) — so
//      that they wait about four turns of a worker, however long the backlog;
//   1. every 61st turn: the injection queue, then the oldest item of its own deque — so
//      neither the LIFO slot nor the deque's LIFO end can starve anything for long;
//   2. lifo_     — the actor this worker woke last (request/reply stays on one core);
//                  owner only, not stealable, always emptied before the worker searches,
//                  and moved to the deque when a long turn pushes its outbox early;
//   3. deque_    — Chase–Lev deque: the owner pushes/takes at the bottom, thieves steal
//                  from the top; when full, half of it moves to the injection queue;
//   4. the wake queue, then the runtime's injection queue (spilled and rescheduled actors);
//   5. stealing from the other workers (as a searcher, see idle.hpp), then sleep.
//
// Sends from handlers go through a per-turn outbox (see coalesce()), pushed at the latest
// every outbox_flush_every messages and at the end of the turn.
//
// Fields: everything but deque_'s steal end, counters (read by stats()) and the parked
// word in idle_protocol is touched by the owner thread only.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <cstdint>
#include <thread>

#include "lockfree/ws_deque.hpp"
#include "sched/idle.hpp"
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
  /// Lets the thread run on unjoined (a shutdown that abandoned a handler never returning).
  void detach();

  runtime_core& core() const noexcept { return core_; }
  unsigned index() const noexcept { return index_; }
  worker_counters& counters() noexcept { return counters_; }
  const worker_counters& counters() const noexcept { return counters_; }
  /// What this worker is running (written by its thread; see turn_record.hpp).
  turn_record& turn() noexcept { return turn_; }
  const turn_record& turn() const noexcept { return turn_; }

  /// Owner thread only: `a` became runnable through a send from this worker.
  void schedule_local(actor_base* a) noexcept;

  /// Owner thread only: pushes the outbox's chain, if any. Run at the end of every turn
  /// and before anything that must come after this thread's earlier sends (close()).
  void flush_outbox() noexcept {
    if (out_dest_ != nullptr) flush_outbox_to_dest();
  }

  /// Owner thread only, from a send to `dest` inside a turn. Returns true if `n` joined the
  /// outbox (the caller must not push it); false if the caller must push it now.
  bool coalesce(actor_base* dest, mailbox_node* n) noexcept {
    // To the actor running this turn: its mailbox line is already ours, and the turn may
    // still take the message (a self-send chain must not cost a turn per message).
    // relaxed: our own turn record (turn_record.hpp), written by this thread.
    actor_base* const running = turn_.actor.load(memory_order_relaxed);
    if (dest == running) return false;
    if (out_dest_ == dest) {
      if (out_first_ == nullptr) {
        out_first_ = n;
      } else {
        // relaxed: the chain is private until push_outbox_chain() publishes it.
        out_last_->next.store(n, memory_order_relaxed);
      }
      out_last_ = n;
      if (++out_len_ == outbox_flush_every) flush_outbox_early();
      return true;
    }
    if (last_direct_ == dest) {  // a second send to one actor in this turn: start a chain
      flush_outbox();
      dest->add_ref();  // the outbox keeps dest alive until the flush
      out_dest_ = dest;
      // Kept for a dead letter: the turn's end flushes after turn_.actor is cleared, and
      // the running actor may be gone by then. Once per destination per turn, not per message.
      out_sender_ = running != nullptr ? running->id() : 0;
      out_first_ = out_last_ = n;
      out_len_ = 1;
      return true;
    }
    flush_outbox();  // keeps causal order: earlier sends to others go out first
    last_direct_ = dest;
    return false;
  }

  /// The outbox pushes its chain when it holds this many messages, without waiting for the
  /// turn to end: a handler that sends a long run to one actor in one loop lets the receiver
  /// start after this many, and never holds more than this many unsent. One exchange on the
  /// receiver's mailbox per this many messages. Throughput is flat from 16 to 256; 64 is
  /// runtime_config::batch's default, so a chain is one receiver turn (docs/benchmarks.md,
  /// "Fan-in and fork-join variants").
  static constexpr std::uint32_t outbox_flush_every = 64;

  /// Owner thread only, from a send in the running actor's turn that left `receiver`'s
  /// bounded mailbox over capacity: the actor is muted on it when the turn ends (only on
  /// the first such receiver of the turn: false for any later one).
  bool request_mute(actor_base* receiver) noexcept;
  /// Owner thread only: the running turn must end muted (request_mute() was called).
  bool mute_pending() const noexcept { return mute_target_ != nullptr; }
  /// Owner thread only: sends to `dest` (a bounded actor) must not be chained.
  void forget_direct(const actor_base* dest) noexcept {
    if (last_direct_ == dest) last_direct_ = nullptr;
  }

  /// Owner thread only: the actor whose turn filled the outbox (0: none), which sent its
  /// chain. Read only when the chain becomes dead letters.
  actor_id outbox_sender() const noexcept { return out_sender_; }

  /// Any thread: take the oldest runnable actor of this worker.
  bool steal(actor_base*& out) noexcept { return deque_.steal(out); }
  bool may_have_stealable_work() const noexcept { return deque_.maybe_nonempty(); }

 private:
  void run() noexcept;
  bool take_local(actor_base*& out) noexcept;
  bool search(actor_base*& out) noexcept;
  bool steal_from_others(actor_base*& out) noexcept;
  void push_outbox_chain() noexcept;
  void flush_outbox_early() noexcept;
  void flush_outbox_to_dest() noexcept;
  bool pop_injected(actor_base*& out) noexcept;
  bool any_work_visible() noexcept;
  void run_turn(actor_base* a) noexcept;
  void push_deque(actor_base* a) noexcept;
  void reinject(actor_base* a) noexcept;
  /// After a turn that called request_mute(): parks `a` on the receiver if the turn ended
  /// runnable and it may wait (true: the caller must not queue it).
  bool end_muted(actor_base* a, turn_result r) noexcept;

  runtime_core& core_;
  const unsigned index_;
  const unsigned batch_;
  spin_policy spin_;  // how long search() spins before the worker sleeps
  actor_base* lifo_ = nullptr;
  // The send outbox (owner only). The first send of a turn to an actor is pushed at once;
  // further sends to the same actor in the same turn are linked here and pushed as one
  // chain — one exchange on its mailbox instead of one per message — every
  // outbox_flush_every messages, when the turn ends, or when the handler sends to someone
  // else. Per-sender order and causality are kept: a chain is pushed before any later send
  // of this thread, and only ever earlier than the turn's end, never later.
  actor_base* last_direct_ = nullptr;  // compared only, never dereferenced
  actor_base* out_dest_ = nullptr;     // holds a reference while set
  mailbox_node* out_first_ = nullptr;  // null: the chain is empty (out_dest_ may be set)
  mailbox_node* out_last_ = nullptr;
  std::uint32_t out_len_ = 0;          // messages in the chain
  actor_id out_sender_ = 0;            // id of the running actor when out_dest_ was set
  actor_base* mute_target_ = nullptr;  // request_mute()'s receiver, with a reference
  std::uint64_t tick_ = 0;
  std::uint64_t rng_;
  ws_deque<actor_base*> deque_;
  moodycamel::ProducerToken inject_producer_;
  moodycamel::ConsumerToken inject_consumer_;
  worker_counters counters_;
  turn_record turn_;
  std::thread thread_;
};

/// The worker running on this thread, or nullptr on any other thread.
extern constinit thread_local worker* tls_current_worker;

/// The id of the actor whose turn this thread runs, on a worker of any runtime; 0 on any
/// other thread or between turns. The running actor is alive while its turn runs. For dead
/// letters only: the send path does not call it.
inline actor_id running_actor_id() noexcept {
  worker* const w = tls_current_worker;
  if (w == nullptr) return 0;
  // relaxed: our own turn record (turn_record.hpp), written by this thread.
  const actor_base* const a = w->turn().actor.load(memory_order_relaxed);
  return a != nullptr ? a->id() : 0;
}

/// The worker running on this thread if it belongs to `core`, else nullptr.
inline worker* current_worker_of(const runtime_core* core) noexcept {
  worker* w = tls_current_worker;
  return (w != nullptr && &w->core() == core) ? w : nullptr;
}

}  // namespace troupe::detail
