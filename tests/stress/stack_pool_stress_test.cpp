// Stress test of runtime/fiber/stack_pool: three threads acquire and release stacks in seeded
// random order against one pool shrunk to small capacities (3 warm stacks, trim batches of 2,
// slabs of at most 4 stacks), so that every path runs concurrently with the others: warm reuse,
// reuse of a stack waiting to be trimmed, a batch trimmed outside the lock while other threads
// take and return stacks, reuse of trimmed stacks, and new slabs mapped by two threads at once.
// Checks:
//   - no stack is handed to two owners at once (INV-STACK-2): each owner writes its own token
//     into the stack's top and lowest bytes when it takes the stack, and finds them intact when
//     it gives it back (under TSan, two owners would also be a reported race);
//   - every stack is usable from its bottom() to its top() (INV-STACK-1);
//   - conservation after the threads join: mapped == cached + trimmed, nothing outstanding,
//     at most max_cached + trim_batch - 1 stacks still resident (INV-STACK-2).
// Every random choice comes from one seed, printed on failure; TROUPE_TEST_SEED replays it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fiber/stack_pool.hpp"
#include "support/troupe_test_support.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int ops_per_thread = 4'000;
#else
constexpr int ops_per_thread = 40'000;
#endif
constexpr int threads = 3;
constexpr std::size_t most_held = 12;  // stacks one thread holds at most

struct held {
  fiber_stack stack;
  std::uint64_t token;
};

void write_token(const fiber_stack& s, std::uint64_t token) {
  std::memcpy(s.top() - sizeof token, &token, sizeof token);
  std::memcpy(s.bottom(), &token, sizeof token);
}

bool token_intact(const fiber_stack& s, std::uint64_t token) {
  std::uint64_t top = 0, bottom = 0;
  std::memcpy(&top, s.top() - sizeof top, sizeof top);
  std::memcpy(&bottom, s.bottom(), sizeof bottom);
  return top == token && bottom == token;
}

TEST(StackPoolStress, ThreeThreadsTakeAndReturnStacksAndNoStackHasTwoOwners) {
  const std::uint64_t seed = troupe::test::base_seed();
  SCOPED_TRACE(troupe::test::seed_trace(seed));
  stack_pool pool(
      {.stack_size = 16 * 1024, .max_cached = 3, .trim_batch = 2, .max_slab_stacks = 4});
  std::vector<int> clashes(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&pool, &clashes, seed, t] {
      std::mt19937_64 rng(troupe::test::mix(seed + static_cast<std::uint64_t>(t)));
      std::vector<held> mine;
      std::uint64_t next_token = (static_cast<std::uint64_t>(t) + 1) << 48;
      for (int op = 0; op < ops_per_thread; ++op) {
        const bool take = mine.empty() || (mine.size() < most_held && rng() % 2 == 0);
        if (take) {
          held h{pool.acquire(), ++next_token};
          write_token(h.stack, h.token);
          mine.push_back(std::move(h));
        } else {
          const std::size_t i = rng() % mine.size();
          if (!token_intact(mine[i].stack, mine[i].token)) ++clashes[static_cast<std::size_t>(t)];
          mine[i] = std::move(mine.back());
          mine.pop_back();  // the handle gives the stack back
        }
      }
      for (const held& h : mine) {
        if (!token_intact(h.stack, h.token)) ++clashes[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& w : workers) w.join();

  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(clashes[static_cast<std::size_t>(t)], 0) << "thread " << t;
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.mapped(), pool.cached() + pool.trimmed());
  EXPECT_LE(pool.cached(), pool.max_cached() + pool.trim_batch() - 1);
  // A slab is mapped only when no stack is free: every other one is then held, being trimmed
  // by its releasing thread, or in a slab another thread is mapping at the same moment.
  EXPECT_LE(pool.mapped(), threads * (most_held + pool.trim_batch() + 4))
      << "stacks are reused, not mapped anew";
  std::printf(
      "[ info     ] seed %llu: %zu stacks in %zu slabs, %zu resident and %zu trimmed at the end\n",
      static_cast<unsigned long long>(seed), pool.mapped(), pool.slabs(), pool.cached(),
      pool.trimmed());
}

}  // namespace
}  // namespace troupe::detail
