#!/usr/bin/env bash
# tools/test.sh [preset...] — install what is missing, then configure, build and run the whole
# test suite for each preset (default: release) with `cmake --workflow --preset <preset>`.
#
#   tools/test.sh                  # release
#   tools/test.sh tsan asan        # ThreadSanitizer, then AddressSanitizer + UBSan
#   tools/test.sh tsan-stress      # TSan, unit and stress tiers only
#
# Presets: see CMakePresets.json (release, debug, asan, tsan, tsan-stress). Build trees go to
# build/<preset>. Exits non-zero if any preset fails; all given presets are run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tools/setup.sh

presets=("$@")
if [[ ${#presets[@]} -eq 0 ]]; then
  presets=(release)
fi

# ThreadSanitizer (GCC 12's libtsan) aborts with "FATAL: ThreadSanitizer: unexpected memory
# mapping" on kernels whose mmap ASLR entropy is higher than it supports (vm.mmap_rnd_bits
# above 28 on x86-64). Probe once with a tiny program; if it fails that way, run the TSan
# workflow without address randomisation (setarch -R: no root needed, affects only that
# process tree). As a last resort, when root, lower vm.mmap_rnd_bits to 28.
tsan_wrapper=()
tsan_checked=0
check_tsan() {
  [[ $tsan_checked -eq 1 ]] && return 0
  tsan_checked=1
  local dir rc=0
  dir=$(mktemp -d)
  probe_tsan "$dir" || rc=$?
  rm -rf "$dir"
  return $rc
}

probe_tsan() {
  local dir=$1 out
  cat >"$dir/probe.cpp" <<'CPP'
#include <atomic>
#include <thread>
int main() {
  std::atomic<int> n{0};
  std::thread t([&] { n.fetch_add(1); });
  n.fetch_add(1);
  t.join();
  return n.load() == 2 ? 0 : 1;
}
CPP
  if ! "${CXX:-c++}" -std=c++20 -fsanitize=thread -O1 -g "$dir/probe.cpp" -o "$dir/probe" \
      -pthread 2>"$dir/cc.log"; then
    cat "$dir/cc.log" >&2
    echo "troupe: cannot build a -fsanitize=thread program (is libtsan, from g++, installed?)" >&2
    return 1
  fi
  if out=$("$dir/probe" 2>&1); then
    return 0
  fi
  echo "troupe: ThreadSanitizer probe failed: ${out%%$'\n'*}"
  local arch
  arch=$(uname -m)
  if setarch "$arch" -R "$dir/probe" >/dev/null 2>&1; then
    echo "troupe: running the TSan workflow under 'setarch $arch -R' (no ASLR) to work around it"
    tsan_wrapper=(setarch "$arch" -R)
    return 0
  fi
  if [[ $(id -u) -eq 0 && -w /proc/sys/vm/mmap_rnd_bits ]]; then
    echo "troupe: lowering vm.mmap_rnd_bits from $(cat /proc/sys/vm/mmap_rnd_bits) to 28"
    if sysctl -qw vm.mmap_rnd_bits=28 && "$dir/probe" >/dev/null 2>&1; then
      return 0
    fi
  fi
  echo "troupe: ThreadSanitizer does not work on this machine. Lower the mmap ASLR entropy" \
       "(as root: sysctl -w vm.mmap_rnd_bits=28) and try again." >&2
  return 1
}

failed=()
summary=()
for preset in "${presets[@]}"; do
  wrapper=()
  if [[ "$preset" == *tsan* ]]; then
    if ! check_tsan; then
      failed+=("$preset")
      summary+=("$preset: FAILED (ThreadSanitizer unusable)")
      continue
    fi
    wrapper=("${tsan_wrapper[@]}")
  fi
  echo "==== troupe: workflow preset '$preset' ===="
  start=$SECONDS
  if "${wrapper[@]}" cmake --workflow --preset "$preset"; then
    summary+=("$preset: passed in $((SECONDS - start)) s")
  else
    failed+=("$preset")
    summary+=("$preset: FAILED after $((SECONDS - start)) s")
  fi
done

echo "==== troupe: summary ===="
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -ne 0 ]]; then
  echo "troupe: failed presets: ${failed[*]}" >&2
  exit 1
fi
