// runtime/mem/node_pool.cpp — the slow paths of the per-thread node pool
// (include/troupe/detail/node_pool.hpp): cache misses, overflow, and returning a thread's
// cached blocks when it exits.
#include "troupe/detail/node_pool.hpp"

#include <cstddef>
#include <new>

namespace troupe::detail {
namespace {

std::size_t block_bytes(std::size_t bytes) noexcept {
  // Pooled blocks of one class must be interchangeable: allocate the class's full size.
  return bytes <= max_pooled_bytes ? pool_class_of(bytes) * pool_granule : bytes;
}

// Returns every cached block of this thread to the global allocator at thread exit.
struct pool_cleanup {
  ~pool_cleanup() {
    for (pool_free_list& l : tls_pool.lists) {
      while (pool_free_block* b = l.head) {
        l.head = b->next;
        ::operator delete(b);
      }
      l.count = 0;
    }
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
  return ::operator new(block_bytes(bytes));
}

void pool_release_slow(void* p, std::size_t bytes) noexcept {
  if (bytes <= max_pooled_bytes && !tls_pool.cleanup_registered && !tls_pool.torn_down) {
    arm_pool_cleanup();
    pool_release(p, bytes);  // now cached
    return;
  }
  ::operator delete(p);
}

}  // namespace troupe::detail
