// troupe/detail/names.hpp — what runtime::register_name(), lookup() and unregister_name()
// (runtime.hpp, "Names") and their twins on an actor (typed_actor.hpp) call: the runtime's
// name table (runtime/actor/name_table.hpp) behind a typed front. Installed because those
// templates use it; not API.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/ref.hpp"

namespace troupe::detail {

class runtime_core;

/// Names `a` (an actor of `core`, held by the caller) `name` in `core`'s table. True if
/// `name` names `a` now; false if it names another actor that has not stopped, or if `a`
/// has stopped. Throws troupe::error if `a` belongs to another runtime or `core`'s shutdown
/// has begun, std::bad_alloc if the table cannot grow.
bool register_name_on(runtime_core* core, std::string name, actor_base* a);

/// The actor `name` names in `core`'s table, with a new reference for the caller, if it has
/// not stopped and handles each of the `count` message types named by `keys`
/// (message_key<M>); else nullptr. `exact` tells whether its message list is the one named
/// by `list` (message_list_key<Msgs...>).
actor_base* lookup_name_on(runtime_core* core, std::string_view name, const void* const* keys,
                           std::size_t count, const void* list, bool& exact);

/// Removes `name` from `core`'s table; true if it named an actor.
bool unregister_name_on(runtime_core* core, std::string_view name);

template <class... Msgs>
bool register_ref_name(runtime_core* core, std::string name, const ref<Msgs...>& r) {
  return register_name_on(core, std::move(name), ref_access::actor_of(r, "register_name"));
}

template <class... Msgs>
std::optional<ref<Msgs...>> lookup_ref(runtime_core* core, std::string_view name) {
  static_assert(sizeof...(Msgs) > 0, "troupe: lookup<Msgs...>() needs at least one message type");
  static constexpr const void* keys[] = {&message_key<Msgs>...};
  bool exact = false;
  actor_base* a =
      lookup_name_on(core, name, keys, sizeof...(Msgs), &message_list_key<Msgs...>, exact);
  if (a == nullptr) return std::nullopt;
  // lookup_name_on() took the reference the ref adopts.
  if (exact) return ref<Msgs...>(adopt_tag{}, a);
  return ref<Msgs...>(adopt_tag{}, a, narrowed_tag{});
}

}  // namespace troupe::detail
