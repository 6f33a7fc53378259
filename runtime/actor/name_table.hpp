// runtime/actor/name_table.hpp — a runtime's names (include/troupe/runtime.hpp, "Names"):
// name → (actor id, type check), one table per runtime, behind one mutex. Names are not on
// the send path; a send never touches this table.
//
// Who touches what (everything under mu_):
//   add()           runtime::register_name() and an actor's register_name(): inserts the
//                   name and sets the actor's `named` bit (actor_base::mark_named());
//   find()          lookup(): reads an entry, checks the actor's message types
//                   (actor_base::accepts()), takes a reference for the caller;
//   remove()        unregister_name(): erases one name;
//   remove_actor()  actor_base::finish(), only if `named` was set before its stop: erases
//                   every name of the stopping actor;
//   refuse_adds()   shutdown(), first thing: add() throws from then on.
//
// An entry holds the actor's id and its address, and no reference: a name never keeps an
// actor alive. Sound because of two invariants:
//
//   INV-NAME-1  An actor stays listed only while it holds its life reference, so its memory
//               is live while listed. The life reference is released only at the end of
//               finish(), and finish() of an actor that is listed runs remove_actor() before
//               that (INV-NAME-2 says it sees the bit). So find() may read a listed actor and
//               take a reference (add_ref(): the count is at least the life reference's 1)
//               while it holds mu_. add() lists only actors of this runtime (their finish()
//               reaches this table through core()); their callers hold a reference.
//   INV-NAME-2  No name survives its actor's finish(). add() sets `named` and finish() sets
//               `stopped` with one RMW each on the actor's state word; RMWs on one atomic
//               are totally ordered, whatever their memory orders:
//                 * add()'s first: finish()'s RMW returns `named`, so finish() calls
//                   remove_actor(), whose critical section comes after add()'s (were it
//                   before, finish()'s RMW would happen-before add()'s, through mu_, and so
//                   precede it in the modification order). It erases the entry add() made.
//                 * finish()'s first: add()'s RMW returns `stopped`; add() inserts nothing.
//               add() inserts, if at all, in the same critical section as its RMW, so no
//               find() ever sees a name for an actor whose finish() has removed its names.
//               finish() does that before it sets `terminated`, so after join() returns,
//               lookup() finds nothing under the actor's names (the joiner's lock of mu_
//               comes after remove_actor()'s unlock, which happens-before `terminated`).
//
// A stopped actor may stay listed for the moment between its `stopped` and its
// remove_actor(): find() does not return it, and add() may give its name to another actor
// (it erases the stale entry itself; remove_actor() erases only the names still listed
// under the actor's id, through names_of_).
//
// A remote layer plugs in behind find(): the table answers a lookup from (id, type check)
// only — the actor's id, and accepts() for the asked message keys — never from the actor's
// C++ type. A resolver for names on other nodes would take a name that misses here (or one
// qualified with a node) to the owning node, which answers the same pair from its own table
// (the message types sent as stable type names instead of message_key addresses), and
// return a local proxy actor_base with that id, whose make_node() serializes. find()'s
// contract (a pinned actor_base* plus whether its list is exactly the asked one) stays.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "troupe/detail/actor_base.hpp"
#include "troupe/stats.hpp"

namespace troupe::detail {

class name_table {
 public:
  name_table() = default;
  name_table(const name_table&) = delete;
  name_table& operator=(const name_table&) = delete;

  /// Names `a` (an actor of this table's runtime; the caller holds a reference) `name`.
  /// True if `name` names `a` now; false if it names another actor that has not stopped, or
  /// if `a` has stopped. Throws troupe::error after refuse_adds(), std::bad_alloc if the
  /// table cannot grow (then nothing is listed).
  bool add(std::string name, actor_base* a);
  /// The actor `name` names, if it has not stopped and accepts() each of `keys[0..count)`,
  /// with a new reference for the caller; else nullptr. `exact`: its message_list() is `list`.
  actor_base* find(std::string_view name, const void* const* keys, std::size_t count,
                   const void* list, bool& exact);
  /// Erases `name`; true if it was listed.
  bool remove(std::string_view name);
  /// From finish() of an actor that was marked named: erases every name still listed for it.
  void remove_actor(const actor_base& a) noexcept;
  /// Shutdown has begun: add() throws troupe::error from now on.
  void refuse_adds();

 private:
  struct entry {
    actor_id id;
    actor_base* actor;  // no reference: INV-NAME-1
  };
  // Lookups by std::string_view without building a std::string.
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using name_map = std::unordered_map<std::string, entry, name_hash, std::equal_to<>>;

  /// Erases `it` and its names_of_ record; under mu_.
  void erase(name_map::iterator it) noexcept;

  std::mutex mu_;
  name_map by_name_;
  // Every name of each listed actor, for remove_actor(): the keys of by_name_ (node-based,
  // so their addresses stay valid until erased).
  std::unordered_multimap<actor_id, const std::string*> names_of_;
  bool refusing_ = false;
};

}  // namespace troupe::detail
