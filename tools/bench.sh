#!/usr/bin/env bash
# tools/bench.sh [benchmark args...] — install what is missing, build the release preset's
# benchmarks and run the headline macro benchmarks (BM_PingPong, BM_FanIn, BM_ThreadRing).
# items_per_second in the output is messages per second.
#
#   tools/bench.sh                                   # headline set
#   tools/bench.sh --workers=1                       # extra arguments go to the benchmark binary
#   tools/bench.sh --benchmark_filter=BM_FanIn       # a later filter overrides the default one
#   tools/bench.sh --benchmark_format=json --benchmark_out=results.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools/setup.sh

cmake --preset release >/dev/null
cmake --build --preset release --target troupe_bench_macro

bin=build/release/bench/troupe_bench_macro
if [[ ! -x "$bin" ]]; then
  echo "troupe: $bin was not built" >&2
  exit 1
fi
exec "$bin" --benchmark_filter='^BM_(PingPong|FanIn|ThreadRing)' "$@"
