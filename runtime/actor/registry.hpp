// runtime/actor/registry.hpp — the runtime's actors that have not stopped yet, so shutdown
// can close every one of them and wait for all to stop.
//
// Sharded: one shard per worker plus one for spawns from threads outside the pool. Each
// shard is an intrusive doubly-linked list through actor_base::reg_prev_/reg_next_ under
// the shard's own lock (a spin_mutex: one RMW per link or unlink). An actor joins the
// shard of the thread that spawns it and records the shard's process-wide id in its state
// word (actor_state::shard_shift; the id also names the runtime, see shard_table.hpp), so
// its stop, on whichever worker, unlinks it from that shard. A worker spawning and
// stopping its own actors thus takes only its own, uncontended lock: no line is shared by
// all spawns and stops. The send and dispatch paths never touch the registry.
//
// Shutdown first refuses spawns (refuse_adds(): every shard is closed, so no spawn
// succeeds anywhere from then on), lets the runtime drain, then walks the shards one after
// the other (close_all_and_wait). It posts close() to the shard's actors in list order, walk_batch
// at a time: pinned (a reference each) under the lock, closed without it, so the workers' remove()
// calls are never held up for long. And it keeps at most max_pending of its closes waiting to stop
// (the stops are counted by remove()): every close() of an idle actor queues it to run once, so an
// unthrottled walk over a million idle actors would first fill the injection queue with a million
// entries. Then it waits until every shard has drained (live == 0 after closing). remove() leaves
// an actor's links pointing to itself, so the walk can tell whether the actor it pinned to resume
// from is still listed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "actor/spin_mutex.hpp"
#include "troupe/detail/sync.hpp"

namespace troupe::detail {

class actor_base;
class runtime_core;

class actor_registry {
 public:
  /// One shard per worker (`workers` >= 1) plus one for other threads (more than
  /// actor_state::max_shards - 2 workers share shards). Reserves the shards' process-wide
  /// ids for `core` (see shard_table.hpp); throws troupe::error if none are left.
  actor_registry(unsigned workers, runtime_core* core);
  ~actor_registry();
  actor_registry(const actor_registry&) = delete;
  actor_registry& operator=(const actor_registry&) = delete;

  /// Adds a new actor to `shard` (see shard_for()); false once close_all_and_wait() has
  /// closed that shard (the runtime refuses spawns). Called before the actor is published.
  bool add(actor_base* a, unsigned shard);
  /// Removes a stopping actor from the shard add() put it in (called once, from finish()).
  void remove(actor_base* a, bool failed) noexcept;
  using clock = std::chrono::steady_clock;

  /// Closes every shard: add() fails from now on, in every shard. Idempotent.
  void refuse_adds();
  /// Refuses further adds and posts close() to every live actor (throttled, see the top of
  /// this file, until `until`; after it, without waiting).
  void close_all(clock::time_point until);
  /// After close_all(): waits until every actor has stopped and been removed (true) or
  /// until `until` (false).
  bool wait_all_stopped(clock::time_point until);
  /// close_all() and wait_all_stopped(), without a time limit.
  void close_all_and_wait();
  /// Every actor not yet removed, each pinned by a reference the caller must release.
  std::vector<actor_base*> pin_live();
  /// `a`, pinned (a reference the caller must release), if it is listed; else nullptr.
  /// Walks every shard (O(live actors)): for diagnostics, never on a hot path. `a` is only
  /// compared, so it may be a stale pointer.
  actor_base* pin_if_listed(const actor_base* a);

  /// The shard for a spawn from worker `index` of this runtime, or from another thread
  /// (`index` == no_worker).
  static constexpr unsigned no_worker = ~0u;
  unsigned shard_for(unsigned index) const noexcept {
    return index == no_worker ? n_ - 1 : index % (n_ - 1);
  }

  struct counts {
    std::uint64_t spawned, stopped, failed;
  };
  counts totals() const;

 private:
  struct alignas(cache_line) shard {
    mutable spin_mutex mu;
    actor_base* head = nullptr;  // all fields under mu
    std::uint64_t live = 0;
    bool closed = false;
    bool drain_signaled = false;  // shard_drained() ran for this shard
    counts totals{0, 0, 0};
    // The shutdown walk waits on `progress` until totals.stopped reaches resume_at.
    bool walker_waiting = false;
    std::uint64_t resume_at = 0;
    std::condition_variable_any progress;
  };

  static constexpr std::size_t walk_batch = 256;      // actors pinned and closed per pass
  static constexpr std::uint64_t max_pending = 4096;  // closed by the walk, not yet stopped

  /// Closes the shard and walks it; true if it is drained already (caller signals).
  bool close_shard(shard& s, clock::time_point until);
  void shard_drained() noexcept;

  const unsigned n_;
  const unsigned first_id_;  // shard i has the process-wide id first_id_ + i
  std::unique_ptr<shard[]> shards_;
  std::mutex wait_mu_;
  std::condition_variable all_drained_;
  bool refusing_ = false;   // under wait_mu_: refuse_adds() has run
  unsigned undrained_ = 0;  // under wait_mu_: closed shards whose live count is not yet 0
};

}  // namespace troupe::detail
