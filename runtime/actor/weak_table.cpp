// runtime/actor/weak_table.cpp — the process-wide table behind troupe::weak_ref
// (include/troupe/weak_ref.hpp): actor id -> actor, for the actors some weak_ref names.
//
// Design: a weak_ref holds only an id (ids are never reused, so an id names one actor for
// the life of the process). Locking it looks the id up here and takes a strong reference,
// but only from a count that is not zero yet; the final release() of an actor that was
// listed unlists it under the same lock before the delete. So:
//   INV-WEAK-1  an actor is in the table only while its memory is live: destroy() erases it
//               (under the shard lock) before `delete`, and lock_weak() dereferences an
//               entry only under that lock.
//   INV-WEAK-2  lock_weak() never revives an actor: it increments refs_ only from a non-zero
//               value (a CAS), and the RMWs on refs_ are totally ordered, so either its
//               increment comes first (then the decrement that would have been final is
//               not) or it sees zero and fails.
// Actors nobody weak-refs are never listed and pay nothing but one relaxed load of their
// state word in their final release(). The locks are not on the send path: only making the
// first weak_ref to an actor, lock(), and freeing an actor that was listed take one.
#include <array>
#include <cstddef>
#include <mutex>
#include <unordered_map>

#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {
namespace {

struct alignas(cache_line) weak_shard {
  std::mutex mu;
  std::unordered_map<actor_id, actor_base*> actors;
};

constexpr std::size_t weak_shards = 64;

weak_shard& shard_of(actor_id id) noexcept {
  // Never destroyed: an actor may be freed during static destruction. Still reachable
  // through this pointer, so leak checkers do not report it.
  static auto* const shards = new std::array<weak_shard, weak_shards>;
  // Ids from one thread are consecutive: the low bits spread them over the shards.
  return (*shards)[id % weak_shards];
}

}  // namespace

void actor_base::enable_weak() {
  static_assert(weak_listed_bit == actor_state::weak_listed);
  // relaxed: a hint; the insertion below decides under the lock.
  if ((state_.load(memory_order_relaxed) & weak_listed_bit) != 0) return;
  weak_shard& s = shard_of(id_);
  std::lock_guard lock(s.mu);
  s.actors.try_emplace(id_, this);  // may throw std::bad_alloc: then nothing changed
  // relaxed: the final release() reads the bit after its acquire decrement, which the
  // caller's later release of its own reference (a release RMW on refs_) happens-before.
  state_.fetch_or(weak_listed_bit, memory_order_relaxed);
}

actor_base* actor_base::lock_weak(actor_id id) noexcept {
  if (id == 0) return nullptr;
  weak_shard& s = shard_of(id);
  std::lock_guard lock(s.mu);
  auto it = s.actors.find(id);
  if (it == s.actors.end()) return nullptr;
  actor_base* a = it->second;  // live: INV-WEAK-1
  // relaxed load: the CAS below validates it.
  std::uint32_t n = a->refs_.load(memory_order_relaxed);
  while (n != 0) {
    // relaxed: as add_ref(); the actor's memory is kept live by the lock (INV-WEAK-1), and
    // taking a reference publishes nothing. INV-WEAK-2: never from zero.
    if (a->refs_.compare_exchange_weak(n, n + 1, memory_order_relaxed)) return a;
  }
  return nullptr;  // its final release() is waiting for our lock to unlist it
}

void actor_base::unlist_weak() noexcept {
  weak_shard& s = shard_of(id_);
  std::lock_guard lock(s.mu);
  s.actors.erase(id_);
}

}  // namespace troupe::detail
