// runtime/actor/actor_id.cpp — process-unique actor ids (actor_base::id()).
//
// One 64-bit counter for the process, taken in blocks: each thread keeps a block of
// `id_block` ids and refills it with one fetch_add on the counter, so spawning on many
// threads at once contends on the counter once per 1024 actors, not per actor. Ids are never
// reused: at a million spawns a second the counter lasts half a million years. Blocks a
// thread takes but never uses up are simply skipped.
#include <cstdint>

#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {
namespace {

constexpr std::uint64_t id_block = 1024;

// The next unassigned block starts here; 0 is never an id.
atomic<std::uint64_t> next_block{1};

struct id_range {
  std::uint64_t next = 0;
  std::uint64_t end = 0;  // next == end: empty, take a block
};

thread_local id_range tls_ids;

}  // namespace

actor_id next_actor_id() noexcept {
  id_range& r = tls_ids;
  if (r.next == r.end) {
    // relaxed: the RMW alone makes the blocks disjoint; an id publishes nothing (it is
    // stored in the actor, which is published by whatever publishes the actor).
    r.next = next_block.fetch_add(id_block, memory_order_relaxed);
    r.end = r.next + id_block;
  }
  return r.next++;
}

}  // namespace troupe::detail
