// BM_ForkJoinThroughput — guards the external-sender path at volume: one thread outside the
// pool (the benchmark thread, as Savina's driver is) feeds 60 actors round-robin, so every
// send is a cross-thread push, and most wake an idle actor that a worker must pick up from
// the injection queue or steal; the handlers are trivial, so the runtime's cost per message
// is what is measured.
//
// Workload (Savina "fjthrput", issue 3's sizes): 60 event actors; the benchmark thread
// sends 6,000,000 Work messages round-robin (100,000 per actor); each causes Savina's tiny
// computation sin(37.2)^2 (savina::fork_join_work). An actor signals when it has handled its
// 100,000th message; the run ends when all 60 have. Timed from the first send to the last
// actor's signal. items = messages.
// Verified: every actor handled exactly its share (its count, written at on_stop, is read
// after shutdown) and every computation was positive (Savina's check); stats show 6,000,000
// handled and no dead letters.
//
// BM_ForkJoinThroughputActorSender: the same workload with the sender an actor in the pool
// whose one handler sends all 6,000,000 messages in the same round-robin loop (a fan-out
// written the way a user writes it): every send is a worker's send to another actor, each
// to a different actor than the one before (so the outbox never chains), and the sender's
// worker is busy for the whole run, so the others take the woken actors from its deque.
// Timed from the Start message to the last actor's signal; stats also count the Start.
//
// Peer: bench/peers/caf/fork_join.cpp does the same work. Baseline: CAF 0.17 with 2 workers
// on this machine class ≈ 3.9 M msg/s (issue 3 reference figure); target ≥ 10× that.
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench_options.hpp"
#include "savina.hpp"

namespace {

constexpr std::uint32_t kActors = 60;

struct Work {};

struct join_point {
  // Counts down as actors finish their share; the actor that takes it to 0 signals.
  std::atomic<std::uint32_t> pending{kActors};
  // Actors whose computations were not all positive.
  std::atomic<std::uint32_t> bad{0};
  bench::completion<bool> done;
};

struct Worker : troupe::actor<Worker, Work> {
  Worker(double theta, std::uint64_t expected, join_point* j, std::uint64_t* handled_out)
      : theta_(theta), expected_(expected), join_(j), handled_out_(handled_out) {}

  void on(Work) {
    if (savina::fork_join_work(theta_) <= 0) ++non_positive_;
    if (++handled_ == expected_) {
      // relaxed: read by the benchmark thread only after done.wait(), whose mutex orders it.
      if (non_positive_ != 0) join_->bad.fetch_add(1, std::memory_order_relaxed);
      // acq_rel: the last decrement must see every other actor's `bad` increment (each made
      // before its own decrement) before it signals.
      if (join_->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) join_->done.set(true);
    }
  }
  // Read by the benchmark thread after rt.shutdown(), which joins the workers.
  void on_stop() { *handled_out_ = handled_; }

  double theta_;
  std::uint64_t expected_;
  join_point* join_;
  std::uint64_t* handled_out_;
  std::uint64_t handled_ = 0;
  std::uint64_t non_positive_ = 0;
};

struct Start {};

// Sends `per_actor` rounds of one Work to every worker, in one handler.
struct Sender : troupe::actor<Sender, Start> {
  Sender(std::vector<troupe::ref<Work>> workers, std::uint64_t per_actor)
      : workers_(std::move(workers)), per_actor_(per_actor) {}

  void on(Start) {
    for (std::uint64_t m = 0; m < per_actor_; ++m) {
      for (auto& w : workers_) w.send(Work{});
    }
  }

  std::vector<troupe::ref<Work>> workers_;
  std::uint64_t per_actor_;
};

enum class sender_kind { outside_thread, actor };

void fork_join(benchmark::State& state, sender_kind kind, const char* name) {
  const std::uint64_t per_actor = bench::scaled(6'000'000) / kActors;
  const std::uint64_t total = per_actor * kActors;
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    join_point j;
    std::vector<std::uint64_t> handled(kActors, 0);
    std::vector<Worker::handle> workers;
    workers.reserve(kActors);
    for (std::uint32_t i = 0; i < kActors; ++i) {
      workers.push_back(rt.spawn<Worker>(savina::kForkJoinTheta, per_actor, &j, &handled[i]));
    }

    Sender::handle sender;
    if (kind == sender_kind::actor) {
      sender = rt.spawn<Sender>(std::vector<troupe::ref<Work>>(workers.begin(), workers.end()),
                                per_actor);
    }

    const auto t0 = bench::steady::now();
    if (kind == sender_kind::actor) {
      sender.send(Start{});
    } else {
      for (std::uint64_t m = 0; m < per_actor; ++m) {
        for (auto& w : workers) w.send(Work{});
      }
    }
    j.done.wait(name);
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    std::uint32_t wrong_counts = 0;
    for (std::uint64_t h : handled) wrong_counts += h != per_actor;
    const std::string n = name;
    const std::uint64_t starts = kind == sender_kind::actor ? 1 : 0;
    if (!bench::check(state, wrong_counts == 0,
                      n + ": " + std::to_string(wrong_counts) +
                          " actors handled a count other than " + std::to_string(per_actor)) ||
        !bench::check(state, j.bad.load() == 0,
                      n + ": a computation returned a non-positive result") ||
        !bench::check_stats(state, rt.stats(), total + starts, name)) {
      break;
    }
  }  // the handles die before the runtime (declared after it)
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
}

void BM_ForkJoinThroughput(benchmark::State& state) {
  fork_join(state, sender_kind::outside_thread, "BM_ForkJoinThroughput");
}
void BM_ForkJoinThroughputActorSender(benchmark::State& state) {
  fork_join(state, sender_kind::actor, "BM_ForkJoinThroughputActorSender");
}

}  // namespace

BENCHMARK(BM_ForkJoinThroughput)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ForkJoinThroughputActorSender)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
