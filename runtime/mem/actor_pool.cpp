// runtime/mem/actor_pool.cpp — see actor_pool.hpp.
#include "mem/actor_pool.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "troupe/detail/actor_base.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_ACTOR_POOL_BYPASS 1
#else
#define TROUPE_ACTOR_POOL_BYPASS 0
#endif

namespace troupe::detail {

// The class-specific allocation functions of every actor (declared in actor_base.hpp).
void* actor_base::operator new(std::size_t bytes) { return actor_pool_allocate(bytes); }
void actor_base::operator delete(void* p, std::size_t bytes) noexcept {
  actor_pool_release(p, bytes);
}

namespace {

constexpr std::size_t class_count = actor_pool_max_bytes / actor_pool_granule + 1;
constexpr std::size_t min_block = 24;  // a free block holds a batch header (3 words)
constexpr std::uint32_t batch_blocks = actor_pool_cache_blocks / 2;

// A free block. Blocks of one batch are linked through `next`; a batch's first block also
// holds the link to the next batch and the batch's length.
struct free_block {
  free_block* next;
  free_block* next_batch;
  std::size_t count;
};
static_assert(sizeof(free_block) <= min_block);

constexpr std::size_t class_of(std::size_t bytes) noexcept {
  const std::size_t b = bytes < min_block ? min_block : bytes;
  return (b + actor_pool_granule - 1) / actor_pool_granule;
}
constexpr std::size_t first_class = class_of(0);  // smaller classes are never used
constexpr std::size_t block_size(std::size_t c) noexcept { return c * actor_pool_granule; }
constexpr std::size_t blocks_per_chunk(std::size_t c) noexcept {
  return actor_pool_chunk_bytes / block_size(c);
}

// An uncarved stretch [this, end) of a chunk, kept in the depot (written into its first
// block, so no other byte of it is touched until it is carved).
struct region {
  region* next;
  char* end;
};

// Per class: the batches of free blocks and the uncarved regions any thread may take.
// Fields under mu.
struct alignas(64) depot_class {
  std::mutex mu;
  free_block* batches = nullptr;
  std::size_t blocks = 0;  // in batches
  region* regions = nullptr;
  std::size_t region_blocks = 0;  // uncarved blocks in regions
  std::vector<char*> chunks;      // every chunk of this class the pool holds
};
depot_class depot[class_count];

// One thread's blocks per class; touched by that thread only.
struct class_cache {
  free_block* head;
  std::uint32_t count;
  char* bump;  // the uncarved rest of this thread's current chunk
  char* bump_end;
};
struct thread_cache {
  class_cache classes[class_count];
  bool armed;      // the thread-exit hook is registered
  bool torn_down;  // the hook has run: this thread is exiting, cache no more
};
constinit thread_local thread_cache tls_cache{};

void depot_push(std::size_t c, free_block* first, std::size_t count) noexcept {
  if (count == 0) return;
  depot_class& d = depot[c];
  std::lock_guard lock(d.mu);
  first->count = count;
  first->next_batch = d.batches;
  d.batches = first;
  d.blocks += count;
}

/// Takes one batch, or nullptr; *count gets its length.
free_block* depot_pop(std::size_t c, std::size_t* count) noexcept {
  depot_class& d = depot[c];
  std::lock_guard lock(d.mu);
  free_block* b = d.batches;
  if (b == nullptr) return nullptr;
  d.batches = b->next_batch;
  d.blocks -= b->count;
  *count = b->count;
  return b;
}

void depot_push_region(std::size_t c, char* from, char* to) noexcept {
  if (to - from < static_cast<std::ptrdiff_t>(block_size(c))) return;
  depot_class& d = depot[c];
  std::lock_guard lock(d.mu);
  auto* r = reinterpret_cast<region*>(from);
  r->next = d.regions;
  r->end = to;
  d.regions = r;
  d.region_blocks += static_cast<std::size_t>(to - from) / block_size(c);
}

/// An uncarved region [*from, *to) for class c: from the depot, else a new chunk.
void take_region(std::size_t c, char** from, char** to) {
  depot_class& d = depot[c];
  {
    std::lock_guard lock(d.mu);
    if (region* r = d.regions) {
      d.regions = r->next;
      d.region_blocks -=
          static_cast<std::size_t>(r->end - reinterpret_cast<char*>(r)) / block_size(c);
      *from = reinterpret_cast<char*>(r);
      *to = r->end;
      return;
    }
  }
  // Aligned to its size, so a block's chunk is its address rounded down (see trim). Only
  // the blocks carved are ever touched: the chunk costs resident memory as it fills.
  auto* p = static_cast<char*>(
      ::operator new (actor_pool_chunk_bytes, std::align_val_t{actor_pool_chunk_bytes}));
  {
    std::lock_guard lock(d.mu);
    try {
      d.chunks.push_back(p);
    } catch (...) {
      ::operator delete (p, std::align_val_t{actor_pool_chunk_bytes});
      throw;
    }
  }
  *from = p;
  *to = p + blocks_per_chunk(c) * block_size(c);
}

// Returns this thread's blocks (and uncarved chunk rests) to the depot at thread exit.
void flush_this_thread() noexcept {
  for (std::size_t c = first_class; c < class_count; ++c) {
    class_cache& cc = tls_cache.classes[c];
    depot_push(c, cc.head, cc.count);
    depot_push_region(c, cc.bump, cc.bump_end);
    cc = class_cache{};
  }
}

struct cache_cleanup {
  ~cache_cleanup() {
    flush_this_thread();
    tls_cache.armed = false;
    tls_cache.torn_down = true;
  }
};

void arm_cleanup() noexcept {
  // A thread_local with a destructor: constructed (and its destructor registered) on the
  // first call in each thread.
  static thread_local cache_cleanup cleanup;
  (void)cleanup;
  tls_cache.armed = true;
}

void* allocate_slow(std::size_t c) {
  const std::size_t size = block_size(c);
  if (!tls_cache.armed) {
    if (tls_cache.torn_down) {
      // The thread is exiting: no cache any more. Take one block through the depot.
      std::size_t n = 0;
      if (free_block* b = depot_pop(c, &n)) {
        if (n > 1) depot_push(c, b->next, n - 1);
        return b;
      }
      char *from = nullptr, *to = nullptr;
      take_region(c, &from, &to);
      depot_push_region(c, from + size, to);
      return from;
    }
    arm_cleanup();
  }
  class_cache& cc = tls_cache.classes[c];
  std::size_t n = 0;
  if (free_block* b = depot_pop(c, &n)) {
    cc.head = b->next;
    cc.count = static_cast<std::uint32_t>(n - 1);
    return b;
  }
  if (cc.bump == cc.bump_end) take_region(c, &cc.bump, &cc.bump_end);
  void* p = cc.bump;
  cc.bump += size;
  return p;
}

}  // namespace

void* actor_pool_allocate(std::size_t bytes) {
  if (TROUPE_ACTOR_POOL_BYPASS || bytes > actor_pool_max_bytes) return ::operator new(bytes);
  const std::size_t c = class_of(bytes);
  class_cache& cc = tls_cache.classes[c];
  if (free_block* b = cc.head) {
    cc.head = b->next;
    --cc.count;
    return b;
  }
  return allocate_slow(c);
}

void actor_pool_release(void* p, std::size_t bytes) noexcept {
  if (TROUPE_ACTOR_POOL_BYPASS || bytes > actor_pool_max_bytes) {
    ::operator delete(p);
    return;
  }
  const std::size_t c = class_of(bytes);
  auto* b = static_cast<free_block*>(p);
  if (!tls_cache.armed) {
    if (tls_cache.torn_down) {
      b->next = nullptr;
      depot_push(c, b, 1);
      return;
    }
    arm_cleanup();
  }
  class_cache& cc = tls_cache.classes[c];
  b->next = cc.head;
  cc.head = b;
  if (++cc.count > actor_pool_cache_blocks) {
    // Keep the most recently freed (cache-hot) blocks; move the rest as one batch.
    free_block* last_kept = cc.head;
    for (std::uint32_t i = 1; i < cc.count - batch_blocks; ++i) last_kept = last_kept->next;
    free_block* batch = last_kept->next;
    last_kept->next = nullptr;
    cc.count -= batch_blocks;
    depot_push(c, batch, batch_blocks);
  }
}

void actor_pool_trim() noexcept {
  if (TROUPE_ACTOR_POOL_BYPASS) return;
  // This thread's blocks count too (typically the thread that spawned the runtime's
  // actors from outside and now destroys it): with them in the depot, whole classes can
  // take the fast path below.
  flush_this_thread();
  try {
    for (std::size_t c = first_class; c < class_count; ++c) {
      depot_class& d = depot[c];
      std::lock_guard lock(d.mu);
      if (d.chunks.empty()) continue;
      const std::size_t size = block_size(c);
      if (d.blocks + d.region_blocks == d.chunks.size() * blocks_per_chunk(c)) {
        // Every block of every chunk is free in the depot (the common case once a runtime's
        // actors are all gone and its workers have exited): no need to look at them.
        for (char* chunk : d.chunks) {
          ::operator delete (chunk, std::align_val_t{actor_pool_chunk_bytes});
        }
        d.chunks.clear();
        d.batches = nullptr;
        d.blocks = 0;
        d.regions = nullptr;
        d.region_blocks = 0;
        continue;
      }
      const auto chunk_of = [](const void* p) {
        return reinterpret_cast<std::uintptr_t>(p) & ~(actor_pool_chunk_bytes - 1);
      };
      // Count the depot's free blocks per chunk (chunks are aligned to their size).
      std::unordered_map<std::uintptr_t, std::size_t> per_chunk;
      for (free_block* batch = d.batches; batch != nullptr; batch = batch->next_batch) {
        for (free_block* b = batch; b != nullptr; b = b->next) ++per_chunk[chunk_of(b)];
      }
      for (region* r = d.regions; r != nullptr; r = r->next) {
        per_chunk[chunk_of(r)] +=
            static_cast<std::size_t>(r->end - reinterpret_cast<char*>(r)) / size;
      }
      const auto complete = [&](const void* p) {
        return per_chunk.find(chunk_of(p))->second == blocks_per_chunk(c);  // always found
      };
      region* regions = d.regions;  // keep those not in complete chunks
      d.regions = nullptr;
      d.region_blocks = 0;
      while (regions != nullptr) {
        region* const next = regions->next;
        if (!complete(regions)) {
          regions->next = d.regions;
          d.regions = regions;
          d.region_blocks +=
              static_cast<std::size_t>(regions->end - reinterpret_cast<char*>(regions)) / size;
        }
        regions = next;
      }
      // Rebuild the batches without the blocks of complete chunks.
      free_block* keep = nullptr;
      for (free_block* batch = d.batches; batch != nullptr;) {
        free_block* const next_batch = batch->next_batch;
        for (free_block* b = batch; b != nullptr;) {
          free_block* const next = b->next;
          if (!complete(b)) {
            b->next = keep;
            keep = b;
          }
          b = next;
        }
        batch = next_batch;
      }
      d.batches = nullptr;
      d.blocks = 0;
      while (keep != nullptr) {  // back into batches of batch_blocks
        free_block* first = keep;
        std::size_t n = 1;
        free_block* last = first;
        while (n < batch_blocks && last->next != nullptr) {
          last = last->next;
          ++n;
        }
        keep = last->next;
        last->next = nullptr;
        first->count = n;
        first->next_batch = d.batches;
        d.batches = first;
        d.blocks += n;
      }
      std::erase_if(d.chunks, [&](char* chunk) {
        const auto it = per_chunk.find(reinterpret_cast<std::uintptr_t>(chunk));
        if (it == per_chunk.end() || it->second != blocks_per_chunk(c)) return false;
        ::operator delete (chunk, std::align_val_t{actor_pool_chunk_bytes});
        return true;
      });
    }
  } catch (...) {
    // Out of memory for the bookkeeping: keep everything; a later trim may succeed.
  }
}

actor_pool_class_stats actor_pool_stats(std::size_t bytes) noexcept {
  if (bytes > actor_pool_max_bytes) return {0, 0};
  depot_class& d = depot[class_of(bytes)];
  std::lock_guard lock(d.mu);
  return {d.blocks, d.chunks.size()};
}

}  // namespace troupe::detail
