// BM_Skynet — guards spawning from inside handlers at scale and the whole actor life cycle:
// construct, register, first message, reply, close, stop, reclaim — 1,111,111 times, with
// the tree's fan-out giving the workers plenty to steal.
//
// Workload: the skynet tree. The root covers ordinals [0, 1'000'000); every actor with a
// range of size > 1 spawns 10 children on the 10 tenths of its range and sends each a
// Start; a leaf (size 1) replies its ordinal to its parent; a parent sums its 10 replies
// and replies the sum. Every actor closes itself after replying. items = actors
// (1,111,111 at scale 1). Verified: the root's sum is 499999500000 (n(n-1)/2), and after
// shutdown stats show every actor spawned and stopped and every message handled.
//
// Baseline: CAF 0.17 skynet with 2 workers on this machine class ≈ 2 s per tree, i.e.
// ≈ 0.56 M actors/s (issue 3 reference figure); target ≥ 10× that (≤ 0.2 s per tree).
#include <cstdint>

#include "bench_options.hpp"

namespace {

constexpr std::uint64_t kFanOut = 10;

struct Start {};
struct Sum {
  std::uint64_t value;
};

struct Node : troupe::actor<Node, Start, Sum> {
  Node(handle parent, std::uint64_t first, std::uint64_t size,
       bench::completion<std::uint64_t>* done)
      : parent_(std::move(parent)), first_(first), size_(size), done_(done) {}

  void on(Start) {
    if (size_ == 1) {
      reply(first_);
      return;
    }
    const std::uint64_t child = size_ / kFanOut;
    for (std::uint64_t i = 0; i < kFanOut; ++i) {
      spawn<Node>(self(), first_ + i * child, child, done_).send(Start{});
    }
  }

  void on(Sum s) {
    sum_ += s.value;
    if (++replies_ == kFanOut) reply(sum_);
  }

  void reply(std::uint64_t v) {
    if (parent_) {
      parent_.send(Sum{v});
    } else {
      done_->set(v);
    }
    self().close();
  }

  handle parent_;  // empty for the root
  std::uint64_t first_;
  std::uint64_t size_;
  bench::completion<std::uint64_t>* done_;
  std::uint64_t sum_ = 0;
  std::uint64_t replies_ = 0;
};

/// Leaves are `leaves` = 10^k; the tree has (10^(k+1) - 1) / 9 actors.
std::uint64_t leaves_for_scale() {
  std::uint64_t want = bench::scaled(1'000'000), leaves = 1;
  while (leaves * kFanOut <= want) leaves *= kFanOut;
  return leaves;
}

void BM_Skynet(benchmark::State& state) {
  const std::uint64_t leaves = leaves_for_scale();
  const std::uint64_t actors = (leaves * kFanOut - 1) / (kFanOut - 1);
  const std::uint64_t expected = leaves * (leaves - 1) / 2;
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<std::uint64_t> done;

    const auto t0 = bench::steady::now();
    rt.spawn<Node>(Node::handle{}, std::uint64_t{0}, leaves, &done).send(Start{});
    const std::uint64_t sum = done.wait("BM_Skynet");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    const troupe::runtime_stats s = rt.stats();
    if (!bench::check(
            state, sum == expected,
            "BM_Skynet: sum " + std::to_string(sum) + ", expected " + std::to_string(expected)) ||
        !bench::check(state, s.spawned == actors && s.stopped == actors,
                      "BM_Skynet: spawned " + std::to_string(s.spawned) + ", stopped " +
                          std::to_string(s.stopped) + ", expected " + std::to_string(actors)) ||
        // one Start per actor, one Sum per actor but the root
        !bench::check_stats(state, s, 2 * actors - 1, "BM_Skynet")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * actors));
  state.counters["actors"] = static_cast<double>(actors);
}

}  // namespace

BENCHMARK(BM_Skynet)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
