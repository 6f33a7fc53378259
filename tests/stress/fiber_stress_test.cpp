// Stress test of runtime/fiber: two threads take fibers from one shared queue, resume each
// for one step and put it back, so fibers keep migrating between threads (INV-FIBER-2). Each
// fiber runs a seeded number of steps; a seeded fifth of them is destroyed part-way instead, by
// whichever thread holds it then (INV-FIBER-6). Checks:
//   - every fiber ends exactly once: finished exactly once, or unwound exactly once, never
//     both; every destructor on every fiber stack ran exactly once; no stack is left out of
//     the pool (INV-FIBER-3);
//   - a fiber resumes where it left off: each step sees its own previous step, and a value
//     kept in a local across all its suspends survives;
//   - half the fibers suspend inside a catch block and must see their own exception after
//     every resume, whichever thread and whatever other fiber ran in between (INV-FIBER-5);
//   - conservation: resumes performed == steps taken by all fibers + one final resume each.
// Every random choice comes from one seed, printed on failure; TROUPE_TEST_SEED replays it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fiber/fiber.hpp"
#include "fiber/stack_pool.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr int fiber_count = 300;  // TSan: ~1 MiB of TSan state per live fiber
constexpr int max_steps = 40;
constexpr int rounds = 4;
#else
constexpr int fiber_count = 3000;
constexpr int max_steps = 64;
constexpr int rounds = 4;
#endif

std::uint64_t base_seed() {
  if (const char* env = std::getenv("TROUPE_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

[[gnu::noinline]] std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

struct fiber_log {
  int steps = 0;          // steps the body takes before returning
  int kill_after = -1;    // >= 0: destroyed after this many resumes instead
  bool in_catch = false;  // suspends inside a catch block
  // Written by the body (on whichever thread runs it), read by the checker after join.
  int progress = 0;
  int finished = 0;
  int destructors = 0;
  int migrations = 0;
  int errors = 0;  // wrong step order, lost local, wrong exception
};

struct stack_guard {  // lives on the fiber's stack
  fiber_log* r;
  ~stack_guard() { ++r->destructors; }
};

void body(fiber_log& r, std::uint64_t salt) {
  stack_guard guard{&r};
  std::uint64_t local = salt;  // must survive every suspend and migration
  std::thread::id last = this_thread_id();
  auto step = [&](int i) {
    if (r.progress != i) ++r.errors;
    ++r.progress;
    local = local * 6364136223846793005ULL + 1442695040888963407ULL;
    fiber::current()->suspend();
    const std::thread::id now = this_thread_id();
    if (now != last) ++r.migrations;
    last = now;
  };
  if (r.in_catch) {
    try {
      throw static_cast<int>(salt % 1000);
    } catch (int own) {
      for (int i = 0; i < r.steps; ++i) {
        step(i);
        try {
          std::rethrow_exception(std::current_exception());
        } catch (int seen) {
          if (seen != own) ++r.errors;
        }
      }
    }
  } else {
    for (int i = 0; i < r.steps; ++i) step(i);
  }
  std::uint64_t expect = salt;
  for (int i = 0; i < r.steps; ++i)
    expect = expect * 6364136223846793005ULL + 1442695040888963407ULL;
  if (local != expect) ++r.errors;
  ++r.finished;
}

struct task {
  int id = 0;
  int resumes = 0;
  std::unique_ptr<fiber> f;
};

void run_round(std::uint64_t seed) {
  SCOPED_TRACE("seed=" + std::to_string(seed) +
               " (rerun with TROUPE_TEST_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  stack_pool pool({.stack_size = 32 * 1024, .max_cached = 64});
  std::vector<fiber_log> records(fiber_count);
  std::deque<task> queue;
  for (int i = 0; i < fiber_count; ++i) {
    fiber_log& r = records[i];
    r.steps = static_cast<int>(rng() % (max_steps + 1));
    r.in_catch = rng() % 2 == 0;
    if (r.steps > 0 && rng() % 5 == 0) r.kill_after = static_cast<int>(rng() % r.steps) + 1;
    const std::uint64_t salt = rng();
    queue.push_back(
        task{i, 0, std::make_unique<fiber>(pool.acquire(), [&r, salt] { body(r, salt); })});
  }

  std::mutex mu;  // the hand-off: it orders one thread's resume before the next one's
  std::atomic<long> resumes{0};
  auto worker = [&] {
    long mine = 0;
    for (;;) {
      task t;
      {
        std::lock_guard lock(mu);
        if (queue.empty()) break;
        t = std::move(queue.front());
        queue.pop_front();
      }
      const fiber_log& r = records[t.id];
      if (r.kill_after >= 0 && t.resumes == r.kill_after) {
        t.f.reset();  // destroyed unfinished, on this thread
        continue;
      }
      t.f->resume();
      ++t.resumes;
      ++mine;
      if (t.f->done()) {
        if (t.f->exception() != nullptr) ADD_FAILURE() << "fiber " << t.id << " threw";
        continue;  // the fiber object is destroyed here, finished
      }
      std::lock_guard lock(mu);
      queue.push_back(std::move(t));
    }
    resumes.fetch_add(mine, std::memory_order_relaxed);
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();

  long expected_resumes = 0;
  int migrations = 0, killed = 0;
  for (int i = 0; i < fiber_count; ++i) {
    const fiber_log& r = records[i];
    migrations += r.migrations;
    EXPECT_EQ(r.errors, 0) << "fiber " << i;
    EXPECT_EQ(r.destructors, 1) << "fiber " << i;
    if (r.kill_after >= 0) {
      ++killed;
      EXPECT_EQ(r.finished, 0) << "fiber " << i << " was destroyed, it cannot have finished";
      EXPECT_EQ(r.progress, r.kill_after) << "fiber " << i;
      expected_resumes += r.kill_after;
    } else {
      EXPECT_EQ(r.finished, 1) << "fiber " << i;
      EXPECT_EQ(r.progress, r.steps) << "fiber " << i;
      expected_resumes += r.steps + 1;
    }
  }
  EXPECT_EQ(resumes.load(), expected_resumes);
  EXPECT_EQ(pool.outstanding(), 0u);
  std::printf(
      "[ info     ] seed %llu: %d fibers (%d destroyed unfinished), %ld resumes, "
      "%d migrations\n",
      static_cast<unsigned long long>(seed), fiber_count, killed, resumes.load(), migrations);
}

TEST(FiberStress, TwoThreadsShareFibersThroughAQueueAndEachFiberEndsOnce) {
  const std::uint64_t seed = base_seed();
  for (int round = 0; round < rounds; ++round) {
    run_round(seed + static_cast<std::uint64_t>(round));
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace troupe::detail
