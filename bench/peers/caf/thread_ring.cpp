// BM_ThreadRing (CAF peer of bench/macro/thread_ring.cpp) — 1,000 event-based actors in a
// ring pass one token 10,000,000 hops (Savina "threadring"). The benchmark thread gives
// (token, 10'000'000) to actor 0; each actor forwards (token, n - 1) to its successor until
// n == 0, whose holder signals its position. items = hops. Verified: the token stops at
// actor 10,000,000 mod 1,000 = 0.
#include <cstdint>
#include <vector>

#include "caf_bench.hpp"

namespace {

constexpr std::uint32_t kRingSize = 1000;

using token_atom = caf::atom_constant<caf::atom("token")>;

// `next` points into the benchmark's table of handles, filled before the token is given.
caf::behavior ring_node(caf::event_based_actor* self, std::uint32_t index, const caf::actor* next,
                        caf_bench::completion<std::uint32_t>* done) {
  return {
      [=](token_atom, std::uint64_t hops_left) {
        if (hops_left == 0) {
          done->set(index);
        } else {
          self->send(*next, token_atom::value, hops_left - 1);
        }
      },
  };
}

void BM_ThreadRing(benchmark::State& state) {
  const std::uint64_t hops = caf_bench::scaled(10'000'000);
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<std::uint32_t> done;
    std::vector<caf::actor> ring(kRingSize);  // never resized: pointers stay valid
    for (std::uint32_t i = 0; i < kRingSize; ++i) {
      ring[i] = w.sys.spawn(ring_node, i, &ring[(i + 1) % kRingSize], &done);
    }

    const auto t0 = caf_bench::steady::now();
    caf::anon_send(ring[0], token_atom::value, hops);
    const std::uint32_t last = done.wait("BM_ThreadRing");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    ring.clear();  // unreferenced actors terminate
    w.sys.await_all_actors_done();
    if (!caf_bench::check(state, last == hops % kRingSize,
                          "BM_ThreadRing: token stopped at actor " + std::to_string(last) +
                              ", expected " + std::to_string(hops % kRingSize))) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * hops));
  state.counters["hops"] = static_cast<double>(hops);
}

}  // namespace

BENCHMARK(BM_ThreadRing)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
