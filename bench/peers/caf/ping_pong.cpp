// BM_PingPong (CAF peer of bench/macro/ping_pong.cpp) — two event-based actors bounce one
// message 2,000,000 times, exactly one in flight. The benchmark thread serves
// (ball, 2'000'000); each handler sends (ball, n - 1) to the other actor until n == 1,
// whose handler signals completion. Timed from the serve to the completion, as troupe's.
// items = messages handled. Verified: the last ball arrives (which takes every one of the
// 2,000,000 hops in turn).
#include <cstdint>

#include "caf_bench.hpp"

namespace {

using ball_atom = caf::atom_constant<caf::atom("ball")>;

// Both players have the same code; each learns its peer through a slot the benchmark fills
// before serving, as in troupe's version.
caf::behavior player(caf::event_based_actor* self, const caf::actor* peer,
                     caf_bench::completion<std::uint64_t>* done) {
  return {
      [=](ball_atom, std::uint64_t left) {
        if (left == 1) {
          done->set(left);
        } else {
          self->send(*peer, ball_atom::value, left - 1);
        }
      },
  };
}

void BM_PingPong(benchmark::State& state) {
  const std::uint64_t messages = caf_bench::scaled(2'000'000);
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<std::uint64_t> done;
    caf::actor a_peer, b_peer;
    auto a = w.sys.spawn(player, &a_peer, &done);
    auto b = w.sys.spawn(player, &b_peer, &done);
    a_peer = b;
    b_peer = a;

    const auto t0 = caf_bench::steady::now();
    caf::anon_send(a, ball_atom::value, messages);
    const std::uint64_t last = done.wait("BM_PingPong");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    a_peer = b_peer = a = b = caf::actor{};  // unreferenced actors terminate
    w.sys.await_all_actors_done();
    if (!caf_bench::check(state, last == 1, "BM_PingPong: the rally ended early")) break;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
}

}  // namespace

BENCHMARK(BM_PingPong)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
