// BM_FanIn (CAF peer of bench/macro/fan_in.cpp) — 2 producer actors each send 10,000,000
// small messages (add, producer, seq) to one counter actor. A producer sends in chunks of
// 1,000 and then sends itself (continue), exactly as troupe's producer does, so it yields
// to the scheduler between chunks. items = messages counted. Verified: the counter sees
// exactly 20,000,000 messages, their sequence numbers sum to the expected total, and each
// producer's messages arrive in send order.
#include <cstdint>

#include "caf_bench.hpp"

namespace {

constexpr unsigned kProducers = 2;
constexpr std::uint64_t kChunk = 1000;

using add_atom = caf::atom_constant<caf::atom("add")>;
using continue_atom = caf::atom_constant<caf::atom("continue")>;

struct tally {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t out_of_order = 0;
};

struct counter_state {
  tally t;
  std::uint32_t next_seq[kProducers] = {};
};

caf::behavior counter(caf::stateful_actor<counter_state>* self, std::uint64_t expected,
                      caf_bench::completion<tally>* done) {
  return {
      [=](add_atom, std::uint32_t producer, std::uint32_t seq) {
        auto& s = self->state;
        if (seq != ++s.next_seq[producer]) ++s.t.out_of_order;
        s.t.sum += seq;
        if (++s.t.count == expected) done->set(s.t);
      },
  };
}

struct producer_state {
  std::uint32_t seq = 0;
  std::uint64_t left = 0;
};

caf::behavior producer(caf::stateful_actor<producer_state>* self, caf::actor target,
                       std::uint32_t id, std::uint64_t count) {
  self->state.left = count;
  return {
      [=](continue_atom) {
        auto& s = self->state;
        const std::uint64_t n = s.left < kChunk ? s.left : kChunk;
        for (std::uint64_t i = 0; i < n; ++i) self->send(target, add_atom::value, id, ++s.seq);
        s.left -= n;
        if (s.left > 0) self->send(self, continue_atom::value);
      },
  };
}

void BM_FanIn(benchmark::State& state) {
  const std::uint64_t per_producer = caf_bench::scaled(10'000'000);
  const std::uint64_t total = kProducers * per_producer;
  const std::uint64_t expected_sum = kProducers * (per_producer * (per_producer + 1) / 2);
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<tally> done;
    auto c = w.sys.spawn(counter, total, &done);
    caf::actor producers[kProducers];
    for (std::uint32_t p = 0; p < kProducers; ++p) {
      producers[p] = w.sys.spawn(producer, c, p, per_producer);
    }

    const auto t0 = caf_bench::steady::now();
    for (auto& p : producers) caf::anon_send(p, continue_atom::value);
    const tally t = done.wait("BM_FanIn");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    c = caf::actor{};
    for (auto& p : producers) p = caf::actor{};
    w.sys.await_all_actors_done();
    if (!caf_bench::check(state, t.count == total, "BM_FanIn: wrong message count") ||
        !caf_bench::check(state, t.sum == expected_sum,
                          "BM_FanIn: wrong sum of sequence numbers") ||
        !caf_bench::check(
            state, t.out_of_order == 0,
            "BM_FanIn: " + std::to_string(t.out_of_order) + " messages out of per-sender order")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
}

}  // namespace

BENCHMARK(BM_FanIn)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
