#!/usr/bin/env bash
# tools/setup.sh [--bench] — make sure the Debian 12 packages troupe builds with are installed.
#
# Required packages: quiet when all are present. Otherwise, as root: apt-get update &&
# apt-get install -y the missing ones. Not root: prints the exact apt-get line to run and
# exits 1.
#
# --bench (used by tools/bench.sh) also wants the optional benchmark packages: libcaf-dev (the
# CAF peer benchmarks) and golang-go (the Go peer benchmarks), the runtimes troupe is compared
# with, and python3-matplotlib (the comparison's chart; it brings python3, which runs
# tools/bench_compare.py). As root, missing
# ones are installed; if that fails, or when not root, it says what is missing and how to get
# it, and carries on: the benchmarks then run without them. tools/test.sh does not pass
# --bench: tests never need these.
set -euo pipefail

want_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    *)
      echo "tools/setup.sh: unknown argument '$arg' (usage: tools/setup.sh [--bench])" >&2
      exit 2
      ;;
  esac
done

packages=(
  cmake                    # >= 3.25 (presets v6, workflow presets)
  ninja-build              # the presets' generator
  g++                      # C++20; also provides libtsan/libasan/libubsan for the sanitizer presets
  libconcurrentqueue-dev   # moodycamel ConcurrentQueue (the injection queue)
  libboost-context-dev     # fibers for blocking actors
  libgtest-dev             # tests
  libbenchmark-dev         # benchmarks
)

optional_bench_packages=(
  libcaf-dev               # CAF 0.17: bench/peers/caf (caf_bench_macro), the comparison's peer
  golang-go                # Go (1.19 on Debian 12): bench/peers/go (go_bench_macro), the other peer
  python3-matplotlib       # tools/bench_compare.py's chart (and python3 itself)
)

# Prints the packages among "$@" that are not installed, one per line.
missing_of() {
  local p status
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      echo "$p"
    fi
  done
}

mapfile -t missing < <(missing_of "${packages[@]}")
optional_missing=()
if [[ $want_bench -eq 1 ]]; then
  mapfile -t optional_missing < <(missing_of "${optional_bench_packages[@]}")
fi

if [[ ${#missing[@]} -eq 0 && ${#optional_missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  if [[ ${#optional_missing[@]} -gt 0 ]]; then
    echo "troupe: optional benchmark packages missing: ${optional_missing[*]}" >&2
    echo "  (without libcaf-dev or golang-go the benchmarks run without that peer to compare;" >&2
    echo "   without python3-matplotlib no chart is drawn). Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${optional_missing[*]}" >&2
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "troupe: missing packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# A failed update (e.g. offline) is not fatal by itself: the install below may still succeed
# from the local package lists, and fails loudly if a required package cannot be had.
apt-get update || echo "troupe: apt-get update failed; trying the install anyway" >&2
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "troupe: installing missing packages: ${missing[*]}"
  apt-get install -y "${missing[@]}" </dev/null
fi
if [[ ${#optional_missing[@]} -gt 0 ]]; then
  echo "troupe: installing optional benchmark packages: ${optional_missing[*]}"
  if ! apt-get install -y "${optional_missing[@]}" </dev/null; then
    echo "troupe: could not install ${optional_missing[*]}; the benchmarks run without them" >&2
  fi
fi
