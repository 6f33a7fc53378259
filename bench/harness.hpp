// bench/harness.hpp — the benchmark harness troupe's macro benchmarks and their CAF peers
// (bench/peers/caf/) share, so both binaries take the same options, verify results the same
// way and hand a result to the benchmark thread through the same object; only the actor
// runtime differs. Nothing here depends on troupe.
//
// Options (parsed and removed from argv before benchmark::Initialize sees them):
//   --workers=N    worker threads of each runtime (default 0 = all hardware threads)
//   --scale=F      multiplies every workload size (default 1). For profiling runs only
//                  (e.g. under callgrind); the sizes in issue 3 are the ones at scale 1, and
//                  each benchmark reports its size as a counter so a scaled run is visible.
//   --timeout=S    seconds a single iteration may take before the run is aborted as hung
//                  (default 120).
//
// A wrong result fails the run: check() marks the benchmark with SkipWithError and records
// the failure, and main() exits nonzero if any check failed. A hang (an iteration that never
// signals completion) aborts the process with a message naming the benchmark.
#pragma once

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

struct options {
  unsigned workers = 0;  // 0: one per hardware thread (the runtime's default)
  double scale = 1.0;    // workload multiplier, profiling only
  unsigned timeout_s = 120;
};

inline options& opts() {
  static options o;
  return o;
}

/// Set by check() on a wrong result; main() turns it into a nonzero exit status.
inline std::atomic<bool> any_failure{false};

namespace detail {
inline bool take_value(std::string_view arg, std::string_view name, std::string_view& value) {
  if (arg.substr(0, name.size()) != name) return false;
  value = arg.substr(name.size());
  return true;
}
[[noreturn]] inline void bad_option(std::string_view arg) {
  std::fprintf(stderr, "bench: invalid option '%.*s'\n", static_cast<int>(arg.size()), arg.data());
  std::exit(2);
}
}  // namespace detail

/// Parses --workers=N, --scale=F and --timeout=S and removes them from argv, so that
/// benchmark::Initialize only sees its own flags. Exits with status 2 on a malformed value.
inline void parse_and_strip(int& argc, char** argv) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view v;
    char* end = nullptr;
    if (detail::take_value(arg, "--workers=", v)) {
      const unsigned long n = std::strtoul(argv[i] + 10, &end, 10);
      if (v.empty() || *end != '\0' || n > 4096) detail::bad_option(arg);
      opts().workers = static_cast<unsigned>(n);
    } else if (detail::take_value(arg, "--scale=", v)) {
      const double f = std::strtod(argv[i] + 8, &end);
      if (v.empty() || *end != '\0' || !(f > 0) || !std::isfinite(f)) detail::bad_option(arg);
      opts().scale = f;
    } else if (detail::take_value(arg, "--timeout=", v)) {
      const unsigned long s = std::strtoul(argv[i] + 10, &end, 10);
      if (v.empty() || *end != '\0' || s == 0) detail::bad_option(arg);
      opts().timeout_s = static_cast<unsigned>(s);
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
}

/// A workload size from issue 3, times --scale (at least 1).
inline std::uint64_t scaled(std::uint64_t n) {
  const double s = std::round(static_cast<double>(n) * opts().scale);
  return s < 1 ? 1 : static_cast<std::uint64_t>(s);
}

/// Fails the benchmark (and, through main(), the run) when `ok` is false. Returns `ok`;
/// on false the caller must leave its benchmark loop (break/return).
inline bool check(benchmark::State& state, bool ok, const std::string& what) {
  if (ok) return true;
  std::fprintf(stderr, "bench: WRONG RESULT: %s\n", what.c_str());
  any_failure.store(true);
  state.SkipWithError(what.c_str());
  return false;
}

/// A result handed from an actor to the benchmark thread, reusable: each wait() takes the
/// value the last set() stored. set() is called from a handler, once per wait(); it takes a
/// mutex the waiter holds only momentarily and never waits for anything else, and its
/// unlock is its last access to the object, so the waiter may destroy it as soon as wait()
/// returns. wait() runs on the benchmark thread, which is not a worker and may block; it
/// aborts the process if no result comes within --timeout (the runtime hung).
template <class T>
class completion {
 public:
  void set(T v) {
    std::lock_guard<std::mutex> lock(mutex_);
    value_ = std::move(v);
    ready_.notify_one();  // under the lock: the waiter cannot return (and destroy us) before
  }                       // the unlock
  T wait(const char* bench_name) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::seconds(opts().timeout_s),
                         [&] { return value_.has_value(); })) {
      std::fprintf(stderr,
                   "bench: %s did not complete within %u s: the runtime hung (lost wake-up or "
                   "deadlock?). Aborting the run.\n",
                   bench_name, opts().timeout_s);
      std::fflush(stderr);
      std::abort();
    }
    T v = std::move(*value_);
    value_.reset();
    return v;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::optional<T> value_;
};

using steady = std::chrono::steady_clock;
inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// A field of /proc/self/status in bytes (e.g. "VmHWM", "VmRSS"); 0 if unavailable.
inline std::uint64_t proc_status_bytes(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::strtoull(line.c_str() + n + 1, nullptr, 10) * 1024;  // reported in kB
    }
  }
  return 0;
}

/// Returns freed heap memory to the OS and resets the peak-RSS mark (VmHWM) to the current
/// RSS (Linux ≥ 4.0: writing 5 to /proc/self/clear_refs), so that the next VmHWM reading
/// measures the growth caused by what runs in between. Returns the RSS it reset to, in bytes.
inline std::uint64_t reset_peak_rss() {
  malloc_trim(0);
  {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
  }
  return proc_status_bytes("VmRSS");
}

}  // namespace bench
