// bench/micro/runtime_bench.cpp — micro benchmarks of the runtime's hot paths, through the
// public API only (the same code a user's actor runs).
//
// BM_SendDispatchSameWorker guards the cost of one send + dispatch when sender and receiver
//   share a worker: pooled node allocation, the mailbox push (one exchange, no scheduling
//   since the actor is already running), the pop, the handler call, the node's release.
//   Workload: a runtime with 1 worker; one actor sends itself a message from its handler,
//   a chain of 100,000 messages per iteration (one in flight). items = messages.
//   Baseline: BM_MailboxPushPop, the bare mpsc_mailbox push + pop on one thread, in the same
//   binary (bench/micro/lockfree_bench.cpp; about 5 ns for a Vyukov MPSC push+pop on this
//   machine class, design brief). Target (issue 3): within 3× of that baseline.
//   Two variants: the actor keeps its own handle (a member set on first use and dropped in
//   on_stop(), the fast idiom), or calls self() per send (one reference-count increment and
//   decrement more per message).
// BM_SendAcrossWorkers guards sends from a thread outside the pool: the injection queue,
//   waking a parked worker, and draining one mailbox that a foreign thread fills.
//   Workload: a runtime with 2 workers; the benchmark thread sends 100,000 messages per
//   iteration to one actor and waits until it has handled them. items = messages.
//   Baseline: BM_Mailbox2P1C / BM_Moodycamel2P1C in lockfree_bench.cpp (bare queues between
//   threads, no scheduling).
// BM_SpawnIdle guards the cost of spawning one event actor from outside the pool (allocate,
//   construct, register). Workload: one spawn per iteration on a 1-worker runtime; the
//   actors stay alive (idle) until the runtime shuts down outside the timed loop.
//   Baseline: a 32-byte malloc+free ≈ 10 ns on this machine class (design brief).
//
// Each benchmark verifies its result (all messages handled, stats add up) and fails with
// SkipWithError otherwise; a hang aborts with a message (bench_options.hpp).
#include <cstdint>

#include "bench_options.hpp"

namespace {

constexpr std::uint64_t kChain = 100'000;

struct Hop {
  std::uint64_t left;
};

// --- BM_SendDispatchSameWorker -------------------------------------------------------------

struct SelfLooper : troupe::actor<SelfLooper, Hop> {
  explicit SelfLooper(bench::completion<std::uint64_t>* done) : done_(done) {}

  void on(Hop h) {
    if (h.left == 1) {
      done_->set(h.left);
      return;
    }
    if (!me_) me_ = self();
    me_.send(Hop{h.left - 1});
  }
  void on_stop() { me_ = {}; }  // break the self-reference so the actor can be reclaimed

  bench::completion<std::uint64_t>* done_;
  handle me_;
};

struct SelfLooperPerSend : troupe::actor<SelfLooperPerSend, Hop> {
  explicit SelfLooperPerSend(bench::completion<std::uint64_t>* done) : done_(done) {}

  void on(Hop h) {
    if (h.left == 1) {
      done_->set(h.left);
      return;
    }
    self().send(Hop{h.left - 1});
  }

  bench::completion<std::uint64_t>* done_;
};

template <class Looper>
void send_dispatch_same_worker(benchmark::State& state, const char* name) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  troupe::runtime rt(cfg);
  bench::completion<std::uint64_t> done;  // lives until after rt.shutdown() below
  auto actor = rt.spawn<Looper>(&done);
  for (auto _ : state) {
    actor.send(Hop{kChain});
    if (!bench::check(state, done.wait(name) == 1, std::string(name) + ": chain ended early")) {
      break;
    }
  }
  rt.shutdown();
  bench::check_stats(state, rt.stats(), state.iterations() * kChain, name);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kChain));
}

void BM_SendDispatchSameWorker(benchmark::State& state) {
  send_dispatch_same_worker<SelfLooper>(state, "BM_SendDispatchSameWorker");
}
void BM_SendDispatchSameWorker_SelfPerSend(benchmark::State& state) {
  send_dispatch_same_worker<SelfLooperPerSend>(state, "BM_SendDispatchSameWorker_SelfPerSend");
}

// --- BM_SendAcrossWorkers -------------------------------------------------------------------

struct Sink : troupe::actor<Sink, Hop> {
  explicit Sink(bench::completion<std::uint64_t>* done) : done_(done) {}

  void on(Hop h) {
    ++count_;
    if (h.left == 1) done_->set(count_);
  }

  bench::completion<std::uint64_t>* done_;
  std::uint64_t count_ = 0;
};

void BM_SendAcrossWorkers(benchmark::State& state) {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  troupe::runtime rt(cfg);
  bench::completion<std::uint64_t> done;
  auto sink = rt.spawn<Sink>(&done);
  std::uint64_t expected = 0;
  for (auto _ : state) {
    for (std::uint64_t i = kChain; i > 0; --i) sink.send(Hop{i});
    expected += kChain;
    if (!bench::check(state, done.wait("BM_SendAcrossWorkers") == expected,
                      "BM_SendAcrossWorkers: messages lost or reordered")) {
      break;
    }
  }
  rt.shutdown();
  bench::check_stats(state, rt.stats(), state.iterations() * kChain, "BM_SendAcrossWorkers");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kChain));
}

// --- BM_SpawnIdle -----------------------------------------------------------------------------

struct Nop {};
struct IdleActor : troupe::actor<IdleActor, Nop> {
  void on(Nop) {}
};

void BM_SpawnIdle(benchmark::State& state) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  troupe::runtime rt(cfg);
  for (auto _ : state) {
    benchmark::DoNotOptimize(rt.spawn<IdleActor>());
  }
  rt.shutdown();  // after the timed loop
  const troupe::runtime_stats s = rt.stats();
  bench::check(
      state, s.spawned == static_cast<std::uint64_t>(state.iterations()) && s.stopped == s.spawned,
      "BM_SpawnIdle: spawned " + std::to_string(s.spawned) + ", stopped " +
          std::to_string(s.stopped) + ", expected " + std::to_string(state.iterations()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_SendDispatchSameWorker)->UseRealTime();
BENCHMARK(BM_SendDispatchSameWorker_SelfPerSend)->UseRealTime();
BENCHMARK(BM_SendAcrossWorkers)->UseRealTime();
// A fixed count keeps the number of live actors (and the untimed shutdown) bounded.
BENCHMARK(BM_SpawnIdle)->Iterations(1'000'000);
