// BM_PingPong — guards the latency of one request/reply hop between two event actors: the
// path the LIFO slot exists for (the actor a handler just woke runs next on the same
// worker, its mailbox and the message node still hot in cache).
//
// Workload: two actors bounce one message 2,000,000 times, exactly one in flight. The
// benchmark thread serves Ball{2'000'000}; each handler sends Ball{n - 1} to the other
// actor until n == 1, whose handler signals completion. items = messages handled.
// Verified: the last ball arrives, and after shutdown stats show 2,000,000 handled,
// sent == handled, no dead letters.
//
// Also BM_PingPongRef/{exact,narrowed} (below): the same rally through a narrowed ref.
//
// Baseline: CAF 0.17 pingpong with 2 workers on this machine class ≈ 3.0 M msg/s
// (issue 3 reference figure); target ≥ 10× that, i.e. ≥ 30 M msg/s.
#include <cstdint>

#include "bench_options.hpp"

namespace {

struct Ball {
  std::uint64_t left;  // messages still to handle, this one included
};

// Both players have the same code. Each learns its peer through a slot the benchmark fills
// before serving (a handle cannot be passed to a constructor before the peer exists).
struct Player : troupe::actor<Player, Ball> {
  Player(const troupe::ref<Ball>* peer, bench::completion<std::uint64_t>* done)
      : peer_(peer), done_(done) {}

  void on(Ball b) {
    if (b.left == 1) {
      done_->set(b.left);
    } else {
      peer_->send(Ball{b.left - 1});
    }
  }

  const troupe::ref<Ball>* peer_;
  bench::completion<std::uint64_t>* done_;
};

void BM_PingPong(benchmark::State& state) {
  const std::uint64_t messages = bench::scaled(2'000'000);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<std::uint64_t> done;
    troupe::ref<Ball> a_peer, b_peer;
    auto a = rt.spawn<Player>(&a_peer, &done);
    auto b = rt.spawn<Player>(&b_peer, &done);
    a_peer = b;  // written before the serve below: each send publishes it to the handler
    b_peer = a;

    const auto t0 = bench::steady::now();
    a.send(Ball{messages});
    const std::uint64_t last = done.wait("BM_PingPong");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    if (!bench::check(state, last == 1, "BM_PingPong: the rally ended early") ||
        !bench::check_stats(state, rt.stats(), messages, "BM_PingPong")) {
      break;
    }
  }  // handles die before the runtime (declared after it)
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
}

// BM_PingPongRef/exact, BM_PingPongRef/narrowed — what a narrowed ref costs a send
// (ref.hpp, "Narrowing"). The same rally as BM_PingPong between actors of two message types;
// each player sends through a ref<Ball, Serve> (exact: spawn's own list) or through a
// ref<Ball> narrowed from it (the actor builds the node: one virtual call). Compare the two
// with callgrind (docs/benchmarks.md); verified as BM_PingPong.
struct Serve {};
struct Player2 : troupe::actor<Player2, Ball, Serve> {
  Player2(const troupe::ref<Ball, Serve>* exact, const troupe::ref<Ball>* narrowed,
          bench::completion<std::uint64_t>* done)
      : exact_(exact), narrowed_(narrowed), done_(done) {}

  void on(Ball b) {
    if (b.left == 1) {
      done_->set(b.left);
    } else if (narrowed_ != nullptr) {
      narrowed_->send(Ball{b.left - 1});
    } else {
      exact_->send(Ball{b.left - 1});
    }
  }
  void on(Serve) {}

  const troupe::ref<Ball, Serve>* exact_;
  const troupe::ref<Ball>* narrowed_;
  bench::completion<std::uint64_t>* done_;
};

void BM_PingPongRef(benchmark::State& state, bool narrowed) {
  const std::uint64_t messages = bench::scaled(2'000'000);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<std::uint64_t> done;
    troupe::ref<Ball, Serve> a_exact, b_exact;
    troupe::ref<Ball> a_narrowed, b_narrowed;
    auto a = rt.spawn<Player2>(&a_exact, narrowed ? &a_narrowed : nullptr, &done);
    auto b = rt.spawn<Player2>(&b_exact, narrowed ? &b_narrowed : nullptr, &done);
    a_exact = b;
    b_exact = a;
    a_narrowed = b;
    b_narrowed = a;

    const auto t0 = bench::steady::now();
    a.send(Ball{messages});
    const std::uint64_t last = done.wait("BM_PingPongRef");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    if (!bench::check(state, last == 1, "BM_PingPongRef: the rally ended early") ||
        !bench::check_stats(state, rt.stats(), messages, "BM_PingPongRef")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
}

}  // namespace

BENCHMARK(BM_PingPong)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_PingPongRef, exact, false)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_PingPongRef, narrowed, true)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
