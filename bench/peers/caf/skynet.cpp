// BM_Skynet (CAF peer of bench/macro/skynet.cpp) — the skynet tree. The root covers
// ordinals [0, 1'000'000); every actor with a range of size > 1 spawns 10 children (with
// self->spawn, CAF's default flags) on the 10 tenths of its range and sends each (start);
// a leaf replies its ordinal to its parent; a parent sums its 10 replies and replies the
// sum. Every actor quits after replying. Timed from spawning the root to the root's
// result, as troupe's. items = actors (1,111,111 at scale 1). Verified: the root's sum is
// 499999500000 (n(n-1)/2), which needs every leaf's ordinal and every parent's sum; after
// the run, the actor system's registry counts no running actor.
#include <cstdint>

#include "caf_bench.hpp"

namespace {

constexpr std::uint64_t kFanOut = 10;

using start_atom = caf::atom_constant<caf::atom("start")>;
using sum_atom = caf::atom_constant<caf::atom("sum")>;

struct node_state {
  caf::actor parent;  // invalid for the root
  std::uint64_t sum = 0;
  std::uint64_t replies = 0;
};

void reply(caf::stateful_actor<node_state>* self, std::uint64_t v,
           caf_bench::completion<std::uint64_t>* done) {
  if (self->state.parent) {
    self->send(self->state.parent, sum_atom::value, v);
  } else {
    done->set(v);
  }
  self->quit();
}

caf::behavior node(caf::stateful_actor<node_state>* self, caf::actor parent, std::uint64_t first,
                   std::uint64_t size, caf_bench::completion<std::uint64_t>* done) {
  self->state.parent = std::move(parent);
  return {
      [=](start_atom) {
        if (size == 1) {
          reply(self, first, done);
          return;
        }
        const std::uint64_t child = size / kFanOut;
        for (std::uint64_t i = 0; i < kFanOut; ++i) {
          auto c =
              self->spawn(node, caf::actor_cast<caf::actor>(self), first + i * child, child, done);
          self->send(c, start_atom::value);
        }
      },
      [=](sum_atom, std::uint64_t v) {
        auto& s = self->state;
        s.sum += v;
        if (++s.replies == kFanOut) reply(self, s.sum, done);
      },
  };
}

/// Leaves are `leaves` = 10^k; the tree has (10^(k+1) - 1) / 9 actors.
std::uint64_t leaves_for_scale() {
  std::uint64_t want = caf_bench::scaled(1'000'000), leaves = 1;
  while (leaves * kFanOut <= want) leaves *= kFanOut;
  return leaves;
}

void BM_Skynet(benchmark::State& state) {
  const std::uint64_t leaves = leaves_for_scale();
  const std::uint64_t actors = (leaves * kFanOut - 1) / (kFanOut - 1);
  const std::uint64_t expected = leaves * (leaves - 1) / 2;
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<std::uint64_t> done;

    const auto t0 = caf_bench::steady::now();
    caf::anon_send(w.sys.spawn(node, caf::actor{}, std::uint64_t{0}, leaves, &done),
                   start_atom::value);
    const std::uint64_t sum = done.wait("BM_Skynet");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    w.sys.await_all_actors_done();
    if (!caf_bench::check(
            state, sum == expected,
            "BM_Skynet: sum " + std::to_string(sum) + ", expected " + std::to_string(expected)) ||
        !caf_bench::check(state, w.sys.registry().running() == 0,
                          "BM_Skynet: actors still running after the run")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * actors));
  state.counters["actors"] = static_cast<double>(actors);
}

}  // namespace

BENCHMARK(BM_Skynet)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
