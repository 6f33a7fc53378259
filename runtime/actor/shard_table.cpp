// runtime/actor/shard_table.cpp — see shard_table.hpp.
#include "actor/shard_table.hpp"

#include <mutex>

#include "troupe/error.hpp"

namespace troupe::detail {

runtime_core* shard_owner[actor_state::max_shards] = {};

namespace {
std::mutex table_mu;
bool used[actor_state::max_shards] = {true};  // under table_mu; id 0 is never handed out
}  // namespace

unsigned reserve_shard_ids(unsigned n, runtime_core* core) {
  std::lock_guard lock(table_mu);
  unsigned run = 0;
  for (unsigned id = 1; id < actor_state::max_shards; ++id) {
    run = used[id] ? 0 : run + 1;
    if (run == n) {
      const unsigned first = id + 1 - n;
      for (unsigned i = first; i <= id; ++i) {
        used[i] = true;
        shard_owner[i] = core;
      }
      return first;
    }
  }
  throw error("troupe: too many runtimes alive at once (their workers use up the " +
              std::to_string(actor_state::max_shards - 1) + " registry shard ids)");
}

void release_shard_ids(unsigned first, unsigned n) noexcept {
  std::lock_guard lock(table_mu);
  for (unsigned i = first; i < first + n; ++i) {
    used[i] = false;
    shard_owner[i] = nullptr;
  }
}

}  // namespace troupe::detail
