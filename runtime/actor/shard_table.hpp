// runtime/actor/shard_table.hpp — process-wide numbering of registry shards, so an actor
// can name its runtime and its shard in 14 bits of its state word instead of keeping an
// 8-byte runtime_core pointer.
//
// Every runtime_core reserves a range of consecutive shard ids (one per registry shard)
// when it is built and returns it when it is destroyed. Id 0 is never handed out: an actor
// whose shard bits are 0 is not registered (its spawn failed) and belongs to no runtime.
//
// shard_owner[id] is written (under the table's mutex) before the runtime can spawn
// anything and cleared after its last actor is gone, so every read through an actor's
// shard bits happens-after the write and before the clear: plain loads, no atomics.
#pragma once

#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {

class runtime_core;

extern runtime_core* shard_owner[actor_state::max_shards];

/// Reserves `n` consecutive ids for `core`; returns the first. Throws troupe::error when
/// the process has no such range left (too many live runtimes with too many workers).
unsigned reserve_shard_ids(unsigned n, runtime_core* core);
/// Returns a range from reserve_shard_ids().
void release_shard_ids(unsigned first, unsigned n) noexcept;

}  // namespace troupe::detail
