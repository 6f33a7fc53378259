// runtime/actor/names.cpp — the functions behind runtime::register_name(), lookup() and
// unregister_name() and their twins on an actor (include/troupe/detail/names.hpp): they find
// the runtime's name table (actor/name_table.hpp).
#include "troupe/detail/names.hpp"

#include <utility>

#include "sched/runtime_core.hpp"
#include "troupe/detail/type_name.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

bool register_name_on(runtime_core* core, std::string name, actor_base* a) {
  // INV-NAME-1: only an actor of this runtime removes its names from this table when it
  // stops; another runtime's actor would leave a dangling entry.
  if (a->core() != core) {
    throw error("register_name(\"" + name + "\"): the actor (" + demangled_name(a->actor_type()) +
                ") belongs to another runtime; names are per runtime");
  }
  return core->names().add(std::move(name), a);
}

actor_base* lookup_name_on(runtime_core* core, std::string_view name, const void* const* keys,
                           std::size_t count, const void* list, bool& exact) {
  return core->names().find(name, keys, count, list, exact);
}

bool unregister_name_on(runtime_core* core, std::string_view name) {
  return core->names().remove(name);
}

}  // namespace troupe::detail
