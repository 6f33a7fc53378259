// BM_Pipeline — backpressure: a fast producer feeding a slow consumer, with the consumer's
// mailbox unbounded (the producer runs ahead and the backlog grows) or bounded to 1,000
// messages (troupe/bounded.hpp: the producer is muted or parked whenever the consumer's
// mailbox is over capacity, and runs again when it has drained to half).
//
// Workload: 10,000,000 small messages (16 bytes) from one producer to one consumer, which
// spends about 60–100 ns of arithmetic on each. Two ways to write the producer:
//   BM_Pipeline/event_chunk  — an event actor that sends 100 per turn, then a Continue to
//                              itself (muted after a turn that filled the mailbox);
//   BM_Pipeline/blocking_loop — a blocking actor that sends all in one loop (its send parks
//                              the fiber while the mailbox is over capacity).
// The suffix /bound:0 is unbounded, /bound:1000 bounded. items = messages consumed.
// Counters: rss_growth_MB — peak RSS during the iteration minus RSS before it (nodes reused
// from an earlier iteration's pool are not counted again: compare variants run in separate
// processes, as docs/benchmarks.md does); max_queued — the largest queue length the consumer
// saw (bounded runs only; sampled every 1,024 messages); muted — times the producer was
// muted or parked.
// Verified: the consumer sees every message once, in send order; after shutdown, stats show
// every send handled and no dead letters.
#include <algorithm>
#include <cstdint>
#include <string>

#include "bench_options.hpp"

namespace {

struct Item {
  std::uint64_t seq;
  std::uint64_t payload;
};
struct Continue {};

struct tally {
  std::uint64_t count = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t max_queued = 0;
  std::uint64_t work = 0;
};

struct Consumer : troupe::actor<Consumer, Item> {
  Consumer(std::uint64_t expected, bench::completion<tally>* done)
      : expected_(expected), done_(done) {}
  void on(Item i) {
    if (i.seq != t_.count) ++t_.out_of_order;
    std::uint64_t x = i.payload | 1;  // the slow part: a short xorshift chain
    for (int k = 0; k < 48; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    t_.work += x;
    if ((++t_.count & 1023) == 0) {
      if (auto q = self().queue_length(); q && *q > t_.max_queued) t_.max_queued = *q;
    }
    if (t_.count == expected_) done_->set(t_);
  }
  std::uint64_t expected_;
  bench::completion<tally>* done_;
  tally t_;
};

struct EventProducer : troupe::actor<EventProducer, Continue> {
  EventProducer(troupe::ref<Item> to, std::uint64_t n) : to_(std::move(to)), total_(n) {}
  void on(Continue) {
    for (int k = 0; k < 100 && sent_ < total_; ++k, ++sent_) to_.send(Item{sent_, sent_ * 31});
    if (sent_ < total_) self().send(Continue{});
  }
  troupe::ref<Item> to_;
  std::uint64_t total_;
  std::uint64_t sent_ = 0;
};
std::uint64_t continues(const EventProducer*, std::uint64_t n) { return (n + 99) / 100; }

struct BlockingProducer : troupe::blocking_actor<BlockingProducer, Continue> {
  BlockingProducer(troupe::ref<Item> to, std::uint64_t n) : to_(std::move(to)), total_(n) {}
  void run() {
    (void)recv();
    for (std::uint64_t i = 0; i < total_; ++i) to_.send(Item{i, i * 31});
  }
  troupe::ref<Item> to_;
  std::uint64_t total_;
};
std::uint64_t continues(const BlockingProducer*, std::uint64_t) { return 1; }

template <class Producer>
void pipeline(benchmark::State& state, const char* name) {
  const std::uint64_t total = bench::scaled(10'000'000);
  const auto bound = static_cast<std::size_t>(state.range(0));
  const std::string n = std::string(name) + "/bound:" + std::to_string(bound);
  tally t;
  double growth_mb = 0;
  std::uint64_t muted = 0;
  for (auto _ : state) {
    const std::uint64_t rss_before = bench::reset_peak_rss();
    troupe::runtime rt(bench::config());
    bench::completion<tally> done;
    troupe::ref<Item> consumer = bound == 0
                                     ? rt.spawn<Consumer>(total, &done)
                                     : rt.spawn<Consumer>(troupe::bounded{bound}, total, &done);
    auto producer = rt.spawn<Producer>(consumer, total);
    const auto t0 = bench::steady::now();
    producer.send(Continue{});
    t = done.wait(n.c_str());
    state.SetIterationTime(bench::seconds_since(t0));
    const std::uint64_t peak = bench::proc_status_bytes("VmHWM");
    if (peak > rss_before) {  // the largest over the iterations
      growth_mb = std::max(growth_mb, static_cast<double>(peak - rss_before) / (1 << 20));
    }
    producer.close();
    rt.shutdown();
    muted = rt.stats().muted;
    if (!bench::check(state, t.count == total, n + ": wrong message count") ||
        !bench::check(state, t.out_of_order == 0,
                      n + ": " + std::to_string(t.out_of_order) + " messages out of order") ||
        !bench::check_stats(state, rt.stats(),
                            total + continues(static_cast<const Producer*>(nullptr), total),
                            n.c_str())) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
  state.counters["rss_growth_MB"] = growth_mb;
  state.counters["max_queued"] = static_cast<double>(t.max_queued);
  state.counters["muted"] = static_cast<double>(muted);
}

void BM_Pipeline_event_chunk(benchmark::State& state) {
  pipeline<EventProducer>(state, "BM_Pipeline/event_chunk");
}
void BM_Pipeline_blocking_loop(benchmark::State& state) {
  pipeline<BlockingProducer>(state, "BM_Pipeline/blocking_loop");
}

}  // namespace

// Bounded first: an unbounded run leaves its backlog's nodes in the pool (see above).
BENCHMARK(BM_Pipeline_event_chunk)
    ->Name("BM_Pipeline/event_chunk")
    ->ArgName("bound")
    ->Arg(1000)
    ->Arg(0)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_Pipeline_blocking_loop)
    ->Name("BM_Pipeline/blocking_loop")
    ->ArgName("bound")
    ->Arg(1000)
    ->Arg(0)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
