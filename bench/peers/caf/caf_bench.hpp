// bench/peers/caf/caf_bench.hpp — what the CAF peer benchmarks share. It mirrors
// bench/bench_options.hpp (troupe's side) so that both binaries take the same options,
// verify their results the same way and hand a result to the benchmark thread through the
// same mutex + condition-variable object; only the actor runtime differs.
//
// Options (parsed and removed from argv before benchmark::Initialize sees them):
//   --workers=N    CAF scheduler threads ("scheduler.max-threads"). Default 0 = one per
//                  hardware thread, as troupe's default; CAF's own default would be
//                  max(hardware threads, 4), i.e. 4 threads on a 2-core machine.
//   --scale=F      multiplies every workload size (default 1); profiling only
//   --timeout=S    seconds a single iteration may take before the run is aborted (default 120)
//
// CAF is used with its defaults (work-stealing scheduler, unlimited max-throughput, default
// spawn flags, dynamically typed event-based actors); nothing is tuned for the benchmarks.
#pragma once

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace caf_bench {

struct options {
  unsigned workers = 0;  // 0: std::thread::hardware_concurrency()
  double scale = 1.0;
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
  std::fprintf(stderr, "caf_bench: invalid option '%.*s'\n", static_cast<int>(arg.size()),
               arg.data());
  std::exit(2);
}
}  // namespace detail

/// Parses --workers=N, --scale=F and --timeout=S (same syntax as troupe_bench_macro) and
/// removes them from argv.
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

/// The worker count every actor system gets: --workers, or one per hardware thread.
inline unsigned workers() {
  if (opts().workers != 0) return opts().workers;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw != 0 ? hw : 1;
}

/// The configuration every benchmark's actor system uses: CAF's defaults, plus workers()
/// as the scheduler's thread count. The config must outlive the actor_system built from it.
inline std::unique_ptr<caf::actor_system_config> config() {
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->set("scheduler.max-threads", static_cast<std::size_t>(workers()));
  return cfg;
}

/// One actor system plus the config it refers to, destroyed in the right order. Its
/// destructor is CAF's shutdown: it waits for every actor to terminate, then stops the
/// scheduler threads.
struct actor_world {
  std::unique_ptr<caf::actor_system_config> cfg = config();
  caf::actor_system sys{*cfg};
};

/// Fails the benchmark (and, through main(), the run) when `ok` is false.
inline bool check(benchmark::State& state, bool ok, const std::string& what) {
  if (ok) return true;
  std::fprintf(stderr, "caf_bench: WRONG RESULT: %s\n", what.c_str());
  any_failure.store(true);
  state.SkipWithError(what.c_str());
  return false;
}

/// Same as bench::completion in bench/bench_options.hpp: a result handed from an actor to
/// the benchmark thread; wait() aborts the process if nothing arrives within --timeout.
template <class T>
class completion {
 public:
  void set(T v) {
    std::lock_guard<std::mutex> lock(mutex_);
    value_ = std::move(v);
    ready_.notify_one();
  }
  T wait(const char* bench_name) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::seconds(opts().timeout_s),
                         [&] { return value_.has_value(); })) {
      std::fprintf(stderr, "caf_bench: %s did not complete within %u s. Aborting the run.\n",
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

/// A counter that handlers on any thread bump without sharing a cache line: each thread
/// gets its own padded slot. CAF keeps no per-runtime "messages handled" statistics (troupe
/// does, in runtime_stats), so the benchmarks that verify a handled count use this instead.
class sharded_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    slots_[slot_index()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t sum() const noexcept {
    std::uint64_t s = 0;
    for (const auto& c : slots_) s += c.v.load(std::memory_order_relaxed);
    return s;
  }

 private:
  static constexpr unsigned kSlots = 64;
  static unsigned slot_index() noexcept {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned index = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return index;
  }
  struct alignas(64) padded {
    std::atomic<std::uint64_t> v{0};
  };
  padded slots_[kSlots];
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
      return std::strtoull(line.c_str() + n + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

/// Trims the heap and resets VmHWM to the current RSS (as bench::reset_peak_rss does).
inline std::uint64_t reset_peak_rss() {
  malloc_trim(0);
  {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
  }
  return proc_status_bytes("VmRSS");
}

}  // namespace caf_bench
