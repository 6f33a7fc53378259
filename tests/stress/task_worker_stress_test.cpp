// Stress: several external threads submit thousands of tasks to 2 task_workers and consume
// every result, with many results in flight at once. Checks:
//   * every result is delivered exactly once, with the right value (or the right exception for
//     the tasks that throw), and every task ran exactly once;
//   * with a worker closed at a random point mid-stream: each result is either a value /
//     exception (its task ran exactly once) or a broken promise (its task never ran) — never a
//     hang — and broken results == dead letters;
//   * accounting after shutdown: stats().sent == handled + dead_lettered.
//
// Every random choice derives from one seed, printed on failure (SCOPED_TRACE) and settable
// with TROUPE_TEST_SEED=<n>. Scaled down under TSan and ASan.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::seed_trace;

#if defined(__SANITIZE_THREAD__)
constexpr int kTasksPerProducer = 10'000;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kTasksPerProducer = 20'000;
#else
constexpr int kTasksPerProducer = 50'000;
#endif
constexpr int kProducers = 4;
constexpr int kWorkers = 2;        // task_workers (and runtime worker threads)
constexpr int kMaxInFlight = 128;  // results a producer holds before consuming them
constexpr int kTotal = kProducers * kTasksPerProducer;

struct task_error : std::runtime_error {
  int id;
  explicit task_error(int i) : std::runtime_error("task failed"), id(i) {}
};

std::int64_t expected_value(int id) { return std::int64_t{id} * 3 + 1; }
bool throws(int id) { return id % 7 == 3; }

struct Outcomes {
  std::vector<std::atomic<int>> ran = std::vector<std::atomic<int>>(kTotal);
  std::atomic<int> values{0}, exceptions{0}, broken{0}, wrong{0};
};

// One producer: submits its share of ids to random workers, consuming the oldest result
// whenever kMaxInFlight are outstanding (sometimes consuming a random one instead).
void produce(int p, std::uint64_t seed, const std::vector<troupe::task_worker::handle>& workers,
             Outcomes& out) {
  std::mt19937_64 rng(seed + static_cast<std::uint64_t>(p) * 0x9E3779B97F4A7C15ull);
  struct pending {
    int id;
    troupe::result<std::int64_t> r;
  };
  std::vector<pending> inflight;
  inflight.reserve(kMaxInFlight);
  auto consume = [&out](pending& x) {
    try {
      const std::int64_t v = x.r.get();
      if (v != expected_value(x.id) || throws(x.id)) ++out.wrong;
      ++out.values;
    } catch (const task_error& e) {
      if (e.id != x.id || !throws(x.id)) ++out.wrong;
      ++out.exceptions;
    } catch (const troupe::error&) {
      ++out.broken;  // its worker had stopped: the task never ran (checked by the caller)
    }
  };
  for (int k = 0; k < kTasksPerProducer; ++k) {
    const int id = p * kTasksPerProducer + k;
    const auto& w = workers[rng() % workers.size()];
    inflight.push_back({id, troupe::submit(
                                w,
                                [&out](int i) -> std::int64_t {
                                  out.ran[i].fetch_add(1, std::memory_order_relaxed);
                                  if (throws(i)) throw task_error(i);
                                  return expected_value(i);
                                },
                                id)});
    if (inflight.size() == kMaxInFlight) {
      const std::size_t victim = (rng() % 4 == 0) ? rng() % inflight.size() : 0;
      consume(inflight[victim]);
      inflight.erase(inflight.begin() + static_cast<std::ptrdiff_t>(victim));
    }
  }
  for (auto& x : inflight) consume(x);
}

void run(bool close_one_mid_stream) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  std::atomic<std::uint64_t> dead_letters{0};
  troupe::runtime_config cfg;
  cfg.workers = kWorkers;
  cfg.on_dead_letter = [&dead_letters](const troupe::dead_letter&) { ++dead_letters; };
  troupe::runtime rt(cfg);
  std::vector<troupe::task_worker::handle> workers;
  for (int i = 0; i < kWorkers; ++i) workers.push_back(rt.spawn<troupe::task_worker>());

  auto out = std::make_unique<Outcomes>();
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] { produce(p, seed, workers, *out); });
  }
  if (close_one_mid_stream) {
    std::mt19937_64 rng(seed ^ 0xC105Eull);
    // Close worker 0 once a random share of the tasks have been handed over.
    const int at = static_cast<int>(rng() % (kTotal / 2)) + kTotal / 8;
    while (out->values + out->exceptions + out->broken < at) std::this_thread::yield();
    workers[0].close();
  }
  for (auto& t : producers) t.join();
  rt.shutdown();

  int ran_once = 0;
  for (int id = 0; id < kTotal; ++id) {
    const int n = out->ran[id].load();
    ASSERT_LE(n, 1) << "task " << id << " ran " << n << " times";
    ran_once += n;
  }
  EXPECT_EQ(out->wrong.load(), 0) << "results delivered with the wrong value or exception";
  EXPECT_EQ(out->values + out->exceptions + out->broken, kTotal)
      << "every result is delivered exactly once";
  EXPECT_EQ(ran_once, out->values + out->exceptions) << "a completed result <=> its task ran";
  EXPECT_EQ(static_cast<std::uint64_t>(out->broken.load()), dead_letters.load())
      << "broken results are exactly the dead-lettered tasks";
  if (close_one_mid_stream) {
    // Thousands of submissions follow the close, about half of them to the closed worker.
    EXPECT_GT(out->broken.load(), 0) << "the close should have broken some results";
    EXPECT_GT(ran_once, 0);
  } else {
    EXPECT_EQ(out->broken.load(), 0);
    EXPECT_EQ(ran_once, kTotal);
  }

  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered)
      << "sent=" << s.sent << " handled=" << s.handled << " dead_lettered=" << s.dead_lettered;
  EXPECT_EQ(s.sent, static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(s.handled, static_cast<std::uint64_t>(ran_once));
  EXPECT_EQ(s.dead_lettered, dead_letters.load());
  EXPECT_EQ(s.failed, 0u);
}

TEST(TaskWorkerStress, ManyThreadsSubmitToTwoWorkers) { run(false); }

TEST(TaskWorkerStress, WorkerClosedMidStream) { run(true); }

}  // namespace
