// An idle runtime uses no CPU (issue #2, "Required behaviour" 3): a runtime with two workers
// does some work, then sits idle with live actors. After a short settle delay (for the
// workers' brief spinning to end), the whole process's CPU time over one idle wall-clock
// second must stay under a generous bound. This is a CPU-time measure, not a timing of how
// fast something runs: a worker that spun or polled while idle would burn ~1 s per worker.
// Also, idle workers must have parked (stats().parks > 0).
#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Ball {
  int hits_left;
};
struct Player : troupe::actor<Player, Ball> {
  Player(const std::vector<troupe::ref<Ball>>* players, std::size_t next, std::atomic<int>* done)
      : players_(players), next_(next), done_(done) {}
  void on(Ball b) {
    if (b.hits_left > 0) {
      (*players_)[next_].send(Ball{b.hits_left - 1});
    } else {
      done_->fetch_add(1, std::memory_order_release);
    }
  }

 private:
  const std::vector<troupe::ref<Ball>>* players_;
  std::size_t next_;
  std::atomic<int>* done_;
};

TEST(IdleCpu, AnIdleRuntimeWithTwoWorkersBurnsNoCpuAndItsWorkersPark) {
  troupe::runtime_config config;
  config.workers = 2;
  troupe::runtime rt(std::move(config));

  // Some work first, so that the workers have spun up, stolen and gone back to idle.
  constexpr std::size_t players = 16;
  constexpr int balls = 64;
  std::atomic<int> done{0};
  std::vector<troupe::ref<Ball>> ring;
  for (std::size_t i = 0; i < players; ++i) {
    ring.push_back(rt.spawn<Player>(&ring, (i + 1) % players, &done));
  }
  for (int b = 0; b < balls; ++b) ring[static_cast<std::size_t>(b) % players].send(Ball{1'000});
  while (done.load(std::memory_order_acquire) < balls) std::this_thread::yield();

  // The actors stay alive (not closed): an idle runtime, not a stopped one.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let spinning end
  const double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double cpu_used = process_cpu_seconds() - cpu_before;

  const troupe::runtime_stats s = rt.stats();
  std::printf("[idle_cpu] process CPU time over one idle second: %.3f ms; parks=%llu\n",
              cpu_used * 1e3, static_cast<unsigned long long>(s.parks));
  EXPECT_LT(cpu_used, 0.050) << "the idle runtime used " << cpu_used * 1e3
                             << " ms of CPU in one second";
  EXPECT_GT(s.parks, 0u) << "idle workers must park";

  rt.shutdown();
  const troupe::runtime_stats end = rt.stats();
  EXPECT_EQ(end.sent, end.handled + end.dead_lettered);
  EXPECT_EQ(end.handled, static_cast<std::uint64_t>(balls) * 1'001u);
}

}  // namespace
