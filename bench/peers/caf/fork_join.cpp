// BM_ForkJoinThroughput (CAF peer of bench/macro/fork_join.cpp; Savina "fjthrput", issue 3's
// sizes) — 60 event-based actors; the benchmark thread, as Savina's driver does, sends
// 6,000,000 messages round-robin (100,000 per actor), each causing Savina's tiny computation
// sin(37.2)^2 (savina::fork_join_work). An actor signals when it has handled its 100,000th
// message; the run ends when all 60 have. Timed from the first send to the last actor's
// signal. items = messages.
// Verified: every actor handled exactly its share (asked after the timed part with a
// request from a scoped actor; CAF keeps no handled-messages statistics) and every
// computation's result was positive (Savina's check).
#include <atomic>
#include <cstdint>
#include <vector>

#include "caf_bench.hpp"
#include "savina.hpp"

namespace {

constexpr std::uint32_t kActors = 60;

using work_atom = caf::atom_constant<caf::atom("work")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

struct join_point {
  // Counts down as actors finish their share; the actor that takes it to 0 signals.
  std::atomic<std::uint32_t> pending{kActors};
  // Actors whose computations were not all positive.
  std::atomic<std::uint32_t> bad{0};
  caf_bench::completion<bool> done;
};

struct worker_state {
  std::uint64_t handled = 0;
  std::uint64_t non_positive = 0;
};

caf::behavior worker(caf::stateful_actor<worker_state>* self, double theta, std::uint64_t expected,
                     join_point* j) {
  return {
      [=](work_atom) {
        auto& s = self->state;
        if (savina::fork_join_work(theta) <= 0) ++s.non_positive;
        if (++s.handled == expected) {
          // relaxed: read by the benchmark thread only after done.wait(), whose mutex orders
          // it.
          if (s.non_positive != 0) j->bad.fetch_add(1, std::memory_order_relaxed);
          // acq_rel: the last decrement must see every other actor's `bad` increment (each
          // made before its own decrement) before it signals.
          if (j->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) j->done.set(true);
        }
      },
      [=](count_atom) { return self->state.handled; },
  };
}

void BM_ForkJoinThroughput(benchmark::State& state) {
  const std::uint64_t per_actor = caf_bench::scaled(6'000'000) / kActors;
  const std::uint64_t total = per_actor * kActors;
  for (auto _ : state) {
    caf_bench::actor_world w;
    join_point j;
    std::vector<caf::actor> workers;
    workers.reserve(kActors);
    for (std::uint32_t i = 0; i < kActors; ++i) {
      workers.push_back(w.sys.spawn(worker, savina::kForkJoinTheta, per_actor, &j));
    }

    const auto t0 = caf_bench::steady::now();
    for (std::uint64_t m = 0; m < per_actor; ++m) {
      for (auto& a : workers) caf::anon_send(a, work_atom::value);
    }
    j.done.wait("BM_ForkJoinThroughput");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    std::uint32_t wrong_counts = 0;
    {
      caf::scoped_actor asker{w.sys};
      for (auto& a : workers) {
        asker->request(a, caf::infinite, count_atom::value)
            .receive([&](std::uint64_t handled) { wrong_counts += handled != per_actor; },
                     [&](const caf::error&) { ++wrong_counts; });
      }
    }
    workers.clear();
    w.sys.await_all_actors_done();
    if (!caf_bench::check(state, wrong_counts == 0,
                          "BM_ForkJoinThroughput: " + std::to_string(wrong_counts) +
                              " actors handled a count other than " + std::to_string(per_actor)) ||
        !caf_bench::check(state, j.bad.load() == 0,
                          "BM_ForkJoinThroughput: a computation returned a non-positive "
                          "result")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
}

}  // namespace

BENCHMARK(BM_ForkJoinThroughput)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
