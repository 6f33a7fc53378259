// runtime/actor/name_table.cpp — a runtime's names. The invariants (INV-NAME-1, INV-NAME-2)
// and who calls what are at the top of name_table.hpp.
#include "actor/name_table.hpp"

#include <iterator>
#include <utility>

#include "troupe/error.hpp"

namespace troupe::detail {
namespace {

/// `a` has stopped. Under the table's lock, on a listed actor (live: INV-NAME-1). A stale
/// "not stopped" only places this lookup or registration before the stop, as if it had come
/// a moment earlier: INV-NAME-2 still removes the name.
bool has_stopped(const actor_base& a) noexcept { return a.is_stopped(); }

}  // namespace

bool actor_base::mark_named() noexcept {
  // relaxed: only the RMW's place in the modification order of state_ matters (INV-NAME-2):
  // it reads `stopped` if finish()'s RMW came first, and finish()'s RMW reads `named` if
  // ours came first. The table itself is published by the mutex.
  return (state_.fetch_or(actor_state::named, memory_order_relaxed) & actor_state::stopped) == 0;
}

bool name_table::add(std::string name, actor_base* a) {
  std::lock_guard lock(mu_);
  if (refusing_) {
    throw error("register_name() after shutdown() began: the runtime accepts no new names");
  }
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    if (it->second.actor == a) return !has_stopped(*a);
    if (!has_stopped(*it->second.actor)) return false;  // taken
    erase(it);  // a stopped actor's name, which its finish() was about to erase
  }
  // INV-NAME-2: the bit before the entry, in one critical section.
  if (!a->mark_named()) return false;
  auto [at, inserted] = by_name_.try_emplace(std::move(name), entry{a->id(), a});
  (void)inserted;  // true: the name was not listed (checked above, under the same lock)
  try {
    names_of_.emplace(a->id(), &at->first);
  } catch (...) {
    by_name_.erase(at);  // nothing listed; the bit alone only costs finish() a lock
    throw;
  }
  return true;
}

actor_base* name_table::find(std::string_view name, const void* const* keys, std::size_t count,
                             const void* list, bool& exact) {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  actor_base* a = it->second.actor;  // live while listed: INV-NAME-1
  if (has_stopped(*a)) return nullptr;
  for (std::size_t i = 0; i < count; ++i) {
    if (!a->accepts(keys[i])) return nullptr;
  }
  exact = a->message_list() == list;
  a->add_ref();  // the life reference is still held (INV-NAME-1), so the count is not zero
  return a;
}

bool name_table::remove(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  erase(it);
  return true;
}

void name_table::remove_actor(const actor_base& a) noexcept {
  std::lock_guard lock(mu_);
  auto [first, last] = names_of_.equal_range(a.id());
  for (auto r = first; r != last;) {
    auto named = by_name_.find(*r->second);  // always listed, and for `a` (see erase())
    if (named != by_name_.end() && named->second.id == a.id()) by_name_.erase(named);
    r = names_of_.erase(r);
  }
}

void name_table::erase(name_map::iterator it) noexcept {
  auto [first, last] = names_of_.equal_range(it->second.id);
  for (auto r = first; r != last; ++r) {
    if (r->second == &it->first) {
      names_of_.erase(r);
      break;
    }
  }
  by_name_.erase(it);
}

void name_table::refuse_adds() {
  std::lock_guard lock(mu_);
  refusing_ = true;
}

}  // namespace troupe::detail
