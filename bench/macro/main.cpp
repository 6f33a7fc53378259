// bench/macro/main.cpp — entry point of troupe_bench_macro (the actor benchmarks of issue 3).
//
//   troupe_bench_macro [--workers=N] [--scale=F] [--timeout=S] [Google Benchmark flags]
//
// --workers=N sets the worker threads of every runtime the benchmarks create (default: all
// hardware threads); see bench_options.hpp for the others. The exit status is nonzero if any
// benchmark produced a wrong result, so a broken runtime fails the run, not just the number.
#include <cstdio>
#include <string>
#include <thread>

#include "bench_options.hpp"

int main(int argc, char** argv) {
  bench::parse_and_strip(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  const unsigned workers =
      bench::opts().workers != 0 ? bench::opts().workers : std::thread::hardware_concurrency();
  benchmark::AddCustomContext("troupe_workers", std::to_string(workers));
  if (bench::opts().scale != 1.0) {
    benchmark::AddCustomContext("troupe_scale", std::to_string(bench::opts().scale));
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (bench::any_failure.load()) {
    std::fprintf(stderr, "bench: FAILED: at least one benchmark produced a wrong result\n");
    return 1;
  }
  return 0;
}
