// bench/scale/many_blocking_actors.cpp — troupe_many_blocking_actors: the cost of blocking
// actors at scale, where mapping, guarding, reusing and unmapping fiber stacks dominates.
// Guards docs/benchmarks.md, "Many blocking actors" (its baseline is the figure recorded there
// for the same command on the same machine; targets: 1,000,000 started and shut down in
// under 5 s each on 2 cores, at most ~4.4 KB resident per parked actor).
//
//   troupe_many_blocking_actors [--actors=N] [--workers=W] [--stack=BYTES] [--reps=R]
//
// Defaults: 1,000,000 actors, 2 workers, 64 KiB stacks (the default fiber_options), 3
// repetitions. Each repetition runs in a child process of its own (fork before any runtime
// exists), so every one starts from the same fresh address space and its RSS growth is its
// own. Per repetition:
//   start     from the first spawn until every actor's run() has reached recv() and parked
//             (the actors' handles are dropped at once: only the runtime keeps them; the
//             count is polled every millisecond);
//   shutdown  rt.shutdown() (closes every actor: each recv() throws actor_exit, which ends
//             run() and gives the stack back) plus destroying the runtime (its stack pools);
//   rss/actor (VmRSS when all are parked − VmRSS before the first spawn) / N;
//   pte/actor the same for VmPTE (page tables, not part of RSS).
// Then the median of each column over the repetitions. Verified in each child: N spawned, N
// stopped, none failed; a failed or crashed child fails the run (exit status 1).
// Not Google Benchmark: one repetition takes seconds and needs a fresh process.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <troupe/troupe.hpp>
#include <vector>

namespace {

struct options {
  std::uint64_t actors = 1'000'000;
  unsigned workers = 2;
  std::size_t stack = troupe::fiber_options{}.stack_size;
  unsigned reps = 3;
};

struct sample {
  double start_s = 0;
  double shutdown_s = 0;
  double rss_per_actor = 0;
  double pte_per_actor = 0;
};

std::uint64_t proc_status_bytes(std::string_view key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':') {
      return std::stoull(line.substr(key.size() + 1)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

std::atomic<std::uint64_t> g_parked{0};
std::size_t g_stack = 0;

struct Sleeper : troupe::blocking_actor<Sleeper, std::uint32_t> {
  Sleeper() : blocking_actor({.stack_size = g_stack}) {}
  void run() {
    // relaxed: a count the main thread polls; nothing else is published through it.
    g_parked.fetch_add(1, std::memory_order_relaxed);
    for (;;) (void)recv();  // parks the fiber until close(), which throws actor_exit
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One repetition, in the child process. Returns false (after saying why) if it went wrong.
bool run_once(const options& o, sample& out) {
  g_stack = o.stack;
  troupe::runtime_config c;
  c.workers = o.workers;
  const std::uint64_t rss0 = proc_status_bytes("VmRSS");
  const std::uint64_t pte0 = proc_status_bytes("VmPTE");
  std::optional<troupe::runtime> rt(std::in_place, c);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < o.actors; ++i) (void)rt->spawn<Sleeper>();
  // Polled with a sleep, not a yield loop: on a 2-core machine a spinning main thread would
  // take CPU time from the workers it is waiting for.
  while (g_parked.load(std::memory_order_relaxed) < o.actors) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  out.start_s = seconds_since(t0);
  const std::uint64_t rss1 = proc_status_bytes("VmRSS");
  const std::uint64_t pte1 = proc_status_bytes("VmPTE");
  out.rss_per_actor = static_cast<double>(rss1 - rss0) / static_cast<double>(o.actors);
  out.pte_per_actor = static_cast<double>(pte1 - pte0) / static_cast<double>(o.actors);

  const auto t1 = std::chrono::steady_clock::now();
  rt->shutdown();
  const troupe::runtime_stats s = rt->stats();
  rt.reset();  // destroys the runtime and its stack pools: whatever they still hold is unmapped
  out.shutdown_s = seconds_since(t1);
  if (s.spawned != o.actors || s.stopped != o.actors || s.failed != 0) {
    std::fprintf(stderr, "many_blocking_actors: spawned %llu, stopped %llu, failed %llu\n",
                 static_cast<unsigned long long>(s.spawned),
                 static_cast<unsigned long long>(s.stopped),
                 static_cast<unsigned long long>(s.failed));
    return false;
  }
  return true;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name, auto& field) {
      if (a.substr(0, name.size()) != name) return false;
      field = static_cast<std::remove_reference_t<decltype(field)>>(
          std::strtoull(std::string(a.substr(name.size())).c_str(), nullptr, 0));
      return true;
    };
    if (!value("--actors=", o.actors) && !value("--workers=", o.workers) &&
        !value("--stack=", o.stack) && !value("--reps=", o.reps)) {
      std::fprintf(stderr, "usage: %s [--actors=N] [--workers=W] [--stack=BYTES] [--reps=R]\n",
                   argv[0]);
      return false;
    }
  }
  return o.actors > 0 && o.workers > 0 && o.reps > 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) return 2;
  std::printf("troupe_many_blocking_actors: %llu actors, %u workers, %zu-byte stacks, %u reps\n",
              static_cast<unsigned long long>(o.actors), o.workers, o.stack, o.reps);
  std::printf("%4s %10s %12s %14s %14s\n", "rep", "start_s", "shutdown_s", "rss_B/actor",
              "pte_B/actor");
  std::vector<double> start, stop, rss, pte;
  for (unsigned r = 0; r < o.reps; ++r) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      ::close(fds[0]);
      sample smp;
      const bool ok = run_once(o, smp);
      if (ok && ::write(fds[1], &smp, sizeof smp) != static_cast<ssize_t>(sizeof smp)) _exit(1);
      _exit(ok ? 0 : 1);
    }
    ::close(fds[1]);
    sample smp;
    const bool got = ::read(fds[0], &smp, sizeof smp) == static_cast<ssize_t>(sizeof smp);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "many_blocking_actors: repetition %u failed (status %#x)\n", r, status);
      return 1;
    }
    std::printf("%4u %10.3f %12.3f %14.0f %14.0f\n", r + 1, smp.start_s, smp.shutdown_s,
                smp.rss_per_actor, smp.pte_per_actor);
    std::fflush(stdout);
    start.push_back(smp.start_s);
    stop.push_back(smp.shutdown_s);
    rss.push_back(smp.rss_per_actor);
    pte.push_back(smp.pte_per_actor);
  }
  std::printf("%4s %10.3f %12.3f %14.0f %14.0f\n", "med", median(start), median(stop), median(rss),
              median(pte));
  return 0;
}
