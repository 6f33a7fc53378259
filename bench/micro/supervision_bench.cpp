// bench/micro/supervision_bench.cpp — what a restart costs (supervisor.hpp).
//
// BM_SupervisedRestart: restarts per second of a one_for_one child that fails on every
//   message. Workload: a runtime with `workers` workers (the argument); a supervisor with an
//   intensity that is never reached; the benchmark thread sends 2,000 failing messages per
//   iteration and waits until the child has been restarted 2,000 times (counted in its
//   on_start()). Each restart is: the failure report (on_failure, set to a no-op), the old
//   state's on_stop(), the suspension and the event to the supervisor, the supervisor's
//   decision, the resume through the runtime's queue, the fresh state (`child = T()`), and
//   on_start(). items = restarts.
// BM_RespawnOnDown, the baseline in the same binary: the same failures handled the way a user
//   would without a supervisor — a keeper actor monitors the worker and, on its `down`,
//   spawns a new one, monitors it and sends it the next failing message. items = respawns.
//   (Restart in place keeps the ref, so senders need not learn the new one; the baseline
//   has a single sender, the keeper, so it pays no such cost.)
#include <atomic>
#include <cstdint>
#include <stdexcept>

#include "bench_options.hpp"

namespace {

constexpr std::uint64_t kRestarts = 2'000;

struct Fail {};

std::atomic<std::uint64_t> g_starts{0};
bench::completion<std::uint64_t>* g_done = nullptr;
std::atomic<std::uint64_t> g_target{0};  // written before the sends that reach it

struct Crasher : troupe::actor<Crasher, Fail> {
  void on_start() {
    if (g_starts.fetch_add(1) + 1 == g_target.load()) g_done->set(g_target.load());
  }
  void on(Fail) { throw std::runtime_error("fails on every message"); }
};

troupe::runtime_config quiet(unsigned workers) {
  troupe::runtime_config cfg;
  cfg.workers = workers;
  cfg.on_failure = [](const troupe::failure&) {};
  return cfg;
}

void BM_SupervisedRestart(benchmark::State& state) {
  troupe::runtime rt(quiet(static_cast<unsigned>(state.range(0))));
  bench::completion<std::uint64_t> done;
  g_done = &done;
  g_starts.store(0);
  g_target.store(1);
  auto sup = rt.spawn<troupe::supervisor>(
      troupe::supervisor_options{.max_restarts = 1u << 30, .within = std::chrono::milliseconds(1)});
  auto child = troupe::start_child<Crasher>(sup, {});
  done.wait("BM_SupervisedRestart");  // the first start
  for (auto _ : state) {
    g_target.store(g_starts.load() + kRestarts);
    for (std::uint64_t i = 0; i < kRestarts; ++i) child.send(Fail{});
    if (!bench::check(state, done.wait("BM_SupervisedRestart") == g_target,
                      "BM_SupervisedRestart: restarts lost")) {
      break;
    }
  }
  rt.shutdown();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRestarts));
}

// --- the baseline: respawn on down ----------------------------------------------------------

struct Start {
  std::uint64_t left;
};

struct Worker : troupe::actor<Worker, Fail> {
  void on(Fail) { throw std::runtime_error("fails on every message"); }
};

struct Keeper : troupe::actor<Keeper, Start, troupe::down> {
  explicit Keeper(bench::completion<std::uint64_t>* done) : done_(done) {}
  void on(Start s) {
    left_ = s.left;
    next();
  }
  void on(troupe::down) {
    if (--left_ == 0) {
      done_->set(respawns_);
      return;
    }
    next();
  }
  void next() {
    auto w = spawn<Worker>();
    (void)monitor(w);
    w.send(Fail{});
    ++respawns_;
  }
  bench::completion<std::uint64_t>* done_;
  std::uint64_t left_ = 0;
  std::uint64_t respawns_ = 0;
};

void BM_RespawnOnDown(benchmark::State& state) {
  troupe::runtime rt(quiet(static_cast<unsigned>(state.range(0))));
  bench::completion<std::uint64_t> done;
  auto keeper = rt.spawn<Keeper>(&done);
  std::uint64_t expected = 0;
  for (auto _ : state) {
    keeper.send(Start{kRestarts});
    expected += kRestarts;
    if (!bench::check(state, done.wait("BM_RespawnOnDown") == expected,
                      "BM_RespawnOnDown: respawns lost")) {
      break;
    }
  }
  rt.shutdown();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRestarts));
}

}  // namespace

BENCHMARK(BM_SupervisedRestart)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_RespawnOnDown)->Arg(1)->Arg(2)->UseRealTime();
