// bench/micro/ask_bench.cpp — the ask() round trip (include/troupe/ask.hpp), next to a plain
// send ping-pong between two event actors, in one binary so the two compare in one run.
//
// BM_PingPongBaseline guards the floor an ask is measured against: event actor A sends a
//   Ball to B, B sends it back to A, 10,000 times per iteration (one in flight). items =
//   round trips (two messages each). Arg = worker threads.
// BM_AskActorToActor guards ask() + then() between two event actors: A asks B, B replies,
//   the continuation runs in A's turn and asks again, 10,000 times per iteration. Per round
//   trip on top of the baseline: the shared state (one pooled allocation), the reply's
//   publish (an RMW on the state word) and its delivery through A's side channel (a CAS
//   push and a CAS on the mailbox head), the continuation node (one pooled allocation).
//   items = round trips. The _Timeout variant adds a timeout to every ask: one timer
//   insertion and one cancellation (a mutex each, on the target runtime's timer service).
// BM_AskCoroutine guards co_await ask() in a coroutine actor: the same round trip, plus a
//   suspension and a resume of the coroutine per reply. items = round trips.
// BM_AskOutsideGet guards ask().get() from a thread outside the pool: the injection queue,
//   waking a worker, and the result's parking-lot wait (a futex sleep and wake per round
//   trip when the reply is not yet in). items = round trips. Baseline: BM_SendAcrossWorkers
//   (runtime_bench.cpp) for the one-way cost of an outside send.
//
// Each benchmark checks its result (the right number of replies, stats add up) and fails
// with SkipWithError otherwise; a hang aborts with a message (harness.hpp).
#include <chrono>
#include <cstdint>
#include <string>

#include "bench_options.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kRoundTrips = 10'000;

troupe::runtime_config workers(benchmark::State& state) {
  troupe::runtime_config c;
  c.workers = static_cast<unsigned>(state.range(0));
  return c;
}

// --- the baseline: send ping-pong ------------------------------------------------------------

struct Ball {
  std::uint64_t left;  // messages still to go
};
struct Player;
struct Peer {
  troupe::ref<Ball, Peer> peer;
};

struct Player : troupe::actor<Player, Ball, Peer> {
  explicit Player(bench::completion<std::uint64_t>* done = nullptr) : done_(done) {}
  void on(Peer p) { peer_ = std::move(p.peer); }
  void on(Ball b) {
    if (b.left == 0) {
      done_->set(kRoundTrips);
      return;
    }
    peer_.send(Ball{b.left - 1});
  }
  void on_stop() { peer_ = {}; }  // break the reference cycle between the two players

  bench::completion<std::uint64_t>* done_;
  troupe::ref<Ball, Peer> peer_;
};

void BM_PingPongBaseline(benchmark::State& state) {
  troupe::runtime rt(workers(state));
  bench::completion<std::uint64_t> done;
  auto a = rt.spawn<Player>(&done);  // receives the even counts, so the final 0
  auto b = rt.spawn<Player>();
  a.send(Peer{b});
  b.send(Peer{a});
  for (auto _ : state) {
    a.send(Ball{2 * kRoundTrips});
    if (!bench::check(state, done.wait("BM_PingPongBaseline") == kRoundTrips,
                      "BM_PingPongBaseline: chain ended early")) {
      break;
    }
  }
  rt.shutdown();
  bench::check_stats(state, rt.stats(), state.iterations() * (2 * kRoundTrips + 1) + 2,
                     "BM_PingPongBaseline");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

// --- ask between event actors ---------------------------------------------------------------

using echo_request = troupe::request<std::uint64_t, std::uint64_t>;

struct Echo : troupe::actor<Echo, echo_request> {
  void on(echo_request r) { r.reply(r.value()); }
};

struct Start {
  std::uint64_t round_trips;
};

template <bool WithTimeout>
struct Asker : troupe::actor<Asker<WithTimeout>, Start> {
  Asker(Echo::handle echo, bench::completion<std::uint64_t>* done)
      : echo_(std::move(echo)), done_(done) {}

  void on(Start s) {
    left_ = s.round_trips;
    replies_ = 0;
    next();
  }

  void next() {
    auto r = WithTimeout ? troupe::ask(echo_, left_, 10s) : troupe::ask(echo_, left_);
    std::move(r).then(*this, [this](troupe::result<std::uint64_t> got) {
      if (got.get() == left_) ++replies_;
      if (--left_ == 0) {
        done_->set(replies_);
        return;
      }
      next();
    });
  }

  Echo::handle echo_;
  bench::completion<std::uint64_t>* done_;
  std::uint64_t left_ = 0;
  std::uint64_t replies_ = 0;
};

template <bool WithTimeout>
void ask_actor_to_actor(benchmark::State& state, const char* name) {
  troupe::runtime rt(workers(state));
  bench::completion<std::uint64_t> done;
  auto echo = rt.spawn<Echo>();
  auto asker = rt.spawn<Asker<WithTimeout>>(echo, &done);
  for (auto _ : state) {
    asker.send(Start{kRoundTrips});
    if (!bench::check(state, done.wait(name) == kRoundTrips,
                      std::string(name) + ": wrong or missing replies")) {
      break;
    }
  }
  rt.shutdown();
  // Per round trip: the request and the reply delivered to the asker; per iteration: Start.
  bench::check_stats(state, rt.stats(), state.iterations() * (2 * kRoundTrips + 1), name);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

void BM_AskActorToActor(benchmark::State& state) {
  ask_actor_to_actor<false>(state, "BM_AskActorToActor");
}
void BM_AskActorToActor_Timeout(benchmark::State& state) {
  ask_actor_to_actor<true>(state, "BM_AskActorToActor_Timeout");
}

// --- co_await ask in a coroutine actor ---------------------------------------------------------

struct CoroAsker : troupe::coro_actor<CoroAsker, Start> {
  CoroAsker(Echo::handle echo, bench::completion<std::uint64_t>* done)
      : echo_(std::move(echo)), done_(done) {}

  task run() {
    for (;;) {
      const Start s = co_await recv();
      std::uint64_t replies = 0;
      for (std::uint64_t i = s.round_trips; i > 0; --i) {
        const std::uint64_t v = co_await troupe::ask(echo_, i);
        if (v == i) ++replies;
      }
      done_->set(replies);
    }
  }

  Echo::handle echo_;
  bench::completion<std::uint64_t>* done_;
};

void BM_AskCoroutine(benchmark::State& state) {
  troupe::runtime rt(workers(state));
  bench::completion<std::uint64_t> done;
  auto echo = rt.spawn<Echo>();
  auto asker = rt.spawn<CoroAsker>(echo, &done);
  for (auto _ : state) {
    asker.send(Start{kRoundTrips});
    if (!bench::check(state, done.wait("BM_AskCoroutine") == kRoundTrips,
                      "BM_AskCoroutine: wrong or missing replies")) {
      break;
    }
  }
  rt.shutdown();
  bench::check_stats(state, rt.stats(), state.iterations() * (2 * kRoundTrips + 1),
                     "BM_AskCoroutine");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRoundTrips));
}

// --- ask().get() from outside the pool ---------------------------------------------------------

void BM_AskOutsideGet(benchmark::State& state) {
  troupe::runtime rt(workers(state));
  auto echo = rt.spawn<Echo>();
  std::uint64_t i = 0, wrong = 0;
  for (auto _ : state) {
    ++i;
    if (troupe::ask(echo, i).get() != i) ++wrong;
  }
  bench::check(state, wrong == 0, "BM_AskOutsideGet: wrong replies");
  rt.shutdown();
  bench::check_stats(state, rt.stats(), static_cast<std::uint64_t>(state.iterations()),
                     "BM_AskOutsideGet");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_PingPongBaseline)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();
BENCHMARK(BM_AskActorToActor)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();
BENCHMARK(BM_AskActorToActor_Timeout)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();
BENCHMARK(BM_AskCoroutine)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();
BENCHMARK(BM_AskOutsideGet)->Arg(1)->Arg(2)->ArgName("workers")->UseRealTime();
