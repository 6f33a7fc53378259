// bench/micro/timer_bench.cpp — the public timers (include/troupe/timer.hpp) and the timer
// service's wheel behind them (runtime/timer/timing_wheel.hpp). Each group carries its own
// baseline in the same run:
//
// BM_TimerScheduleCancel/<pending> guards the cost of send_after() + cancel() of one timer
//   while <pending> other timers wait in the wheel (0 or 1,000,000, spread over every
//   level): equal costs for the two show O(1) schedule and cancel. items = timers (one
//   schedule and one cancel each). Includes one allocation and free of the timer's block,
//   two lock round trips on the timer service, and the handle's reference counting.
// BM_TimerSchedule guards send_after() alone with the handle dropped (fire and forget) into
//   a wheel that grows by one timer per iteration. items = timers.
// BM_TimerMemory/<periodic> schedules 1,000,000 timers with an 8-byte message (handles
//   dropped) and reports the growth of the process's resident set per timer
//   (bytes_per_timer, from VmRSS before and after, after malloc_trim), one-shot (0) or
//   periodic (1). Baseline: the 64-byte target.
// BM_TimerIdleCpu/<timers> runs a runtime (1 worker, one live actor) for 3 s of wall time
//   with 0 or 1 send_every() timer of 10 ms to that actor, and reports the process's CPU
//   time (getrusage: user + system, all threads) as a percentage of one core (cpu_pct);
//   the 0-timer run is the baseline (an idle runtime must stay at 0 %).
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"

namespace {

using namespace std::chrono_literals;

struct Ping {
  std::uint64_t n;  // 8 bytes: a "small message"
};
struct Sink : troupe::actor<Sink, Ping> {
  void on(Ping p) { benchmark::DoNotOptimize(p.n); }
};

troupe::runtime_config one_worker() {
  troupe::runtime_config c;
  c.workers = 1;
  return c;
}

// A delay spread over every level of the wheel, from 1 hour to about 3 days: these timers
// never fire during a benchmark.
std::chrono::milliseconds far_delay(std::uint64_t i) {
  return 1h + std::chrono::milliseconds((i * 7919) % 259'200'000);
}

void BM_TimerScheduleCancel(benchmark::State& state) {
  troupe::runtime rt(one_worker());
  auto sink = rt.spawn<Sink>();
  const auto background = static_cast<std::uint64_t>(state.range(0));
  for (std::uint64_t i = 0; i < background; ++i) troupe::send_after(sink, far_delay(i), Ping{i});
  std::uint64_t i = 0;
  bool all_cancelled = true;
  for (auto _ : state) {
    troupe::timer t = troupe::send_after(sink, far_delay(++i), Ping{i});
    all_cancelled &= t.cancel();
  }
  state.SetItemsProcessed(state.iterations());
  bench::check(state, all_cancelled, "BM_TimerScheduleCancel: a cancel() returned false");
  rt.shutdown();
  bench::check(state, rt.stats().sent == 0, "BM_TimerScheduleCancel: a timer fired");
}
BENCHMARK(BM_TimerScheduleCancel)->Arg(0)->Arg(1'000'000)->Unit(benchmark::kNanosecond);

void BM_TimerSchedule(benchmark::State& state) {
  troupe::runtime rt(one_worker());
  auto sink = rt.spawn<Sink>();
  std::uint64_t i = 0;
  for (auto _ : state) {
    troupe::send_after(sink, far_delay(++i), Ping{i});
  }
  state.SetItemsProcessed(state.iterations());
  rt.shutdown();  // discards them all
}
BENCHMARK(BM_TimerSchedule)->Unit(benchmark::kNanosecond);

void BM_TimerMemory(benchmark::State& state) {
  constexpr std::uint64_t kTimers = 1'000'000;
  const bool periodic = state.range(0) != 0;
  double per_timer = 0;
  for (auto _ : state) {
    troupe::runtime rt(one_worker());
    auto sink = rt.spawn<Sink>();
    troupe::send_after(sink, 1h, Ping{0});  // starts the timer thread before the baseline
    const std::uint64_t before = bench::reset_peak_rss();
    for (std::uint64_t i = 0; i < kTimers; ++i) {
      if (periodic) {
        troupe::send_every(sink, far_delay(i), Ping{i});
      } else {
        troupe::send_after(sink, far_delay(i), Ping{i});
      }
    }
    const std::uint64_t after = bench::proc_status_bytes("VmRSS");
    per_timer = static_cast<double>(after - before) / static_cast<double>(kTimers);
    rt.shutdown();
    bench::check(state, rt.stats().sent == 0, "BM_TimerMemory: a timer fired");
  }
  state.counters["bytes_per_timer"] = per_timer;
}
BENCHMARK(BM_TimerMemory)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// CPU time (ns) of this process's threads named `name` (or all but it, if `others`), from
// /proc/self/task/*/schedstat (first field: time on a CPU, in ns).
std::uint64_t thread_cpu_ns(const std::string& name, bool others) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if ((n == name) == others) continue;
    std::ifstream stat(e.path() / "schedstat");
    std::uint64_t ns = 0;
    stat >> ns;
    total += ns;
  }
  return total;
}

struct Counted : troupe::actor<Counted, Ping> {
  explicit Counted(std::atomic<std::uint64_t>* n) : n_(n) {}
  void on(Ping) { n_->fetch_add(1, std::memory_order_relaxed); }
  std::atomic<std::uint64_t>* n_;
};

void BM_TimerIdleCpu(benchmark::State& state) {
  const bool with_timer = state.range(0) != 0;
  double cpu_pct = 0;
  double timer_thread_pct = 0;
  std::uint64_t ticks = 0;
  for (auto _ : state) {
    troupe::runtime_config c = one_worker();
    if (state.range(1) >= 0) c.spin_rounds = static_cast<unsigned>(state.range(1));
    troupe::runtime rt(std::move(c));
    std::atomic<std::uint64_t> handled{0};
    auto a = rt.spawn<Counted>(&handled);
    troupe::timer t;
    if (with_timer) t = troupe::send_every(a, 10ms, Ping{0});
    std::this_thread::sleep_for(200ms);  // let start-up and the worker's spinning end
    const std::uint64_t ticks_before = handled.load();
    const double cpu0 = process_cpu_seconds();
    const std::uint64_t timer0 = thread_cpu_ns("troupe-timer", false);
    const auto t0 = bench::steady::now();
    std::this_thread::sleep_for(3s);
    const double cpu = process_cpu_seconds() - cpu0;
    const std::uint64_t timer_ns = thread_cpu_ns("troupe-timer", false) - timer0;
    const double wall = bench::seconds_since(t0);
    ticks = handled.load() - ticks_before;
    cpu_pct = 100.0 * cpu / wall;
    timer_thread_pct = 100.0 * static_cast<double>(timer_ns) * 1e-9 / wall;
    t.cancel();
    rt.shutdown();
    state.SetIterationTime(wall);
  }
  state.counters["cpu_pct"] = cpu_pct;
  state.counters["timer_thread_pct"] = timer_thread_pct;
  state.counters["ticks"] = static_cast<double>(ticks);
}
// Args: timers (0 or 1), the worker's spin_rounds before it parks (-1: the default, 32).
BENCHMARK(BM_TimerIdleCpu)
    ->Args({0, -1})
    ->Args({1, -1})
    ->Args({1, 4})
    ->Args({1, 0})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
