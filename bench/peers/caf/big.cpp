// BM_Big (CAF peer of bench/macro/big.cpp) — Savina "big" with its defaults: 120 actors,
// 20,000 pings each. The benchmark thread kicks each actor with (pong, nobody); on each pong
// an actor checks it came from the actor it pinged last, then (until it has sent its 20,000
// pings) sends (ping, itself) to a target drawn by its own seeded generator
// (savina::ping_targets, the same sequence as troupe's). A ping is answered with (pong,
// itself) to the pinger. An actor that has had its last pong reports (done, pings sent, wrong
// pongs) to a sink; when the sink has all 120 it sends each actor (exit), each replies
// (final, pings it received) and quits, and the sink signals. Timed from the first kick to
// that signal. items = messages = pings + pongs = 4,800,000. Verified: every actor sent
// 20,000 pings and got every pong from the actor it pinged; each actor received exactly the
// pings the generator replay (savina::expected_pings_received) says.
#include <cstdint>
#include <vector>

#include "caf_bench.hpp"
#include "savina.hpp"

namespace {

constexpr std::uint32_t kActors = 120;
constexpr std::uint32_t kNobody = ~std::uint32_t{0};

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using exit_atom = caf::atom_constant<caf::atom("exit")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using final_atom = caf::atom_constant<caf::atom("final")>;

struct report {
  std::vector<std::uint64_t> pings_sent = std::vector<std::uint64_t>(kActors, 0);
  std::vector<std::uint64_t> pings_received = std::vector<std::uint64_t>(kActors, 0);
  std::uint64_t wrong_pongs = 0;
};

struct sink_state {
  std::size_t done_count = 0;
  std::size_t final_count = 0;
  report r;
};

// `actors` points into the benchmark's table of handles, filled before the kicks.
caf::behavior sink(caf::stateful_actor<sink_state>* self, const std::vector<caf::actor>* actors,
                   caf_bench::completion<report>* done) {
  return {
      [=](done_atom, std::uint32_t id, std::uint64_t pings_sent, std::uint64_t wrong_pongs) {
        auto& s = self->state;
        s.r.pings_sent[id] = pings_sent;
        s.r.wrong_pongs += wrong_pongs;
        if (++s.done_count == actors->size()) {
          for (const auto& a : *actors) self->send(a, exit_atom::value);
        }
      },
      [=](final_atom, std::uint32_t id, std::uint64_t pings_received) {
        auto& s = self->state;
        s.r.pings_received[id] = pings_received;
        if (++s.final_count == actors->size()) {
          done->set(std::move(s.r));
          self->quit();
        }
      },
  };
}

struct big_state {
  savina::ping_targets targets{savina::kBigSeed, 0};  // reseeded with the actor's index
  std::uint32_t expected = kNobody;                   // the kick's pong comes from nobody
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t wrong = 0;
};

caf::behavior big_actor(caf::stateful_actor<big_state>* self, std::uint32_t id, std::uint64_t pings,
                        const std::vector<caf::actor>* actors, caf::actor sink_actor) {
  self->state.targets = savina::ping_targets(savina::kBigSeed, id);
  return {
      [=](ping_atom, std::uint32_t sender) {
        ++self->state.received;
        self->send((*actors)[sender], pong_atom::value, id);
      },
      [=](pong_atom, std::uint32_t sender) {
        auto& s = self->state;
        if (sender != s.expected) ++s.wrong;
        if (s.sent == pings) {
          self->send(sink_actor, done_atom::value, id, s.sent, s.wrong);
          return;
        }
        s.expected = s.targets.next(static_cast<std::uint32_t>(actors->size()));
        ++s.sent;
        self->send((*actors)[s.expected], ping_atom::value, id);
      },
      [=](exit_atom) {
        self->send(sink_actor, final_atom::value, id, self->state.received);
        self->quit();
      },
  };
}

void BM_Big(benchmark::State& state) {
  const std::uint64_t pings = caf_bench::scaled(20'000);
  const std::uint64_t messages = 2 * kActors * pings;
  const std::vector<std::uint64_t> expected_received =
      savina::expected_pings_received(savina::kBigSeed, kActors, pings);
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<report> done;
    std::vector<caf::actor> actors(kActors);  // never resized: the pointers stay valid
    auto s = w.sys.spawn(sink, &actors, &done);
    for (std::uint32_t i = 0; i < kActors; ++i) {
      actors[i] = w.sys.spawn(big_actor, i, pings, &actors, s);
    }

    const auto t0 = caf_bench::steady::now();
    for (auto& a : actors) caf::anon_send(a, pong_atom::value, kNobody);
    const report r = done.wait("BM_Big");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    s = caf::actor{};
    actors.clear();
    w.sys.await_all_actors_done();
    std::uint32_t wrong_sent = 0, wrong_received = 0;
    for (std::uint32_t i = 0; i < kActors; ++i) {
      wrong_sent += r.pings_sent[i] != pings;
      wrong_received += r.pings_received[i] != expected_received[i];
    }
    if (!caf_bench::check(state, wrong_sent == 0,
                          "BM_Big: " + std::to_string(wrong_sent) + " actors did not send " +
                              std::to_string(pings) + " pings") ||
        !caf_bench::check(state, r.wrong_pongs == 0,
                          "BM_Big: " + std::to_string(r.wrong_pongs) +
                              " pongs came from an actor other than the one pinged") ||
        !caf_bench::check(state, wrong_received == 0,
                          "BM_Big: " + std::to_string(wrong_received) +
                              " actors received a number of pings other than the replay's")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
  state.counters["seed"] = static_cast<double>(savina::kBigSeed);
}

}  // namespace

BENCHMARK(BM_Big)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
