// BM_Chameneos — guards one contended mailbox in a request/reply cycle: every chameneo keeps
// coming back to one mall actor, so the mall's mailbox takes pushes from all workers while
// the mall forwards each pair's second request to the first (refs travel in messages, as a
// user would write it), and the partners then talk to each other directly.
//
// Workload (Savina "chameneos", benchmarks/chameneos): a mall actor and 100 chameneos
// (Savina's default numChameneos = 100) with initial colours i % 3. Each chameneo sends the
// mall Meet{its colour, itself}. The mall keeps the first of a pair waiting and forwards the
// second's Meet to it; that one takes the complementary colour (savina::complement), sends
// its partner Change{new colour} and goes back to the mall; the partner adopts the colour and
// goes back too. After 1,000,000 meetings (Savina's default is 200,000; scaled up so that a
// CAF iteration takes about a second here) the mall answers every Meet with Exit; each
// chameneo replies Count{its meetings, its colour} and stops; the mall signals when it has
// all 100 counts. Timed from the first Start to that signal. items = meetings.
// Verified: the mall arranged exactly 1,000,000 meetings; the chameneos' meeting counts sum
// to 2,000,000 (both partners count a meeting); the final colours satisfy the game's
// invariant (savina::colours_consistent); stats show 4 × 100 + 4 × 1,000,000 messages
// handled (Start, Meet to the mall, forwarded Meet, Change, Exit, Count) and no dead
// letters.
//
// Peer: bench/peers/caf/chameneos.cpp does the same work.
#include <cstdint>
#include <vector>

#include "bench_options.hpp"
#include "savina.hpp"

namespace {

using savina::colour;

constexpr std::uint32_t kChameneos = 100;

struct Start {};
struct Meet;
struct Change {
  colour c;
};
struct Exit {};
using ChameneoRef = troupe::ref<Start, Meet, Change, Exit>;
struct Meet {
  colour c;
  ChameneoRef from;
};
struct Count {
  std::uint64_t meetings;
  colour c;  // the colour the chameneo had when it was sent home
};

struct result {
  std::uint64_t arranged = 0;      // meetings the mall arranged
  std::uint64_t sum_meetings = 0;  // sum of the chameneos' own counts
  savina::colour_counts colours{};
  std::uint32_t coloured = 0;  // chameneos that reported a colour other than faded
};

struct Mall : troupe::actor<Mall, Meet, Count> {
  Mall(std::uint64_t meetings, std::uint32_t chameneos, bench::completion<result>* done)
      : left_(meetings), chameneos_(chameneos), done_(done) {}

  void on(Meet m) {
    if (left_ == 0) {
      m.from.send(Exit{});
    } else if (!waiting_) {
      waiting_ = std::move(m.from);
    } else {
      --left_;
      ++r_.arranged;
      waiting_.send(std::move(m));
      waiting_ = {};
    }
  }

  void on(Count c) {
    r_.sum_meetings += c.meetings;
    if (c.c != colour::faded) {
      ++r_.colours[static_cast<int>(c.c)];
      ++r_.coloured;
    }
    if (++reported_ == chameneos_) done_->set(r_);
  }

  void on_stop() { waiting_ = {}; }

  std::uint64_t left_;
  std::uint32_t chameneos_;
  bench::completion<result>* done_;
  ChameneoRef waiting_;
  std::uint32_t reported_ = 0;
  result r_;
};

struct Chameneo : troupe::actor<Chameneo, Start, Meet, Change, Exit> {
  Chameneo(Mall::handle mall, colour c) : mall_(std::move(mall)), colour_(c) {}

  void on(Start) { mall_.send(Meet{colour_, self()}); }

  void on(Meet m) {  // the partner's request, forwarded by the mall
    colour_ = savina::complement(colour_, m.c);
    ++meetings_;
    m.from.send(Change{colour_});
    mall_.send(Meet{colour_, self()});
  }

  void on(Change c) {
    colour_ = c.c;
    ++meetings_;
    mall_.send(Meet{colour_, self()});
  }

  void on(Exit) {
    mall_.send(Count{meetings_, colour_});
    colour_ = colour::faded;
    self().close();
  }

  Mall::handle mall_;
  colour colour_;
  std::uint64_t meetings_ = 0;
};

void BM_Chameneos(benchmark::State& state) {
  const std::uint64_t meetings = bench::scaled(1'000'000);
  const savina::colour_counts initial = savina::initial_colour_counts(kChameneos);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<result> done;
    auto mall = rt.spawn<Mall>(meetings, kChameneos, &done);
    std::vector<ChameneoRef> chameneos;
    chameneos.reserve(kChameneos);
    for (std::uint32_t i = 0; i < kChameneos; ++i) {
      chameneos.push_back(rt.spawn<Chameneo>(mall, savina::initial_colour(i)));
    }

    const auto t0 = bench::steady::now();
    for (auto& c : chameneos) c.send(Start{});
    const result r = done.wait("BM_Chameneos");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    auto u = [](std::uint64_t v) { return std::to_string(v); };
    if (!bench::check(state, r.arranged == meetings,
                      "BM_Chameneos: mall arranged " + u(r.arranged) + " meetings, expected " +
                          u(meetings)) ||
        !bench::check(state, r.sum_meetings == 2 * meetings,
                      "BM_Chameneos: chameneos counted " + u(r.sum_meetings) +
                          " meetings, expected " + u(2 * meetings)) ||
        !bench::check(state,
                      r.coloured == kChameneos && savina::colours_consistent(initial, r.colours),
                      "BM_Chameneos: final colours (" + u(r.colours[0]) + ", " + u(r.colours[1]) +
                          ", " + u(r.colours[2]) + ") violate the colour invariant") ||
        !bench::check_stats(state, rt.stats(), 4 * kChameneos + 4 * meetings, "BM_Chameneos")) {
      break;
    }
  }  // the handles die before the runtime (declared after it)
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * meetings));
  state.counters["meetings"] = static_cast<double>(meetings);
  state.counters["chameneos"] = kChameneos;
}

}  // namespace

BENCHMARK(BM_Chameneos)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
