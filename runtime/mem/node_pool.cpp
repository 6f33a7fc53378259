// runtime/mem/node_pool.cpp — the slow paths of the per-thread node pool
// (include/troupe/detail/node_pool.hpp): cache misses, overflow, and returning a thread's
// cached blocks when it exits, and the depot that carries batches of surplus blocks from
// threads that free more than they allocate to threads that allocate more than they free.
//
// Invariants of the depot (per class):
//   INV-DEPOT-1  Every batch holds exactly pool_batch_blocks blocks of the class, linked
//                through pool_free_block::next; its first block also holds the link to the
//                next batch. batches/count are guarded by mu.
//   INV-DEPOT-2  count <= pool_depot_max_batches; approx mirrors count (written under mu,
//                read without it only as a hint whether locking can succeed).
#include "troupe/detail/node_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {
namespace {

std::size_t block_bytes(std::size_t bytes) noexcept {
  // Pooled blocks of one class must be interchangeable: allocate the class's full size.
  return bytes <= max_pooled_bytes ? pool_class_of(bytes) * pool_granule : bytes;
}

struct batch_block {  // the first block of a depot batch
  pool_free_block* next;
  batch_block* next_batch;
};
static_assert(sizeof(batch_block) <= pool_granule, "class 1 must hold a batch header");

struct alignas(cache_line) depot_class {
  std::mutex mu;
  batch_block* batches = nullptr;  // under mu
  std::uint32_t count = 0;         // under mu
  atomic<std::uint32_t> approx{0};
};
// Never destroyed: threads may still use it during static destruction, and its blocks stay
// reachable (not leaks) until the process ends.
depot_class* depots() noexcept {
  alignas(depot_class) static unsigned char storage[sizeof(depot_class) * pool_classes];
  static depot_class* d = ::new (storage) depot_class[pool_classes];
  return d;
}

void free_list_to_global(pool_free_list& l) noexcept {
  while (pool_free_block* b = l.head) {
    l.head = b->next;
    ::operator delete(b);
  }
  l.count = 0;
}

// Moves a full spill list (pool_batch_blocks blocks) to the depot, or to the global
// allocator when the depot is full.
void spill_batch(std::size_t c, pool_free_list& spill) noexcept {
  depot_class& d = depots()[c];
  // relaxed: a hint only; the decision is taken again under mu.
  if (d.approx.load(memory_order_relaxed) < pool_depot_max_batches) {
    std::lock_guard lock(d.mu);
    if (d.count < pool_depot_max_batches) {
      auto* first = reinterpret_cast<batch_block*>(spill.head);
      first->next_batch = d.batches;
      d.batches = first;
      ++d.count;
      // relaxed: a hint for lock-free readers; mu orders the batch itself.
      d.approx.store(d.count, memory_order_relaxed);
      spill.head = nullptr;
      spill.count = 0;
      return;
    }
  }
  free_list_to_global(spill);
}

// Refills this thread's empty list of class c from the depot. False if the depot is empty.
bool refill_from_depot(std::size_t c) noexcept {
  depot_class& d = depots()[c];
  // relaxed: a hint only; the decision is taken again under mu.
  if (d.approx.load(memory_order_relaxed) == 0) return false;
  batch_block* first;
  {
    std::lock_guard lock(d.mu);
    first = d.batches;
    if (first == nullptr) return false;
    d.batches = first->next_batch;
    --d.count;
    // relaxed: a hint for lock-free readers; mu orders the batch itself.
    d.approx.store(d.count, memory_order_relaxed);
  }
  pool_free_list& l = tls_pool.lists[c];
  l.head = reinterpret_cast<pool_free_block*>(first);
  l.count = pool_batch_blocks;
  return true;
}

// Returns every cached block of this thread to the global allocator at thread exit.
struct pool_cleanup {
  ~pool_cleanup() {
    for (pool_free_list& l : tls_pool.lists) free_list_to_global(l);
    for (pool_free_list& l : tls_pool.spill) free_list_to_global(l);
    tls_pool.cleanup_registered = false;  // later frees on this thread bypass the cache
    tls_pool.torn_down = true;
  }
};

}  // namespace

void arm_pool_cleanup() noexcept {
  // A thread_local with a destructor: constructed (and its destructor registered) on the
  // first call in each thread.
  static thread_local pool_cleanup cleanup;
  (void)cleanup;
  tls_pool.cleanup_registered = true;
}

void* pool_allocate_slow(std::size_t bytes) {
  if (!tls_pool.cleanup_registered && !tls_pool.torn_down) arm_pool_cleanup();
  if (bytes <= max_pooled_bytes && tls_pool.cleanup_registered && !tls_pool.no_depot_refill &&
      refill_from_depot(pool_class_of(bytes))) {
    return pool_allocate(bytes);  // now cached
  }
  return ::operator new(block_bytes(bytes));
}

void pool_release_slow(void* p, std::size_t bytes) noexcept {
  if (bytes <= max_pooled_bytes && !tls_pool.cleanup_registered && !tls_pool.torn_down) {
    arm_pool_cleanup();
    pool_release(p, bytes);  // now cached
    return;
  }
  if (bytes <= max_pooled_bytes && tls_pool.cleanup_registered) {
    // The list is full: collect the surplus into the next depot batch, unless the depot is
    // full anyway (no thread drains it): then free at once, while the block is hot.
    const std::size_t c = pool_class_of(bytes);
    // relaxed: a hint; spill_batch decides under the mutex.
    if (depots()[c].approx.load(memory_order_relaxed) >= pool_depot_max_batches) {
      ::operator delete(p);
      return;
    }
    pool_free_list& spill = tls_pool.spill[c];
    auto* b = static_cast<pool_free_block*>(p);
    b->next = spill.head;
    spill.head = b;
    if (++spill.count == pool_batch_blocks) spill_batch(c, spill);
    return;
  }
  ::operator delete(p);
}

std::size_t pool_depot_blocks(std::size_t bytes) noexcept {
  if (bytes > max_pooled_bytes) return 0;
  depot_class& d = depots()[pool_class_of(bytes)];
  std::lock_guard lock(d.mu);
  return std::size_t{d.count} * pool_batch_blocks;
}

}  // namespace troupe::detail
