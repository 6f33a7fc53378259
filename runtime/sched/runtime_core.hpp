// runtime/sched/runtime_core.hpp — the shared state behind a troupe::runtime: workers, the
// injection queue, the idle protocol, the actor registry, the name table and the external
// counters.
//
// Lifetime: reference-counted. The runtime object holds one reference and every actor
// holds one (taken at spawn, dropped in ~actor_base), so a handle that outlives its
// runtime can still send (dead letters) without touching freed memory. On a worker thread
// an actor's reference comes from, and returns to, the worker's credit: references drawn
// from refs_ in batches of credit_batch, so spawns and stops on workers touch refs_ once per
// batch instead of each time. Invariant: refs_ == 1 (the runtime object, until it releases)
// + live actors + the sum of the workers' credits; shutdown() returns the credits after
// joining the workers, so refs_ cannot reach 0 while a worker runs.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <typeinfo>
#include <vector>

#include "actor/name_table.hpp"
#include "actor/registry.hpp"
#include "diag/turn_watch.hpp"
#include "diag/watchdog.hpp"
#include "fiber/stack_pool.hpp"
#include "sched/idle.hpp"
#include "sched/worker.hpp"
#include "timer/timer_service.hpp"
#include "troupe/detail/actor_base.hpp"
#include "troupe/runtime.hpp"
#include "troupe/stats.hpp"

namespace troupe::detail {

class runtime_core {
 public:
  explicit runtime_core(runtime_config config);
  runtime_core(const runtime_core&) = delete;
  runtime_core& operator=(const runtime_core&) = delete;

  void add_ref() noexcept {
    // relaxed: the caller already holds a reference (the runtime, or a spawning thread).
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last holder's delete happens after every other holder's last use.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

  // ---- actors ---------------------------------------------------------------------------
  void register_actor(actor_base* a);  // throws troupe::error after shutdown began
  /// Drops the reference an actor took in register_actor(); from ~actor_base, any thread.
  void release_actor_ref() noexcept;
  void deregister_actor(actor_base* a, bool failed) noexcept { registry_.remove(a, failed); }
  /// The runtime's names (runtime.hpp, "Names"; actor/name_table.hpp).
  name_table& names() noexcept { return names_; }
  /// `a` became runnable by a send (or a timer, a reply, a close) from a thread that is
  /// not one of our workers: it goes to the wake queue, which workers serve before their
  /// own work (see worker.hpp), and a sleeping worker is woken.
  void inject_external(actor_base* a) noexcept;
  /// A worker's fallback when it cannot enqueue with its token: the shared queue, as
  /// anyone. Aborts if the queue cannot grow.
  void inject_shared(actor_base* a) noexcept;
  /// Any worker: takes the oldest actor from the wake queue, if any.
  bool pop_woken(actor_base*& out) noexcept {
    // relaxed: a hint; the dequeue itself synchronizes with the enqueue (moodycamel).
    if (woken_pending_.load(memory_order_relaxed) == 0) return false;
    if (!woken_.try_dequeue(out)) return false;
    // relaxed: a count only (see inject_external()).
    woken_pending_.fetch_sub(1, memory_order_relaxed);
    return true;
  }
  /// Something waits in the wake queue (a hint, as pop_woken()'s).
  bool any_woken() const noexcept {
    // relaxed: a hint; INV-IDLE-3's re-check reads it after the announce RMW (seq_cst),
    // which the waker's notify_strict() RMW is ordered against.
    return woken_pending_.load(memory_order_relaxed) != 0;
  }
  void count_external_sent() noexcept {
    // relaxed: a statistic; shutdown's joins and mutexes order it before the final read.
    external_sent_.fetch_add(1, memory_order_relaxed);
  }
  void count_dead_letters(std::uint64_t n) noexcept;
  /// Calls on_dead_letter, if set; `sender` 0: not known (troupe::dead_letter::sender).
  void report_dead_letter(actor_id receiver, const std::type_info& type, dead_letter_reason reason,
                          actor_id sender) const noexcept;
  void report_failure(const actor_base& a, std::exception_ptr error) const noexcept;

  // ---- timers and fiber stacks ------------------------------------------------------------
  timer_service& timers() noexcept { return timers_; }
  /// The pool of stacks of `size` usable bytes (rounded up to pages), created at first use.
  /// Pools live as long as the core, so they outlive every stack (INV-STACK-3).
  stack_pool& fiber_stacks(std::size_t size);

  // ---- the runtime object ---------------------------------------------------------------
  void start();
  /// runtime::shutdown() (no `limit`) and runtime::shutdown(deadline).
  shutdown_report shutdown(std::optional<std::chrono::milliseconds> limit);
  /// A shutdown(deadline) gave up on a handler that never returned: the workers were not
  /// joined, and the core must never be freed (they may still use it).
  bool abandoned() const noexcept;
  /// Messages sent and not yet handled or dead-lettered, as far as this thread can tell
  /// (never fewer than are really in flight, once every counted send is visible: see
  /// drain()). Any thread.
  std::uint64_t in_flight() const noexcept;
  runtime_stats stats() const;
  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }

  // ---- workers --------------------------------------------------------------------------
  const runtime_config& config() const noexcept { return config_; }
  worker& worker_at(unsigned i) noexcept { return *workers_[i]; }
  moodycamel::ConcurrentQueue<actor_base*>& injection() noexcept { return injection_; }
  idle_protocol& idle() noexcept { return idle_; }
  bool stopping() const noexcept {
    // seq_cst: read in a worker's re-check after its announce RMW (INV-IDLE-3 applies to
    // the stop flag as to any other work).
    return stopping_.load(memory_order_seq_cst);
  }

 private:
  ~runtime_core();

  void take_actor_ref() noexcept;
  /// shutdown()'s first phase: waits until no message is in flight (two samples of the
  /// counters, taken a moment apart, equal and balanced) or until `limit` has passed.
  /// Returns false, having said so on stderr, if the limit passed first.
  bool drain(std::chrono::milliseconds limit, turn_watch& watch);
  /// Waits until every closed actor has stopped (true) or `until` passes (false), looking
  /// at the workers (`watch`) every 10 ms or less; without a limit, says on stderr who
  /// holds it up after 10 s and every minute after that.
  bool wait_stopped(std::chrono::steady_clock::time_point until, turn_watch& watch);
  /// shutdown(deadline)'s report of the actors in `live` (all pinned), as seen by `watch`
  /// at the deadline (`at`).
  void describe_stragglers(const std::vector<actor_base*>& live,
                           const std::vector<turn_watch::sighting>& seen,
                           std::chrono::steady_clock::time_point at, shutdown_report& r) const;

  // A worker's reference credit (see the top of this file); its owner thread only.
  struct alignas(cache_line) ref_credit {
    std::uint32_t n = 0;
  };
  static constexpr std::uint32_t credit_batch = 1024;

  const runtime_config config_;
  moodycamel::ConcurrentQueue<actor_base*> injection_;  // spilled and rescheduled actors
  // Actors made runnable from outside the pool (inject_external()), served ahead of the
  // workers' own work so that a timer tick or an outside request never waits behind a
  // busy pool's backlog. woken_pending_ counts them, so that workers can look cheaply.
  moodycamel::ConcurrentQueue<actor_base*> woken_;
  alignas(cache_line) atomic<std::uint64_t> woken_pending_{0};
  idle_protocol idle_;
  std::vector<std::unique_ptr<worker>> workers_;
  actor_registry registry_;
  name_table names_;
  timer_service timers_;
  std::mutex stacks_mu_;                                  // guards stack_pools_
  std::vector<std::unique_ptr<stack_pool>> stack_pools_;  // one per stack size
  std::unique_ptr<ref_credit[]> credits_;                 // one per worker
  alignas(cache_line) atomic<std::uint64_t> external_sent_{0};
  alignas(cache_line) atomic<std::uint64_t> external_dead_lettered_{0};
  atomic<bool> stopping_{false};
  atomic<std::uint32_t> refs_{1};
  watchdog watchdog_;
  std::mutex shutdown_mu_;  // serializes shutdown() callers
  bool shut_down_ = false;  // under shutdown_mu_
  atomic<bool> abandoned_{false};
};

}  // namespace troupe::detail
