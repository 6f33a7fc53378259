// troupe/detail/turn_record.hpp — what a worker is doing right now, for diagnostics: which
// actor's turn it runs and which message that actor is handling. Installed because the
// actor templates write it; not API.
//
// Written by the worker's own thread only (plain loads and relaxed stores: one `mov` each
// on x86, no RMW); read by any thread with relaxed loads — by shutdown(deadline) to say
// who held it up, and by the stuck-handler watchdog (runtime_config::stuck_handler_limit).
// A reader gets no consistent snapshot of the fields, and must never dereference `actor`
// (the actor may be gone by the time it looks). What makes a reading useful is that it
// repeats: the same `actor` and `taken` seen twice, a while apart, mean one handler has run
// all that while, since every message taken advances `taken`.
//
// The send outbox (worker.hpp) reads `actor` to recognise a send to the running actor, and
// the worker's own thread reads the running actor's id through it to name the sender of a
// dead letter (running_actor_id(); the actor is alive while its turn runs).
// A reader that wants the actor's id or type must first pin it through the registry and then
// see the same reading again (actor_registry::pin_if_listed()).
//
// Cost: per turn, the worker stores `actor` twice (a plain field it kept anyway) and clears
// `message`; per message, the actor advances `taken` (which replaced a per-turn count of
// handled messages) and stores `message`.
#pragma once

#include <cstdint>
#include <typeinfo>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

class actor_base;

struct alignas(cache_line) turn_record {
  atomic<actor_base*> actor{nullptr};  ///< the actor whose turn runs; nullptr between turns
  /// The type of the message being handled (static data, valid forever); nullptr between
  /// messages: in on_start(), or in a coroutine or blocking actor's run() before its first
  /// receive of the turn.
  atomic<const std::type_info*> message{nullptr};
  atomic<std::uint64_t> taken{0};  ///< messages taken on this worker, ever

  /// Owner thread: the actor took a message of type `type` and is about to handle it.
  void took(const std::type_info& type) noexcept {
    // relaxed (both): only this thread writes; readers want no ordering (see the top).
    taken.store(taken.load(memory_order_relaxed) + 1, memory_order_relaxed);
    message.store(&type, memory_order_relaxed);
  }
};

}  // namespace troupe::detail
