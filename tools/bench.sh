#!/usr/bin/env bash
# tools/bench.sh [tools/bench_compare.py options] — the headline benchmark command: install
# what is missing (tools/setup.sh --bench: the required packages, plus libcaf-dev, golang-go
# and python3-matplotlib when it can), build the release preset's macro benchmarks and their
# CAF and Go peers, then run troupe against CAF and Go with tools/bench_compare.py: the
# binaries alternately (troupe, CAF, Go in every repetition), medians, a table of rates and
# troupe/CAF and troupe/Go ratios, results JSON and a bar chart. A peer that is absent (no
# libcaf-dev, no golang-go) is left out and the tool says so; with neither, troupe runs
# alone. Without python3 the troupe binary runs directly.
#
#   tools/bench.sh                                  # all benchmarks, all hardware threads, 3 reps
#   tools/bench.sh --workers=2 --reps=5
#   tools/bench.sh --filter='BM_(Chameneos|Big)'    # a Google Benchmark filter regex
#   tools/bench.sh --peers=go                       # troupe and Go only (--peers= : troupe alone)
#   tools/bench.sh --workers=1 -- --scale=0.1       # after --: arguments for every binary
#
# Results go to build/release/bench/results/ (results.json, compare.png) unless --out-dir is
# given; docs/bench/ holds the published ones. items_per_second is messages, hops, actors or
# meetings per second as each benchmark states (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools/setup.sh --bench

cmake --preset release >/dev/null
targets=(troupe_bench_macro)
# The peers exist as targets only when CMake found CAF 0.17 (bench/peers/caf) or Go
# (bench/peers/go).
available=$(cmake --build --preset release --target help 2>/dev/null || true)
for peer in caf_bench_macro go_bench_macro; do
  if grep -q "^$peer:" <<<"$available"; then
    targets+=("$peer")
  fi
done
cmake --build --preset release --target "${targets[@]}"

bench_dir=build/release/bench
if [[ ! -x "$bench_dir/troupe_bench_macro" ]]; then
  echo "troupe: $bench_dir/troupe_bench_macro was not built" >&2
  exit 1
fi

compared=()
for peer in "caf_bench_macro CAF libcaf-dev (Debian 12: CAF 0.17)" \
            "go_bench_macro Go golang-go (Debian 12: Go 1.19)"; do
  read -r binary name package <<<"$peer"
  if [[ " ${targets[*]} " == *" $binary "* ]]; then
    compared+=("$name")
  else
    # A binary left from a build that had the peer would otherwise be picked up by
    # bench_compare.py.
    rm -f "$bench_dir/$binary"
    echo "troupe: $name is ABSENT: comparing without it. To compare with $name:" \
         "apt-get install $package, then run tools/bench.sh again." >&2
  fi
done
if [[ ${#compared[@]} -gt 0 ]]; then
  echo "troupe: comparing troupe with ${compared[*]} in one run"
else
  echo "troupe: no peer (CAF, Go) is present: running troupe alone, no ratios." >&2
fi

if ! command -v python3 >/dev/null; then
  echo "troupe: python3 is absent (apt-get install python3-matplotlib brings it): running" \
       "$bench_dir/troupe_bench_macro directly, without the comparison tool." >&2
  args=()
  passthrough=0
  for a in "$@"; do  # keep what the binary understands
    if [[ $passthrough -eq 1 ]]; then
      args+=("$a")
    else
      case "$a" in
        --) passthrough=1 ;;
        --workers=*) args+=("$a") ;;
        --filter=*) args+=("--benchmark_filter=${a#--filter=}") ;;
        *) echo "troupe: ignoring '$a' (a tools/bench_compare.py option)" >&2 ;;
      esac
    fi
  done
  exec "$bench_dir/troupe_bench_macro" "${args[@]}"
fi

# --out-dir first, so that a user's own --out-dir (later on the line) wins.
exec python3 tools/bench_compare.py --build-dir build/release \
  --out-dir "$bench_dir/results" "$@"
