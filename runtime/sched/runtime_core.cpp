// runtime/sched/runtime_core.cpp — see runtime_core.hpp.
#include "sched/runtime_core.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "mem/actor_pool.hpp"
#include "troupe/detail/type_name.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {
namespace {

runtime_config validated(runtime_config c) {
  if (c.workers == 0) c.workers = std::max(1u, std::thread::hardware_concurrency());
  if (c.batch == 0) throw error("runtime_config::batch must be at least 1");
  if (c.deque_capacity < 2 || (c.deque_capacity & (c.deque_capacity - 1)) != 0) {
    throw error("runtime_config::deque_capacity must be a power of two, at least 2");
  }
  if (c.drain_timeout.count() < 0) throw error("runtime_config::drain_timeout must be >= 0");
  if (c.stuck_handler_limit.count() < 0) {
    throw error("runtime_config::stuck_handler_limit must be >= 0 (0: no watchdog)");
  }
  return c;
}

}  // namespace

#if defined(__SANITIZE_THREAD__)
// moodycamel's ConcurrentQueue synchronizes with std::atomic_thread_fence, which
// ThreadSanitizer does not model; it then reports races inside the queue itself (upstream
// issues #49, #62, #254). Suppress reports whose stack is inside that header only. Lives in
// this file because the linker always pulls it in with the runtime.
extern "C" const char* __tsan_default_suppressions() {
  return "race:concurrentqueue/concurrentqueue.h\n";
}
#endif

runtime_core::runtime_core(runtime_config config)
    : config_(validated(std::move(config))),
      idle_(config_.workers),
      registry_(config_.workers, this),
      credits_(std::make_unique<ref_credit[]>(config_.workers)) {
  workers_.reserve(config_.workers);
  for (unsigned i = 0; i < config_.workers; ++i) {
    workers_.push_back(std::make_unique<worker>(*this, i));
  }
}

runtime_core::~runtime_core() {
  // Every actor of this runtime is gone (each held a reference): give the chunks they
  // emptied back to the system allocator.
  actor_pool_trim();
}

void runtime_core::start() {
  for (auto& w : workers_) w->start();
  watchdog_.start(workers_, registry_, config_.stuck_handler_limit, config_.on_stuck_handler);
}

void runtime_core::register_actor(actor_base* a) {
  take_actor_ref();
  worker* w = current_worker_of(this);
  if (!registry_.add(a,
                     registry_.shard_for(w != nullptr ? w->index() : actor_registry::no_worker))) {
    release_actor_ref();  // add() left the actor without a runtime: ~actor_base skips it
    throw error("spawn() after shutdown() began: the runtime accepts no new actors");
  }
}

void runtime_core::take_actor_ref() noexcept {
  worker* w = current_worker_of(this);
  if (w == nullptr) {
    add_ref();
    return;
  }
  std::uint32_t& c = credits_[w->index()].n;
  if (c == 0) {
    // relaxed: as add_ref(); we hold a reference (the runtime's, while workers run).
    refs_.fetch_add(credit_batch, memory_order_relaxed);
    c = credit_batch;
  }
  --c;
}

void runtime_core::release_actor_ref() noexcept {
  worker* w = current_worker_of(this);
  if (w == nullptr) {
    release();
    return;
  }
  std::uint32_t& c = credits_[w->index()].n;
  if (++c >= 2 * credit_batch) {
    // release: publishes the deleted actors' last uses of the core to the final release()
    // (acq_rel), which reads this value through the release sequence. Never the final
    // decrement: the runtime object holds its reference until after shutdown() joined us.
    refs_.fetch_sub(credit_batch, memory_order_release);
    c -= credit_batch;
  }
}

void runtime_core::inject_external(actor_base* a) noexcept {
  if (!woken_.enqueue(a)) {
    // moodycamel only fails when it cannot allocate a block: nothing sane is left to do.
    std::fputs("troupe: out of memory growing the wake queue\n", stderr);
    std::abort();
  }
  // relaxed: a count for the workers' cheap look (pop_woken()); the item itself is
  // published by the enqueue, and a sleeping worker is woken by notify_strict()'s seq_cst
  // RMW, after which its re-check (any_work_visible()) sees this increment (INV-IDLE-3).
  woken_pending_.fetch_add(1, memory_order_relaxed);
  idle_.notify_strict();
}

void runtime_core::inject_shared(actor_base* a) noexcept {
  if (!injection_.enqueue(a)) {
    // moodycamel only fails when it cannot allocate a block: nothing sane is left to do.
    std::fputs("troupe: out of memory growing the injection queue\n", stderr);
    std::abort();
  }
  idle_.notify_strict();
}

void runtime_core::count_dead_letters(std::uint64_t n) noexcept {
  if (worker* w = current_worker_of(this)) {
    worker_counters::add(w->counters().dead_lettered, n);
  } else {
    // release: as worker_counters::add(), for drain()'s acquire read (in_flight()); the
    // final read after shutdown's joins needs no order.
    external_dead_lettered_.fetch_add(n, memory_order_release);
  }
}

void runtime_core::report_dead_letter(actor_id receiver, const std::type_info& type,
                                      dead_letter_reason reason, actor_id sender) const noexcept {
  if (!config_.on_dead_letter) return;
  try {
    config_.on_dead_letter(dead_letter{receiver, type, reason, sender});
  } catch (...) {
    std::fputs("troupe: the on_dead_letter callback threw; exception ignored\n", stderr);
  }
}

void runtime_core::report_failure(const actor_base& a, std::exception_ptr e) const noexcept {
  try {
    failure f{a.id(), demangled_name(a.actor_type()), e};
    if (config_.on_failure) {
      config_.on_failure(f);
    } else {
      std::fprintf(stderr, "troupe: %s\n", to_string(f).c_str());
    }
  } catch (...) {
    std::fputs("troupe: the on_failure callback threw; exception ignored\n", stderr);
  }
}

shutdown_report runtime_core::shutdown(std::optional<std::chrono::milliseconds> limit) {
  if (current_worker_of(this) != nullptr) {
    throw error(
        "shutdown() called on one of this runtime's own workers (inside a handler); it "
        "would wait for the very worker it runs on. Call it from a thread outside this "
        "runtime.");
  }
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  std::lock_guard lock(shutdown_mu_);
  shutdown_report report;
  if (shut_down_) {
    report.complete = !abandoned();
    return report;
  }
  if (limit && limit->count() < 0) limit = std::chrono::milliseconds(0);
  const auto deadline = limit ? start + *limit : clock::time_point::max();
  turn_watch watch(worker_count());
  // From this instant no spawn succeeds; then the work in flight finishes before anyone
  // is closed, so messages between live actors are delivered, not dead-lettered.
  registry_.refuse_adds();
  names_.refuse_adds();  // register_name() throws too, as spawn() does
  // With a deadline, the drain may take half of it: the closes need time too.
  report.drained =
      drain(limit ? std::min(config_.drain_timeout, *limit / 2) : config_.drain_timeout, watch);
  registry_.close_all(deadline);
  bool stopped = wait_stopped(deadline, watch);
  if (!stopped) {
    // The deadline passed: what is still running is killed (at its next turn boundary, or
    // its next receive or await), and given kill_grace to stop.
    report.deadline_passed = true;
    const auto at = clock::now();
    watch.look(workers_, at);
    const std::vector<turn_watch::sighting> seen_at_deadline = watch.seen();
    const std::vector<actor_base*> live = registry_.pin_live();
    // A sighting names a listed actor only if its worker still runs the same handler now
    // that the actor is pinned (turn_record.hpp); forget the others.
    std::vector<turn_watch::sighting> running = seen_at_deadline;
    for (std::size_t i = 0; i < running.size(); ++i) {
      if (!turn_watch::still_running(*workers_[i], running[i])) running[i] = {};
    }
    for (actor_base* a : live) a->kill_for_deadline();
    stopped = wait_stopped(clock::now() + runtime::kill_grace, watch);
    describe_stragglers(live, running, at, report);
    for (actor_base* a : live) a->release();
  }
  // No actor is left to wait for a timeout (or those left are abandoned); pending ask()
  // timeouts of outside threads are discarded too (their requests were handled or
  // dead-lettered, which settles the result).
  timers_.stop();
  watchdog_.stop();
  // Every actor has stopped, and a stopped actor is never scheduled again, so no work can
  // appear from here on: the workers may leave as soon as they find nothing to do.
  // seq_cst: pairs with the workers' re-check in the idle protocol (INV-IDLE-3).
  stopping_.store(true, memory_order_seq_cst);
  idle_.wake_all();
  shut_down_ = true;
  if (!stopped) {
    // A handler did not return even after the kill: its worker cannot be joined, and
    // whatever it touches (this core, its actors, the pools) must stay. Abandon them.
    // relaxed: read by this runtime's owner (~runtime) after this call returned to it.
    abandoned_.store(true, memory_order_relaxed);
    for (auto& w : workers_) w->detach();
    report.complete = false;
    report.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return report;
  }
  for (auto& w : workers_) w->join();
  // The workers are gone (join() synchronized with them): return their reference credit.
  // release: as in release_actor_ref(); not final, the runtime object still holds one.
  for (unsigned i = 0; i < worker_count(); ++i) {
    refs_.fetch_sub(std::exchange(credits_[i].n, 0), memory_order_release);
  }
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  return report;
}

bool runtime_core::abandoned() const noexcept {
  // relaxed: see shutdown().
  return abandoned_.load(memory_order_relaxed);
}

bool runtime_core::wait_stopped(std::chrono::steady_clock::time_point until, turn_watch& watch) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto next_note = started + std::chrono::seconds(10);
  for (;;) {
    const auto now = clock::now();
    if (now >= until) return registry_.wait_all_stopped(now);
    watch.look(workers_, now);
    if (until == clock::time_point::max() && now >= next_note) {
      // Without a deadline shutdown() waits as long as it takes; say who it waits for.
      next_note = now + std::chrono::minutes(1);
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - started);
      std::fprintf(stderr,
                   "troupe: shutdown() has waited %lld s for actors to stop (use "
                   "shutdown(deadline) to bound it)\n",
                   static_cast<long long>(waited.count()));
      for (std::size_t i = 0; i < watch.seen().size(); ++i) {
        const std::optional<stuck_handler> h = turn_watch::identify(
            registry_, *workers_[i], static_cast<unsigned>(i), watch.seen()[i], now);
        if (!h) continue;
        std::fprintf(stderr, "troupe:   worker %u: actor %s (id %llu) %s%s for at least %lld ms\n",
                     h->worker, h->actor_type.c_str(), static_cast<unsigned long long>(h->actor),
                     h->message_type.empty() ? "running, between messages," : "handling ",
                     h->message_type.c_str(), static_cast<long long>(h->running_for.count()));
      }
    }
    if (registry_.wait_all_stopped(std::min(until, now + std::chrono::milliseconds(10)))) {
      return true;
    }
  }
}

void runtime_core::describe_stragglers(const std::vector<actor_base*>& live,
                                       const std::vector<turn_watch::sighting>& seen,
                                       std::chrono::steady_clock::time_point at,
                                       shutdown_report& r) const {
  struct entry {
    actor_base* a;
    const turn_watch::sighting* running;  // the worker running it at the deadline, if any
  };
  std::vector<entry> entries;
  entries.reserve(live.size());
  for (actor_base* a : live) {
    const turn_watch::sighting* running = nullptr;
    for (const auto& s : seen) {
      if (s.actor == a) running = &s;
    }
    entries.push_back({a, running});
  }
  // In a handler first, longest-running first; then the rest in registry order.
  std::stable_sort(entries.begin(), entries.end(), [](const entry& x, const entry& y) {
    if ((x.running != nullptr) != (y.running != nullptr)) return x.running != nullptr;
    return x.running != nullptr && x.running->since < y.running->since;
  });
  r.stragglers_total = entries.size();
  const std::size_t listed = std::min(entries.size(), shutdown_report::max_stragglers);
  r.stragglers.reserve(listed);
  for (std::size_t i = 0; i < listed; ++i) {
    const entry& e = entries[i];
    shutdown_report::straggler s;
    s.actor = e.a->id();
    s.actor_type = demangled_name(e.a->actor_type());
    if (e.running != nullptr) {
      s.in_handler = true;
      if (e.running->message != nullptr) s.message_type = demangled_name(*e.running->message);
      s.running_for = std::chrono::duration_cast<std::chrono::milliseconds>(at - e.running->since);
    }
    s.stopped = e.a->is_stopped();
    r.stragglers.push_back(std::move(s));
  }
}

std::uint64_t runtime_core::in_flight() const noexcept {
  // A message is done once handled, dead-lettered, or set aside in its actor's stash
  // (delivered: the actor holds it). What has left the system is read first, then what
  // entered it. acquire: pairs with the release stores of worker_counters::add() (and
  // count_dead_letters()); a message we see counted as done was counted as sent before it
  // was pushed, so the reads of `sent` below see its count too: sent >= done, and the
  // difference is what is in flight (or finished between the reads, which only makes us
  // wait longer; for the same reason `unstashed`, which lowers `done`, is read last).
  std::uint64_t done = 0;
  std::uint64_t unstashed = 0;
  for (const auto& w : workers_) {
    const worker_counters& c = w->counters();
    done += c.stashed.load(memory_order_acquire) + c.handled.load(memory_order_acquire) +
            c.dead_lettered.load(memory_order_acquire);
  }
  done += external_dead_lettered_.load(memory_order_acquire);
  for (const auto& w : workers_) {
    // relaxed: a stash leaves only what entered it (stashed >= unstashed per message);
    // a late read can only raise this and make the drain more careful.
    unstashed += w->counters().unstashed.load(memory_order_relaxed);
  }
  done = done > unstashed ? done - unstashed : 0;
  std::uint64_t sent = 0;
  for (const auto& w : workers_) {
    // relaxed: ordered after the acquire loads above, which is all the argument needs.
    sent += w->counters().sent.load(memory_order_relaxed);
  }
  // relaxed: as above.
  sent += external_sent_.load(memory_order_relaxed);
  return sent > done ? sent - done : 0;
}

bool runtime_core::drain(std::chrono::milliseconds limit, turn_watch& watch) {
  // Quiescence is read from the counters the send and dispatch paths keep anyway, so
  // detecting it costs those paths nothing. A send counted but not yet visible to us could
  // make one sample look balanced; two equal, balanced samples a moment apart rule that
  // out in practice (a counter store is visible within nanoseconds), and a premature end
  // only means a message becomes a dead letter, as without a drain.
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + limit;
  auto pause = std::chrono::microseconds(50);
  std::uint64_t last = in_flight();
  for (;;) {
    const auto t = clock::now();
    if (t >= until) break;
    watch.look(workers_, t);
    std::this_thread::sleep_for(pause);
    const std::uint64_t now = in_flight();
    if (now == 0 && last == 0) return true;
    last = now;
    pause = std::min(pause * 2, std::chrono::microseconds(5'000));
  }
  if (in_flight() == 0) return true;
  if (limit.count() != 0) {
    std::fprintf(stderr,
                 "troupe: shutdown(): %llu messages still in flight after the drain limit of "
                 "%lld ms (runtime_config::drain_timeout, or half of a shutdown deadline); closing "
                 "every actor anyway\n",
                 static_cast<unsigned long long>(in_flight()),
                 static_cast<long long>(limit.count()));
  }
  return false;
}

stack_pool& runtime_core::fiber_stacks(std::size_t size) {
  const std::size_t rounded = stack_pool::usable_size(size);  // throws above the maximum
  std::lock_guard lock(stacks_mu_);
  for (auto& p : stack_pools_) {
    if (p->stack_size() == rounded) return *p;
  }
  stack_pools_.push_back(std::make_unique<stack_pool>(stack_pool_config{.stack_size = rounded}));
  return *stack_pools_.back();
}

stack_pool& fiber_stacks_of(runtime_core* core, std::size_t size) {
  return core->fiber_stacks(size);
}

runtime_stats runtime_core::stats() const {
  runtime_stats s;
  for (const auto& w : workers_) {
    const worker_counters& c = w->counters();
    // relaxed: a snapshot; exact after shutdown because join() synchronizes.
    s.sent += c.sent.load(memory_order_relaxed);
    s.handled += c.handled.load(memory_order_relaxed);
    s.dead_lettered += c.dead_lettered.load(memory_order_relaxed);
    s.steals += c.steals.load(memory_order_relaxed);
    s.parks += c.parks.load(memory_order_relaxed);
    s.muted += c.muted.load(memory_order_relaxed);
  }
  // relaxed: as above.
  s.sent += external_sent_.load(memory_order_relaxed);
  s.dead_lettered += external_dead_lettered_.load(memory_order_relaxed);
  const auto t = registry_.totals();
  s.spawned = t.spawned;
  s.stopped = t.stopped;
  s.failed = t.failed;
  s.timers_cancelled_by_stop = timers_.cancelled_by_stop();
  return s;
}

}  // namespace troupe::detail
