// troupe/detail/node_pool.hpp — pooled memory for mailbox nodes.
//
// Design: a per-thread, per-size-class free list (16-byte classes up to max_pooled_bytes).
// A send allocates from the sending thread's list; the consumer frees into its own list.
// Why per-thread lists and not a shared slab: allocation and free are then plain pointer
// pushes and pops with no atomic at all, and the common actor patterns (request/reply on
// one worker, an actor sending to itself) recycle the same few hot nodes. Traffic that
// flows one way between threads drains the sender's list and fills the receiver's; the
// receiver keeps at most max_cached_per_class nodes per class and hands the surplus back
// to the global allocator, so memory stays bounded. A thread's cached nodes are returned
// when the thread exits.
//
// One-way traffic from a thread outside the pool of workers (a benchmark's or an
// application's sending thread) would make that thread allocate every node from the global
// allocator while the workers hand every node back to it. So a thread whose list is full
// collects its surplus into a batch of pool_batch_blocks and moves the whole batch to a
// shared depot (one mutex per class, at most pool_depot_max_batches batches; while it is
// full, surplus blocks go to the global allocator at once, as without a depot). A thread
// whose list is empty takes a batch from the depot before it asks the global allocator —
// unless it is a worker thread (pool_no_depot_refill()): workers both send and receive, and
// feeding their sends from the depot moved nodes back and forth between cores (BM_FanIn
// lost two thirds of its rate in an earlier always-on depot). The depot keeps its blocks
// for the life of the process.
//
// Blocks larger than max_pooled_bytes, or over-aligned, go to ::operator new directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace troupe::detail {

inline constexpr std::size_t pool_granule = 16;
inline constexpr std::size_t max_pooled_bytes = 256;
inline constexpr std::size_t pool_classes = max_pooled_bytes / pool_granule + 1;
inline constexpr std::uint32_t max_cached_per_class = 4096;
inline constexpr std::uint32_t pool_batch_blocks = 64;       // blocks per depot batch
inline constexpr std::uint32_t pool_depot_max_batches = 64;  // per class

struct pool_free_block {
  pool_free_block* next;
};
struct pool_free_list {
  pool_free_block* head;
  std::uint32_t count;
};
struct pool_thread_cache {
  pool_free_list lists[pool_classes];
  pool_free_list spill[pool_classes];  // surplus of a full list: the next depot batch
  bool cleanup_registered;             // the thread-exit hook that returns cached blocks is armed
  bool torn_down;                      // the hook has run: this thread is exiting, cache no more
  bool no_depot_refill;                // a worker thread: a cache miss goes to the global allocator
};

// Constant-initialised and trivially destructible, so access needs no TLS guard; the
// thread-exit cleanup is a separate object armed on first use (arm_pool_cleanup).
constinit inline thread_local pool_thread_cache tls_pool{};

void* pool_allocate_slow(std::size_t bytes);                  // cache miss: ::operator new
void pool_release_slow(void* p, std::size_t bytes) noexcept;  // overflow or first use
void arm_pool_cleanup() noexcept;
/// Marks the calling thread as one that both sends and receives (a worker): its cache
/// misses skip the depot.
inline void pool_no_depot_refill() noexcept { tls_pool.no_depot_refill = true; }
/// Blocks of `bytes`' class now in the depot (a snapshot, for tests and statistics).
std::size_t pool_depot_blocks(std::size_t bytes) noexcept;

/// Size class of a request: class c holds blocks of c * pool_granule bytes. A zero-byte
/// request gets class 1, so every block can hold the free-list link.
constexpr std::size_t pool_class_of(std::size_t bytes) noexcept {
  return bytes == 0 ? 1 : (bytes + pool_granule - 1) / pool_granule;
}

/// Allocates `bytes` with alignment alignof(std::max_align_t) (16 on x86-64).
inline void* pool_allocate(std::size_t bytes) {
  if (bytes <= max_pooled_bytes) {
    pool_free_list& l = tls_pool.lists[pool_class_of(bytes)];
    if (pool_free_block* b = l.head) {
      l.head = b->next;
      --l.count;
      return b;
    }
  }
  return pool_allocate_slow(bytes);
}

/// Returns a block from pool_allocate(bytes), on any thread.
inline void pool_release(void* p, std::size_t bytes) noexcept {
  if (bytes <= max_pooled_bytes && tls_pool.cleanup_registered) {
    pool_free_list& l = tls_pool.lists[pool_class_of(bytes)];
    if (l.count < max_cached_per_class) {
      auto* b = static_cast<pool_free_block*>(p);
      b->next = l.head;
      l.head = b;
      ++l.count;
      return;
    }
  }
  pool_release_slow(p, bytes);
}

}  // namespace troupe::detail
