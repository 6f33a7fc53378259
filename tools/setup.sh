#!/usr/bin/env bash
# tools/setup.sh — make sure the Debian 12 packages troupe builds with are installed.
#
# Quiet when everything is present. Otherwise, as root: apt-get update && apt-get install -y
# the missing ones. Not root: prints the exact apt-get line to run and exits 1.
set -euo pipefail

packages=(
  cmake                    # >= 3.25 (presets v6, workflow presets)
  ninja-build              # the presets' generator
  g++                      # C++20; also provides libtsan/libasan/libubsan for the sanitizer presets
  libconcurrentqueue-dev   # moodycamel ConcurrentQueue (the injection queue)
  libboost-context-dev     # fibers for blocking actors
  libgtest-dev             # tests
  libbenchmark-dev         # benchmarks
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "troupe: missing packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "troupe: installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}" </dev/null
