// The actor pool (runtime/mem/actor_pool.hpp): exact-size blocks for actor objects, the
// per-thread caches, the depot between threads, and trimming of emptied chunks.
// Each test uses a size class of its own (440 to 480 bytes; the alignment test leaves
// those out), so the depot state one test leaves behind does not affect another, in any
// order. They observe the pool's process-wide state, so each expects to run once per
// process (as ctest runs them), not under --gtest_repeat. Under
// AddressSanitizer the pool is bypassed (every block comes from
// ::operator new), so the tests that observe the pool's internals are skipped there.
#include "mem/actor_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "troupe/actor.hpp"
#include "troupe/runtime.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "the actor pool is bypassed under AddressSanitizer"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

TEST(ActorPool, FreshBlocksAreCarvedBackToBackWithoutPadding) {
  SKIP_UNDER_ASAN();
  // malloc would take 480 for 472 bytes (an 8-byte header, then 16-byte rounding).
  constexpr std::size_t bytes = 472;  // a class no other test uses
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) blocks.push_back(actor_pool_allocate(bytes));
  for (std::size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_EQ(addr(blocks[i]) - addr(blocks[i - 1]), bytes) << "block " << i;
  }
  for (void* p : blocks) actor_pool_release(p, bytes);
}

TEST(ActorPool, AReleasedBlockIsReusedOnTheSameThreadLastInFirstOut) {
  void* a = actor_pool_allocate(480);
  void* b = actor_pool_allocate(480);
  actor_pool_release(a, 480);
  actor_pool_release(b, 480);
  SKIP_UNDER_ASAN();
  EXPECT_EQ(actor_pool_allocate(480), b);
  EXPECT_EQ(actor_pool_allocate(480), a);
  actor_pool_release(a, 480);
  actor_pool_release(b, 480);
}

TEST(ActorPool, BlocksAreAlignedToTheLargestPowerOfTwoDividingTheirSizeUpToSixteen) {
  // On a thread of its own, so that every block goes back to the depot when it exits.
  std::thread([] {
    std::vector<std::pair<void*, std::size_t>> blocks;
    for (std::size_t bytes = 24; bytes <= actor_pool_max_bytes; bytes += 8) {
      if (bytes >= 440 && bytes <= 480) continue;  // the classes the other tests watch
      for (int i = 0; i < 3; ++i) blocks.emplace_back(actor_pool_allocate(bytes), bytes);
    }
    for (auto [p, bytes] : blocks) {
      const std::size_t align = bytes % 16 == 0 ? 16 : 8;
      EXPECT_EQ(addr(p) % align, 0u) << bytes << " bytes";
    }
    for (auto [p, bytes] : blocks) actor_pool_release(p, bytes);
  }).join();
}

TEST(ActorPool, BlocksFreedOnAnExitedThreadGoToTheDepotAndAreReused) {
  SKIP_UNDER_ASAN();
  constexpr std::size_t bytes = 464;
  const std::size_t depot_before = actor_pool_stats(bytes).depot_blocks;
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(actor_pool_allocate(bytes));
  // Freed on another thread, which then exits: its cache goes to the depot.
  std::thread([&] {
    for (void* p : blocks) actor_pool_release(p, bytes);
  }).join();
  EXPECT_EQ(actor_pool_stats(bytes).depot_blocks, depot_before + blocks.size());
  // This thread's cache is empty for the class: the next allocations come from the depot.
  const std::set<void*> freed(blocks.begin(), blocks.end());
  std::vector<void*> again;
  for (std::size_t i = 0; i < blocks.size(); ++i) again.push_back(actor_pool_allocate(bytes));
  for (void* p : again) EXPECT_TRUE(freed.count(p) == 1) << "not one of the freed blocks";
  for (void* p : again) actor_pool_release(p, bytes);
}

TEST(ActorPool, ACacheOverflowMovesABatchToTheDepot) {
  SKIP_UNDER_ASAN();
  constexpr std::size_t bytes = 456;
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i <= actor_pool_cache_blocks; ++i) {
    blocks.push_back(actor_pool_allocate(bytes));
  }
  const std::size_t depot_before = actor_pool_stats(bytes).depot_blocks;
  for (void* p : blocks) actor_pool_release(p, bytes);  // one more than the cache holds
  EXPECT_EQ(actor_pool_stats(bytes).depot_blocks, depot_before + actor_pool_cache_blocks / 2);
  for (auto& p : blocks) p = actor_pool_allocate(bytes);  // take them back (cache + depot)
  for (void* p : blocks) actor_pool_release(p, bytes);
}

TEST(ActorPool, TrimFreesChunksWhoseBlocksAreAllInTheDepotAndKeepsTheOthers) {
  SKIP_UNDER_ASAN();
  constexpr std::size_t bytes = 448;
  const std::size_t per_chunk = actor_pool_chunk_bytes / bytes;
  const std::size_t chunks_before = actor_pool_stats(bytes).chunks;
  void* held = nullptr;
  std::thread([&] {
    // Two and a half chunks' worth, allocated on a thread that frees all but the first
    // and exits: its cache and its chunk's uncarved rest go to the depot.
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < per_chunk * 5 / 2; ++i) {
      blocks.push_back(actor_pool_allocate(bytes));
    }
    held = blocks.front();
    for (std::size_t i = 1; i < blocks.size(); ++i) actor_pool_release(blocks[i], bytes);
  }).join();
  EXPECT_EQ(actor_pool_stats(bytes).chunks, chunks_before + 3);
  actor_pool_trim();
  EXPECT_EQ(actor_pool_stats(bytes).chunks, chunks_before + 1) << "only the held chunk stays";
  // The kept chunk's free blocks are still usable.
  void* more = actor_pool_allocate(bytes);
  EXPECT_NE(more, held);
  actor_pool_release(more, bytes);
  actor_pool_release(held, bytes);
}

TEST(ActorPool, TrimFreesEveryChunkWhenAllTheirBlocksAreBackInTheDepot) {
  SKIP_UNDER_ASAN();
  constexpr std::size_t bytes = 440;
  const std::size_t per_chunk = actor_pool_chunk_bytes / bytes;
  // Only threads that have exited touch this class, so all its blocks are in the depot.
  const std::size_t chunks_before = actor_pool_stats(bytes).chunks;
  std::thread([&] {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < per_chunk * 5 / 2; ++i) {
      blocks.push_back(actor_pool_allocate(bytes));
    }
    for (void* p : blocks) actor_pool_release(p, bytes);
  }).join();
  EXPECT_EQ(actor_pool_stats(bytes).chunks, chunks_before + 3);
  actor_pool_trim();
  EXPECT_EQ(actor_pool_stats(bytes).chunks, 0u);
  EXPECT_EQ(actor_pool_stats(bytes).depot_blocks, 0u);
  void* p = actor_pool_allocate(bytes);  // the class still works: a fresh chunk
  EXPECT_EQ(actor_pool_stats(bytes).chunks, 1u);
  actor_pool_release(p, bytes);
}

struct Ping {};
struct Small : troupe::actor<Small, Ping> {
  void on(Ping) {}
};
std::atomic<int> g_misaligned{0};
struct alignas(64) OverAligned : troupe::actor<OverAligned, Ping> {
  OverAligned() {
    if (reinterpret_cast<std::uintptr_t>(this) % 64 != 0) g_misaligned.fetch_add(1);
  }
  void on(Ping) {}
  char pad[100];
};

TEST(ActorPool, ActorsOfAnyAlignmentAreSpawnedAndStoppedCleanly) {
  troupe::runtime rt(troupe::runtime_config{.workers = 2});
  std::vector<Small::handle> small;
  std::vector<OverAligned::handle> aligned;
  for (int i = 0; i < 1000; ++i) {
    small.push_back(rt.spawn<Small>());
    aligned.push_back(rt.spawn<OverAligned>());
    small.back().send(Ping{});
    aligned.back().send(Ping{});
  }
  EXPECT_EQ(g_misaligned.load(), 0) << "an over-aligned actor must get its alignment";
  rt.shutdown();
  EXPECT_EQ(rt.stats().handled, 2000u);
}

}  // namespace
}  // namespace troupe::detail
