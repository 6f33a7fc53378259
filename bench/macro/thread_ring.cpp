// BM_ThreadRing — guards the cost of a hop to a *different*, cold actor: every hop wakes an
// actor whose mailbox has been idle for 999 hops, so it measures the idle→runnable
// transition (INV-MAILBOX-2), the LIFO slot hand-off and the cache misses of touching 1,000
// actors in turn, rather than one hot pair as BM_PingPong does.
//
// Workload: 1,000 actors in a ring pass one token 10,000,000 hops (Savina "threadring").
// The benchmark thread gives Token{10'000'000} to actor 0; each actor forwards
// Token{n - 1} to its successor until n == 0, whose holder signals its position.
// items = hops. Verified: the token stops at actor 10,000,000 mod 1,000 = 0, and after
// shutdown stats show 10,000,001 handled (the hops plus the first delivery), no dead letters.
//
// Baseline: CAF 0.17 thread ring with 2 workers on this machine class ≈ 2.9 M hops/s
// (issue 3 reference figure); target ≥ 10× that, i.e. ≥ 29 M hops/s.
#include <cstdint>
#include <vector>

#include "bench_options.hpp"

namespace {

constexpr std::uint32_t kRingSize = 1000;

struct Token {
  std::uint64_t hops_left;
};

struct RingNode : troupe::actor<RingNode, Token> {
  // `next` points into the benchmark's table of handles, filled before the token is given.
  RingNode(std::uint32_t index, const troupe::ref<Token>* next,
           bench::completion<std::uint32_t>* done)
      : index_(index), next_(next), done_(done) {}

  void on(Token t) {
    if (t.hops_left == 0) {
      done_->set(index_);
    } else {
      next_->send(Token{t.hops_left - 1});
    }
  }

  std::uint32_t index_;
  const troupe::ref<Token>* next_;
  bench::completion<std::uint32_t>* done_;
};

void BM_ThreadRing(benchmark::State& state) {
  const std::uint64_t hops = bench::scaled(10'000'000);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<std::uint32_t> done;
    std::vector<troupe::ref<Token>> ring(kRingSize);  // never resized: pointers stay valid
    for (std::uint32_t i = 0; i < kRingSize; ++i) {
      ring[i] = rt.spawn<RingNode>(i, &ring[(i + 1) % kRingSize], &done);
    }

    const auto t0 = bench::steady::now();
    ring[0].send(Token{hops});
    const std::uint32_t last = done.wait("BM_ThreadRing");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    if (!bench::check(state, last == hops % kRingSize,
                      "BM_ThreadRing: token stopped at actor " + std::to_string(last) +
                          ", expected " + std::to_string(hops % kRingSize)) ||
        !bench::check_stats(state, rt.stats(), hops + 1, "BM_ThreadRing")) {
      break;
    }
  }  // the ring's handles die before the runtime (declared after it)
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * hops));
  state.counters["hops"] = static_cast<double>(hops);
}

}  // namespace

BENCHMARK(BM_ThreadRing)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
