// bench/peers/caf/main.cpp — entry point of caf_bench_macro: the macro benchmarks of issue 3
// written with CAF 0.17 (Debian's libcaf-dev), under the same names, sizes, options and
// result checks as troupe_bench_macro, so that tools/bench_compare.py can set them side by
// side.
//
//   caf_bench_macro [--workers=N] [--scale=F] [--timeout=S] [Google Benchmark flags]
//
// The exit status is nonzero if any benchmark produced a wrong result.
#include <cstdio>
#include <string>

#include "caf_bench.hpp"

int main(int argc, char** argv) {
  caf_bench::parse_and_strip(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  benchmark::AddCustomContext("caf_workers", std::to_string(caf_bench::workers()));
  benchmark::AddCustomContext("caf_version", std::to_string(CAF_MAJOR_VERSION) + "." +
                                                 std::to_string(CAF_MINOR_VERSION) + "." +
                                                 std::to_string(CAF_PATCH_VERSION));
  if (caf_bench::opts().scale != 1.0) {
    benchmark::AddCustomContext("caf_scale", std::to_string(caf_bench::opts().scale));
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (caf_bench::any_failure.load()) {
    std::fprintf(stderr, "caf_bench: FAILED: at least one benchmark produced a wrong result\n");
    return 1;
  }
  return 0;
}
