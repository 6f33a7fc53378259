// BM_Chameneos (CAF peer of bench/macro/chameneos.cpp) — Savina "chameneos": a mall actor
// and 100 chameneos with initial colours i % 3. Each chameneo sends the mall (meet, its
// colour, itself). The mall keeps the first of a pair waiting and forwards the second's
// (meet, colour, sender) to it; that one takes the complementary colour (savina::complement),
// sends its partner (change, new colour) and goes back to the mall; the partner adopts the
// colour and goes back too. After 1,000,000 meetings the mall answers every meet with
// (exit); each chameneo replies (count, its meetings, its colour) and quits; the mall
// signals when it has all 100 counts, then quits. Timed from the first (start) to that
// signal. items = meetings. Verified: the mall arranged exactly 1,000,000 meetings; the
// chameneos' counts sum to 2,000,000; the final colours satisfy the game's invariant.
#include <cstdint>
#include <vector>

#include "caf_bench.hpp"
#include "savina.hpp"

namespace {

using savina::colour;

constexpr std::uint32_t kChameneos = 100;

using start_atom = caf::atom_constant<caf::atom("start")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using exit_atom = caf::atom_constant<caf::atom("exit")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

// Colours travel as their underlying byte: CAF 0.17 messages take only types it can
// serialize, and a plain integer needs no announcement.
std::uint8_t to_byte(colour c) { return static_cast<std::uint8_t>(c); }
colour from_byte(std::uint8_t b) { return static_cast<colour>(b); }

struct result {
  std::uint64_t arranged = 0;      // meetings the mall arranged
  std::uint64_t sum_meetings = 0;  // sum of the chameneos' own counts
  savina::colour_counts colours{};
  std::uint32_t coloured = 0;  // chameneos that reported a colour other than faded
};

struct mall_state {
  std::uint64_t left = 0;
  caf::actor waiting;
  std::uint32_t reported = 0;
  result r;
};

caf::behavior mall(caf::stateful_actor<mall_state>* self, std::uint64_t meetings,
                   std::uint32_t chameneos, caf_bench::completion<result>* done) {
  self->state.left = meetings;
  return {
      [=](meet_atom, std::uint8_t c, const caf::actor& from) {
        auto& s = self->state;
        if (s.left == 0) {
          self->send(from, exit_atom::value);
        } else if (!s.waiting) {
          s.waiting = from;
        } else {
          --s.left;
          ++s.r.arranged;
          self->send(s.waiting, meet_atom::value, c, from);
          s.waiting = caf::actor{};
        }
      },
      [=](count_atom, std::uint64_t meetings_of_one, std::uint8_t c) {
        auto& s = self->state;
        s.r.sum_meetings += meetings_of_one;
        if (from_byte(c) != colour::faded) {
          ++s.r.colours[c];
          ++s.r.coloured;
        }
        if (++s.reported == chameneos) {
          done->set(s.r);
          self->quit();
        }
      },
  };
}

struct chameneo_state {
  colour c = colour::faded;
  std::uint64_t meetings = 0;
};

caf::behavior chameneo(caf::stateful_actor<chameneo_state>* self, caf::actor mall_actor,
                       colour initial) {
  self->state.c = initial;
  auto me = [self] { return caf::actor_cast<caf::actor>(self); };
  return {
      [=](start_atom) { self->send(mall_actor, meet_atom::value, to_byte(self->state.c), me()); },
      [=](meet_atom, std::uint8_t other, const caf::actor& from) {
        auto& s = self->state;
        s.c = savina::complement(s.c, from_byte(other));
        ++s.meetings;
        self->send(from, change_atom::value, to_byte(s.c));
        self->send(mall_actor, meet_atom::value, to_byte(s.c), me());
      },
      [=](change_atom, std::uint8_t c) {
        auto& s = self->state;
        s.c = from_byte(c);
        ++s.meetings;
        self->send(mall_actor, meet_atom::value, to_byte(s.c), me());
      },
      [=](exit_atom) {
        auto& s = self->state;
        self->send(mall_actor, count_atom::value, s.meetings, to_byte(s.c));
        s.c = colour::faded;
        self->quit();
      },
  };
}

void BM_Chameneos(benchmark::State& state) {
  const std::uint64_t meetings = caf_bench::scaled(1'000'000);
  const savina::colour_counts initial = savina::initial_colour_counts(kChameneos);
  for (auto _ : state) {
    caf_bench::actor_world w;
    caf_bench::completion<result> done;
    auto m = w.sys.spawn(mall, meetings, kChameneos, &done);
    std::vector<caf::actor> chameneos;
    chameneos.reserve(kChameneos);
    for (std::uint32_t i = 0; i < kChameneos; ++i) {
      chameneos.push_back(w.sys.spawn(chameneo, m, savina::initial_colour(i)));
    }

    const auto t0 = caf_bench::steady::now();
    for (auto& c : chameneos) caf::anon_send(c, start_atom::value);
    const result r = done.wait("BM_Chameneos");
    state.SetIterationTime(caf_bench::seconds_since(t0));

    m = caf::actor{};
    chameneos.clear();
    w.sys.await_all_actors_done();
    auto u = [](std::uint64_t v) { return std::to_string(v); };
    if (!caf_bench::check(state, r.arranged == meetings,
                          "BM_Chameneos: mall arranged " + u(r.arranged) + " meetings, expected " +
                              u(meetings)) ||
        !caf_bench::check(state, r.sum_meetings == 2 * meetings,
                          "BM_Chameneos: chameneos counted " + u(r.sum_meetings) +
                              " meetings, expected " + u(2 * meetings)) ||
        !caf_bench::check(
            state, r.coloured == kChameneos && savina::colours_consistent(initial, r.colours),
            "BM_Chameneos: final colours (" + u(r.colours[0]) + ", " + u(r.colours[1]) + ", " +
                u(r.colours[2]) + ") violate the colour invariant")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * meetings));
  state.counters["meetings"] = static_cast<double>(meetings);
  state.counters["chameneos"] = kChameneos;
}

}  // namespace

BENCHMARK(BM_Chameneos)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
