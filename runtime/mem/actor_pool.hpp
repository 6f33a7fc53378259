// runtime/mem/actor_pool.hpp — memory for actor objects: exact-size blocks carved from
// 1 MiB chunks, so an actor costs its sizeof and nothing more (malloc would add an 8-byte
// header and round to 16).
//
// Design (a small slab allocator in the spirit of tcmalloc's thread caches + central lists):
//   * Size classes of 8 bytes, up to actor_pool_max_bytes. A request is sizeof(T) of the
//     actor type, which is a multiple of alignof(T); blocks of one class are carved from a
//     chunk aligned to actor_pool_chunk_bytes at multiples of the class size, so every block
//     is aligned to the largest power of two dividing its size (capped at 16), hence to
//     alignof(T) (the class operator new sees only types with alignof <= 16).
//   * Each thread keeps, per class, a free list (no atomics, no locks) and the uncarved
//     rest of its current chunk. Allocation: free list, else a batch from the depot, else
//     carve, else a new chunk.
//   * Blocks freed by a thread go to its own free list; beyond actor_pool_cache_blocks a
//     batch of half of them moves to the depot (one mutex per class), where any thread's
//     allocation takes it. A thread's free lists and uncarved chunk rest go to the depot
//     when it exits.
//   * actor_pool_trim() moves the calling thread's cache to the depot, then gives chunks
//     whose every block is in the depot back to the system allocator; the runtime calls it
//     when a runtime_core is destroyed, so a burst of actors does not pin its memory for
//     the life of the process.
//
// Under AddressSanitizer every call goes straight to ::operator new/delete, so ASan keeps
// seeing each actor's lifetime.
#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::detail {

inline constexpr std::size_t actor_pool_granule = 8;
inline constexpr std::size_t actor_pool_max_bytes = 512;
inline constexpr std::size_t actor_pool_chunk_bytes = std::size_t{1} << 20;
inline constexpr std::uint32_t actor_pool_cache_blocks = 1024;

/// A block of `bytes` (a multiple of its type's alignment, which is at most 16).
void* actor_pool_allocate(std::size_t bytes);
/// Returns a block from actor_pool_allocate(bytes), on any thread.
void actor_pool_release(void* p, std::size_t bytes) noexcept;
/// Moves this thread's cached blocks to the depot, then frees the chunks all of whose
/// blocks sit in the depot. Any thread; takes the depot locks.
void actor_pool_trim() noexcept;

/// For tests: blocks currently held in the depot for the class of `bytes`, and the number
/// of chunks the pool holds for that class.
struct actor_pool_class_stats {
  std::size_t depot_blocks;
  std::size_t chunks;
};
actor_pool_class_stats actor_pool_stats(std::size_t bytes) noexcept;

}  // namespace troupe::detail
