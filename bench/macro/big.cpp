// BM_Big — guards many-to-many traffic: 120 actors each ping random peers and wait for the
// pong, so every worker's actors send to every other worker's, and most sends wake an idle
// actor on another worker (the many-senders mirror image of BM_ForkJoinThroughput).
//
// Workload (Savina "big", benchmarks/big; Savina's defaults W = 120 actors, N = 20,000 pings
// each, used here unchanged): the benchmark thread kicks each actor with a Pong from nobody;
// on each Pong an actor checks it came from the actor it pinged last, then (until it has sent
// its 20,000 pings) sends Ping{itself} to a target drawn by its own seeded generator
// (savina::ping_targets, seed savina::kBigSeed and the actor's index; the target may be the
// actor itself, as in Savina). A Ping is answered with Pong{itself} to the pinger. An actor
// that has had its last pong reports Done{pings sent, wrong pongs} to a sink; when the sink
// has all 120 it sends each actor Exit (Savina's ending), each replies Final{pings it
// received}, and the sink signals. Timed from the first kick to that signal.
// items = messages = pings + pongs = 2 × 120 × 20,000 = 4,800,000.
// Verified: every actor sent 20,000 pings and got every pong from the actor it pinged; each
// actor received exactly the pings the generator replay (savina::expected_pings_received)
// says; stats show 4,800,000 + 4 × 120 messages handled (kicks, pings, pongs, Done, Exit,
// Final) and no dead letters. The seed is reported as the counter "seed".
//
// Peer: bench/peers/caf/big.cpp does the same work with the same generator.
#include <cstdint>
#include <vector>

#include "bench_options.hpp"
#include "savina.hpp"

namespace {

constexpr std::uint32_t kActors = 120;
constexpr std::uint32_t kNobody = ~std::uint32_t{0};

struct Ping {
  std::uint32_t sender;
};
struct Pong {
  std::uint32_t sender;
};
struct Exit {};
using BigRef = troupe::ref<Ping, Pong, Exit>;

struct Done {
  std::uint32_t id;
  std::uint64_t pings_sent;
  std::uint64_t wrong_pongs;
};
struct Final {
  std::uint32_t id;
  std::uint64_t pings_received;
};

struct report {
  std::vector<std::uint64_t> pings_sent = std::vector<std::uint64_t>(kActors, 0);
  std::vector<std::uint64_t> pings_received = std::vector<std::uint64_t>(kActors, 0);
  std::uint64_t wrong_pongs = 0;
};

// `actors` points into the benchmark's table of handles, filled before the kicks.
struct Sink : troupe::actor<Sink, Done, Final> {
  Sink(const std::vector<BigRef>* actors, bench::completion<report>* done)
      : actors_(actors), done_(done) {}

  void on(Done d) {
    r_.pings_sent[d.id] = d.pings_sent;
    r_.wrong_pongs += d.wrong_pongs;
    if (++done_count_ == actors_->size()) {
      for (const auto& a : *actors_) a.send(Exit{});
    }
  }

  void on(Final f) {
    r_.pings_received[f.id] = f.pings_received;
    if (++final_count_ == actors_->size()) done_->set(std::move(r_));
  }

  const std::vector<BigRef>* actors_;
  bench::completion<report>* done_;
  std::size_t done_count_ = 0;
  std::size_t final_count_ = 0;
  report r_;
};

struct BigActor : troupe::actor<BigActor, Ping, Pong, Exit> {
  BigActor(std::uint32_t id, std::uint64_t pings, const std::vector<BigRef>* actors,
           Sink::handle sink)
      : id_(id),
        pings_(pings),
        actors_(actors),
        sink_(std::move(sink)),
        targets_(savina::kBigSeed, id) {}

  void on(Ping p) {
    ++received_;
    (*actors_)[p.sender].send(Pong{id_});
  }

  void on(Pong p) {
    if (p.sender != expected_) ++wrong_;
    if (sent_ == pings_) {
      sink_.send(Done{id_, sent_, wrong_});
      return;
    }
    expected_ = targets_.next(static_cast<std::uint32_t>(actors_->size()));
    ++sent_;
    (*actors_)[expected_].send(Ping{id_});
  }

  void on(Exit) {
    sink_.send(Final{id_, received_});
    self().close();
  }

  std::uint32_t id_;
  std::uint64_t pings_;
  const std::vector<BigRef>* actors_;
  Sink::handle sink_;
  savina::ping_targets targets_;
  std::uint32_t expected_ = kNobody;  // the kick's Pong comes from nobody
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t wrong_ = 0;
};

void BM_Big(benchmark::State& state) {
  const std::uint64_t pings = bench::scaled(20'000);
  const std::uint64_t messages = 2 * kActors * pings;
  const std::vector<std::uint64_t> expected_received =
      savina::expected_pings_received(savina::kBigSeed, kActors, pings);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<report> done;
    std::vector<BigRef> actors(kActors);  // never resized: the pointers stay valid
    auto sink = rt.spawn<Sink>(&actors, &done);
    for (std::uint32_t i = 0; i < kActors; ++i) {
      actors[i] = rt.spawn<BigActor>(i, pings, &actors, sink);
    }

    const auto t0 = bench::steady::now();
    for (auto& a : actors) a.send(Pong{kNobody});
    const report r = done.wait("BM_Big");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    std::uint32_t wrong_sent = 0, wrong_received = 0;
    for (std::uint32_t i = 0; i < kActors; ++i) {
      wrong_sent += r.pings_sent[i] != pings;
      wrong_received += r.pings_received[i] != expected_received[i];
    }
    if (!bench::check(state, wrong_sent == 0,
                      "BM_Big: " + std::to_string(wrong_sent) + " actors did not send " +
                          std::to_string(pings) + " pings") ||
        !bench::check(state, r.wrong_pongs == 0,
                      "BM_Big: " + std::to_string(r.wrong_pongs) +
                          " pongs came from an actor other than the one pinged") ||
        !bench::check(state, wrong_received == 0,
                      "BM_Big: " + std::to_string(wrong_received) +
                          " actors received a number of pings other than the replay's") ||
        !bench::check_stats(state, rt.stats(), messages + 4 * kActors, "BM_Big")) {
      break;
    }
  }  // the handles die before the runtime (declared after it)
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
  state.counters["seed"] = static_cast<double>(savina::kBigSeed);
}

}  // namespace

BENCHMARK(BM_Big)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
