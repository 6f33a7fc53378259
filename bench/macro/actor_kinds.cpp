// BM_KindPingPong/<kind>, BM_KindFanIn/<kind>, BM_KindIdleBytes/<kind> — the three actor
// kinds (event, coroutine, blocking) side by side in one run, on the same workload each:
// what a message costs each kind, and what an idle actor of each kind costs in memory.
//
// Workloads (kind = the kind of the actors measured; everything else is identical):
//   BM_KindPingPong  two actors of the kind bounce one message 1,000,000 times, one in
//                    flight (as BM_PingPong). items = messages.
//   BM_KindFanIn     2 event-actor producers send 2,000,000 messages each, in chunks of
//                    1,000, to one counter of the kind (as BM_FanIn). items = messages.
//   BM_KindIdleBytes spawn 100,000 actors of the kind and let each reach its idle state
//                    (event: handled one message; coroutine: suspended in co_await recv();
//                    blocking: its fiber parked in recv()), then read the resident set.
//                    bytes_per_actor = (VmRSS then − VmRSS before) / actors. items = actors.
// Verified: counts, per-sender order (fan-in), and after shutdown stats show every message
// handled and no dead letters.
//
// Targets (issue 4): per message on ping-pong, a blocking actor at most 2× an event actor,
// a coroutine actor at most 1.5×. Compare the medians of the same run (docs/benchmarks.md).
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "bench_options.hpp"
#include "fan_in_producer.hpp"

namespace {

using namespace bench::fan_in;  // NOLINT: the shared producer side of the workload

struct Ball {
  std::uint64_t left;  // messages still to handle, this one included
};

// What every ping-pong player of every kind does with a ball.
struct rally {
  const troupe::ref<Ball>* peer;
  bench::completion<std::uint64_t>* done;
  void hit(Ball b) const {
    if (b.left == 1) {
      done->set(b.left);
    } else {
      peer->send(Ball{b.left - 1});
    }
  }
};

struct EventPlayer : troupe::actor<EventPlayer, Ball> {
  explicit EventPlayer(rally r) : r_(r) {}
  void on(Ball b) { r_.hit(b); }
  rally r_;
};

struct CoroPlayer : troupe::coro_actor<CoroPlayer, Ball> {
  explicit CoroPlayer(rally r) : r_(r) {}
  task run() {
    for (;;) {
      const Ball b = co_await recv();
      r_.hit(b);
    }
  }
  rally r_;
};

struct BlockingPlayer : troupe::blocking_actor<BlockingPlayer, Ball> {
  explicit BlockingPlayer(rally r) : r_(r) {}
  void run() {
    for (;;) r_.hit(recv());
  }
  rally r_;
};

template <class Player>
void BM_KindPingPong(benchmark::State& state) {
  const std::uint64_t messages = bench::scaled(1'000'000);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<std::uint64_t> done;
    troupe::ref<Ball> a_peer, b_peer;
    auto a = rt.spawn<Player>(rally{&a_peer, &done});
    auto b = rt.spawn<Player>(rally{&b_peer, &done});
    a_peer = b;
    b_peer = a;

    const auto t0 = bench::steady::now();
    a.send(Ball{messages});
    const std::uint64_t last = done.wait("BM_KindPingPong");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    if (!bench::check(state, last == 1, "BM_KindPingPong: the rally ended early") ||
        !bench::check_stats(state, rt.stats(), messages, "BM_KindPingPong")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * messages));
  state.counters["messages"] = static_cast<double>(messages);
}

// ---- fan-in ---------------------------------------------------------------------------

struct tally {
  std::uint64_t count = 0;
  std::uint64_t out_of_order = 0;
};

// What every counter of every kind does with an Add.
struct counting {
  std::uint64_t expected;
  bench::completion<tally>* done;
  tally t;
  std::uint32_t next_seq[kProducers] = {};
  void count(Add a) {
    if (a.seq != ++next_seq[a.producer]) ++t.out_of_order;
    if (++t.count == expected) done->set(t);
  }
};

struct EventCounter : troupe::actor<EventCounter, Add> {
  explicit EventCounter(counting c) : c_(c) {}
  void on(Add a) { c_.count(a); }
  counting c_;
};

struct CoroCounter : troupe::coro_actor<CoroCounter, Add> {
  explicit CoroCounter(counting c) : c_(c) {}
  task run() {
    for (;;) {
      const Add a = co_await recv();
      c_.count(a);
    }
  }
  counting c_;
};

struct BlockingCounter : troupe::blocking_actor<BlockingCounter, Add> {
  explicit BlockingCounter(counting c) : c_(c) {}
  void run() {
    for (;;) c_.count(recv());
  }
  counting c_;
};

template <class Counter>
void BM_KindFanIn(benchmark::State& state) {
  const std::uint64_t per_producer = bench::scaled(2'000'000);
  const std::uint64_t total = kProducers * per_producer;
  const std::uint64_t continues = bench::fan_in::continues(per_producer);
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<tally> done;
    auto counter = rt.spawn<Counter>(counting{total, &done, {}});
    Producer::handle producers[kProducers];
    for (std::uint32_t p = 0; p < kProducers; ++p) {
      producers[p] = rt.spawn<Producer>(counter, p, per_producer);
    }

    const auto t0 = bench::steady::now();
    for (auto& p : producers) p.send(Continue{});
    const tally t = done.wait("BM_KindFanIn");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();
    if (!bench::check(state, t.count == total, "BM_KindFanIn: wrong message count") ||
        !bench::check(state, t.out_of_order == 0, "BM_KindFanIn: per-sender order broken") ||
        !bench::check_stats(state, rt.stats(), total + continues, "BM_KindFanIn")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * total));
  state.counters["messages"] = static_cast<double>(total);
}

// ---- idle memory ----------------------------------------------------------------------

struct Touch {};

std::atomic<std::uint64_t> g_idle{0};  // actors that reached their idle state

struct IdleEvent : troupe::actor<IdleEvent, Touch> {
  void on(Touch) { g_idle.fetch_add(1, std::memory_order_relaxed); }
};

struct IdleCoro : troupe::coro_actor<IdleCoro, Touch> {
  task run() {
    g_idle.fetch_add(1, std::memory_order_relaxed);
    for (;;) (void)co_await recv();
  }
};

struct IdleBlocking : troupe::blocking_actor<IdleBlocking, Touch> {
  void run() {
    g_idle.fetch_add(1, std::memory_order_relaxed);
    for (;;) (void)recv();
  }
};

template <class Idle>
void BM_KindIdleBytes(benchmark::State& state) {
  const std::uint64_t actors = bench::scaled(100'000);
  double bytes_sum = 0;
  for (auto _ : state) {
    g_idle.store(0);
    troupe::runtime rt(bench::config());
    const std::uint64_t rss_before = bench::reset_peak_rss();  // trims freed heap first
    const auto t0 = bench::steady::now();
    for (std::uint64_t i = 0; i < actors; ++i) {
      auto a = rt.spawn<Idle>();
      if constexpr (!Idle::starts_at_spawn) a.send(Touch{});
    }
    while (g_idle.load(std::memory_order_relaxed) < actors) std::this_thread::yield();
    state.SetIterationTime(bench::seconds_since(t0));
    const std::uint64_t rss_idle = bench::proc_status_bytes("VmRSS");
    bytes_sum += rss_idle > rss_before
                     ? static_cast<double>(rss_idle - rss_before) / static_cast<double>(actors)
                     : 0.0;
    rt.shutdown();
    const auto s = rt.stats();
    const std::uint64_t handled = Idle::starts_at_spawn ? 0 : actors;
    if (!bench::check(state, rss_before != 0, "BM_KindIdleBytes: cannot read VmRSS") ||
        !bench::check(state, s.spawned == actors && s.stopped == actors,
                      "BM_KindIdleBytes: not every actor spawned and stopped") ||
        !bench::check_stats(state, s, handled, "BM_KindIdleBytes")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * actors));
  state.counters["actors"] = static_cast<double>(actors);
  if (state.iterations() > 0) {
    state.counters["bytes_per_actor"] = bytes_sum / static_cast<double>(state.iterations());
  }
}

template <class F>
void register_kind(const std::string& name, F fn, int iterations) {
  benchmark::RegisterBenchmark(name.c_str(), fn)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(iterations);
}

const bool registered = [] {
  register_kind("BM_KindPingPong/event", BM_KindPingPong<EventPlayer>, 3);
  register_kind("BM_KindPingPong/coroutine", BM_KindPingPong<CoroPlayer>, 3);
  register_kind("BM_KindPingPong/blocking", BM_KindPingPong<BlockingPlayer>, 3);
  register_kind("BM_KindFanIn/event", BM_KindFanIn<EventCounter>, 3);
  register_kind("BM_KindFanIn/coroutine", BM_KindFanIn<CoroCounter>, 3);
  register_kind("BM_KindFanIn/blocking", BM_KindFanIn<BlockingCounter>, 3);
  register_kind("BM_KindIdleBytes/event", BM_KindIdleBytes<IdleEvent>, 1);
  register_kind("BM_KindIdleBytes/coroutine", BM_KindIdleBytes<IdleCoro>, 1);
  register_kind("BM_KindIdleBytes/blocking", BM_KindIdleBytes<IdleBlocking>, 1);
  return true;
}();

}  // namespace
