// BM_FanIn — guards many-to-one throughput: concurrent producers hammering one mailbox
// (the wait-free exchange in push), the consumer's batch loop, node recycling when nodes
// are allocated on one worker and freed on another, and fairness between a busy producer
// and the consumer it feeds.
//
// Workload: 2 producer actors each send 10,000,000 small messages (8 bytes) to one counter
// actor. Two ways to write the producer (fan_in_producer.hpp):
//   BM_FanIn         — chunked: it sends 1,000 and then sends itself a Continue message, as
//                      a user would write a long-running producer, so it yields to the
//                      scheduler between chunks and the per-turn batch limit decides who runs;
//   BM_FanInOneLoop  — one loop: it sends its whole share in one handler, as CAF and Go
//                      fan-in is usually written; the consumer can only start on another
//                      worker, fed by the outbox's periodic push (worker.hpp).
// items = messages counted.
// Verified: the counter sees exactly 20,000,000 messages, their sequence numbers sum to the
// expected total, and each producer's messages arrive in send order (per-sender FIFO);
// after shutdown, stats show every send handled and no dead letters.
//
// Baseline: CAF 0.17 fan-in with 2 workers on this machine class ≈ 5 M msg/s (issue 3
// reference figure); target ≥ 10× that, i.e. ≥ 50 M msg/s.
#include <cstdint>
#include <string>

#include "bench_options.hpp"
#include "fan_in_producer.hpp"

namespace {

using namespace bench::fan_in;  // NOLINT: the shared producer side of the workload

struct tally {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t out_of_order = 0;
};

struct Counter : troupe::actor<Counter, Add> {
  Counter(std::uint64_t expected, bench::completion<tally>* done)
      : expected_(expected), done_(done) {}

  void on(Add a) {
    if (a.seq != ++next_seq_[a.producer]) ++t_.out_of_order;
    t_.sum += a.seq;
    if (++t_.count == expected_) done_->set(t_);
  }

  std::uint64_t expected_;
  bench::completion<tally>* done_;
  tally t_;
  std::uint32_t next_seq_[kProducers] = {};
};

template <class ProducerActor>
void fan_in(benchmark::State& state, const char* name) {
  const std::uint64_t per_producer = bench::scaled(10'000'000);
  const std::uint64_t total = kProducers * per_producer;
  const std::uint64_t expected_sum = kProducers * (per_producer * (per_producer + 1) / 2);
  const std::uint64_t continues =
      bench::fan_in::continues(static_cast<const ProducerActor*>(nullptr), per_producer);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<tally> done;
    auto counter = rt.spawn<Counter>(total, &done);
    typename ProducerActor::handle producers[kProducers];
    for (std::uint32_t p = 0; p < kProducers; ++p) {
      producers[p] = rt.spawn<ProducerActor>(counter, p, per_producer);
    }

    const auto t0 = bench::steady::now();
    for (auto& p : producers) p.send(Continue{});
    const tally t = done.wait(name);
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    const std::string n = name;
    if (!bench::check(state, t.count == total, n + ": wrong message count") ||
        !bench::check(state, t.sum == expected_sum, n + ": wrong sum of sequence numbers") ||
        !bench::check(
            state, t.out_of_order == 0,
            n + ": " + std::to_string(t.out_of_order) + " messages out of per-sender order") ||
        !bench::check_stats(state, rt.stats(), total + continues, name)) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
}

void BM_FanIn(benchmark::State& state) { fan_in<Producer>(state, "BM_FanIn"); }
void BM_FanInOneLoop(benchmark::State& state) { fan_in<OneLoopProducer>(state, "BM_FanInOneLoop"); }

}  // namespace

BENCHMARK(BM_FanIn)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_FanInOneLoop)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
