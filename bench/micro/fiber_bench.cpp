// bench/micro/fiber_bench.cpp — micro benchmarks of runtime/fiber, the substrate of blocking
// actors. Each result sits next to its baseline in the same run.
//
//   BM_FiberRoundTrip              resume() + suspend(): the two context switches a blocking
//                                  actor pays per recv() that finds its mailbox empty. Design
//                                  brief floor: about 12 ns (a bare Boost.Context round trip);
//                                  troupe adds the exception-state swap and current().
//   BM_FiberCreateRunDestroy/pooled:1  a fiber whose body returns at once: construct on a
//   BM_FiberCreateRunDestroy/pooled:0  pooled stack, run to completion, destroy; pooled:0 trims
//                                  the stack each time it comes back (max_cached = 0,
//                                  trim_batch = 1: one madvise(MADV_DONTNEED), and a page
//                                  fault at the next use): what keeping stacks warm saves.
//   BM_FiberDestroySuspended       construct, run to the first suspend, destroy: the unwinding
//                                  path (one exception thrown through the fiber's stack).
//   BM_StackAcquireRelease/pooled:1  the pool alone: mutex + free list ...
//   BM_StackAcquireRelease/pooled:0  ... against trimming and faulting the page back in.
//   BM_FiberIdleMemory             100,000 fibers each suspended once with little on its
//                                  stack: resident bytes per fiber (process RSS growth and the
//                                  stack pages alone, by mincore). One iteration.
//
// Every benchmark checks what it got back and fails with SkipWithError on a wrong result.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <memory>
#include <vector>

#include "fiber/fiber.hpp"
#include "fiber/stack_pool.hpp"

namespace troupe::detail {
namespace {

void BM_FiberRoundTrip(benchmark::State& state) {
  stack_pool pool;
  long count = 0;
  bool stop = false;
  fiber f(pool.acquire(), [&] {
    while (!stop) {
      ++count;
      fiber::current()->suspend();
    }
  });
  for (auto _ : state) f.resume();
  stop = true;
  f.resume();
  if (!f.done() || count != static_cast<long>(state.iterations())) {
    state.SkipWithError("wrong number of fiber steps");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberRoundTrip);

void BM_FiberCreateRunDestroy(benchmark::State& state) {
  const bool pooled = state.range(0) != 0;
  stack_pool pool(
      {.stack_size = 64 * 1024, .max_cached = pooled ? 256u : 0u, .trim_batch = pooled ? 64u : 1u});
  long ran = 0;
  for (auto _ : state) {
    fiber f(pool.acquire(), [&ran] { ++ran; });
    f.resume();
  }
  if (ran != static_cast<long>(state.iterations()) || pool.outstanding() != 0) {
    state.SkipWithError("a fiber did not run exactly once");
  }
  state.SetLabel(pooled ? "pooled" : "trimmed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberCreateRunDestroy)->Arg(1)->Arg(0)->ArgName("pooled");

void BM_FiberDestroySuspended(benchmark::State& state) {
  stack_pool pool;
  long unwound = 0;
  struct on_unwind {
    long* n;
    ~on_unwind() { ++*n; }
  };
  for (auto _ : state) {
    fiber f(pool.acquire(), [&unwound] {
      on_unwind u{&unwound};
      fiber::current()->suspend();
    });
    f.resume();
  }
  if (unwound != static_cast<long>(state.iterations())) {
    state.SkipWithError("a suspended fiber was not unwound");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FiberDestroySuspended);

void BM_StackAcquireRelease(benchmark::State& state) {
  const bool pooled = state.range(0) != 0;
  stack_pool pool(
      {.stack_size = 64 * 1024, .max_cached = pooled ? 256u : 0u, .trim_batch = pooled ? 64u : 1u});
  for (auto _ : state) {
    fiber_stack s = pool.acquire();
    s.top()[-1] = std::byte{1};  // a fiber always touches its top page
    benchmark::DoNotOptimize(s.bottom());
  }
  if (pool.outstanding() != 0) state.SkipWithError("a stack was not returned");
  state.SetLabel(pooled ? "pooled" : "trimmed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StackAcquireRelease)->Arg(1)->Arg(0)->ArgName("pooled");

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

void BM_FiberIdleMemory(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::size_t page = stack_pool::page_size();
  double rss_per_fiber = 0, stack_per_fiber = 0;
  for (auto _ : state) {
    stack_pool pool({.stack_size = 64 * 1024, .max_cached = 0});
    std::vector<std::unique_ptr<fiber>> fibers;
    fibers.reserve(n);
    const std::size_t before = rss_bytes();
    for (std::size_t i = 0; i < n; ++i) {
      fibers.push_back(
          std::make_unique<fiber>(pool.acquire(), [] { fiber::current()->suspend(); }));
      fibers.back()->resume();
    }
    const std::size_t after = rss_bytes();
    std::size_t resident = 0;
    std::vector<unsigned char> vec(pool.stack_size() / page);
    for (const auto& f : fibers) {
      if (::mincore(const_cast<std::byte*>(f->stack_bottom()), f->stack_size(), vec.data()) != 0) {
        state.SkipWithError("mincore failed");
        return;
      }
      for (unsigned char c : vec) resident += (c & 1u) * page;
    }
    rss_per_fiber = double(after - before) / double(n);
    stack_per_fiber = double(resident) / double(n);
    state.PauseTiming();  // destroying 100,000 suspended fibers is not what is measured
    fibers.clear();
    state.ResumeTiming();
  }
  state.counters["fibers"] = double(n);
  state.counters["rss_bytes_per_fiber"] = rss_per_fiber;
  state.counters["stack_bytes_per_fiber"] = stack_per_fiber;
  state.counters["fiber_object_bytes"] = double(sizeof(fiber));
}
BENCHMARK(BM_FiberIdleMemory)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace troupe::detail
