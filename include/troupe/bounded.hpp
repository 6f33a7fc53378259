// troupe/bounded.hpp — bounded mailboxes: backpressure as a runtime feature.
//
// An actor's mailbox is unbounded unless its type, or its spawn, says otherwise:
//
//   struct Sink : troupe::actor<Sink, Item> {
//     static constexpr std::size_t mailbox_capacity = 1000;  // every Sink is bounded
//     void on(Item i) { ... }
//   };
//   auto a = rt.spawn<Sink>();
//   auto b = rt.spawn<Worker>(troupe::bounded{256}, args...);  // this one only (wins over a
//                                                              // declared capacity)
//
// A send never loses, reorders or refuses a message because a mailbox is full. What waits
// is the sender, in the way its kind allows:
//
//   * an event actor: its send completes; if it left the receiver over capacity, the
//     actor's turn ends after the message in hand and the actor is muted — not run again,
//     its own mailbox filling meanwhile — until the receiver has drained to its low-water
//     mark (half the capacity) or stopped (Pony's muting). So a turn overshoots the capacity
//     by at most what it sends (a handler that sends 10,000 in one loop sends them all);
//   * a coroutine actor: muted the same way when its turn ends; `co_await send(r, msg)`
//     (coro_actor.hpp) suspends run() right at the send instead;
//   * a blocking actor: its send parks the fiber (not the worker) until the receiver has
//     drained, then returns;
//   * a thread outside the pool: send() blocks until there is room below the capacity;
//     try_send() returns false instead, and send_for(msg, timeout) waits at most `timeout`
//     (ref.hpp). Inside a handler, try_send() works and send_for() throws troupe::error.
//   * the timer thread (send_after, send_every), and the runtime's own messages (down,
//     exit_signal, replies to ask()), never wait: they may overshoot the capacity.
//
// ref.queue_length() tells how many messages a bounded mailbox holds (approximately: sends
// and receives in flight race with the read); std::nullopt for an unbounded one, which does
// not count. troupe::bounded{troupe::bounded::unlimited} counts without ever throttling.
// runtime_stats::muted counts the times an actor was muted.
//
// Cycles. A sender never waits for a receiver that is itself waiting, and a bounded actor
// whose own mailbox is over capacity never waits (it must drain for its own senders). So
// actors that send to each other cannot mute one another into a deadlock: when every
// mailbox in a cycle is full, the cycle runs on unthrottled and its mailboxes grow past
// their capacities until it drains (docs/guide.md, "Backpressure").
//
// What a bounded mailbox cannot do: an actor that waits for something other than messages
// keeps its senders waiting. A handler that runs for a long time, or a coroutine or blocking
// actor that sleeps, holds its muted senders for that long; awaiting a result (co_await
// on a result, await()) still drains the mailbox (messages are set aside), so it does not.
//
// Cost: an unbounded actor's send and dispatch paths test bits of words they load anyway
// (a few instructions per message, docs/benchmarks.md). A bounded actor's send is pushed on
// its own (never chained in the sender's outbox) with one atomic add; its consumer counts
// what it takes on a cache line of its own and publishes the count every 32 messages at
// most. A bounded actor is 256 bytes larger (four cache lines of counts). A pipeline with a
// bound of 1,000 runs as fast as the unbounded one, or faster, in under 1 MB of memory
// where the unbounded one grows by 80–130 MB (docs/benchmarks.md, "Bounded mailboxes").
//
// The fast capacity check reads the consumer's published count, which lags by up to 31
// messages; a sender that would wait, and queue_length(), read the exact count.
#pragma once

#include <cstddef>
#include <limits>

namespace troupe {

/// Spawn option: the actor gets a bounded mailbox of `capacity` messages (at least 1).
struct bounded {
  /// Counts the queue (queue_length()) but never makes a sender wait.
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max() / 4;
  std::size_t capacity;
};

}  // namespace troupe
