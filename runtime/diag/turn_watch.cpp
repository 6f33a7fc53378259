// runtime/diag/turn_watch.cpp — see turn_watch.hpp.
#include "diag/turn_watch.hpp"

#include "troupe/detail/type_name.hpp"

namespace troupe::detail {

void turn_watch::look(const std::vector<std::unique_ptr<worker>>& workers,
                      clock::time_point now) noexcept {
  for (std::size_t i = 0; i < workers.size() && i < seen_.size(); ++i) {
    const turn_record& t = workers[i]->turn();
    sighting& s = seen_[i];
    // relaxed (all): the worker writes these for us without ordering (turn_record.hpp). A
    // reading that mixes two turns cannot repeat at the next look unless the worker sat
    // still in between, and then every field had settled.
    const std::uint64_t taken = t.taken.load(memory_order_relaxed);
    const actor_base* a = t.actor.load(memory_order_relaxed);
    const std::type_info* message = t.message.load(memory_order_relaxed);
    if (a == nullptr || t.taken.load(memory_order_relaxed) != taken) {
      s = sighting{};
      continue;
    }
    if (s.actor != a || s.taken != taken) {
      s = sighting{a, message, taken, now, false};
      continue;
    }
    s.message = message;  // settled by now (see above)
  }
}

bool turn_watch::still_running(const worker& w, const sighting& s) noexcept {
  // relaxed: as in look(). The worker cannot have freed s.actor while it runs its handler.
  const turn_record& t = w.turn();
  return s.actor != nullptr && t.actor.load(memory_order_relaxed) == s.actor &&
         t.taken.load(memory_order_relaxed) == s.taken;
}

std::optional<stuck_handler> turn_watch::identify(actor_registry& registry, const worker& w,
                                                  unsigned index, const sighting& s,
                                                  clock::time_point now) {
  // The sighting's actor pointer may be stale: pin the actor listed at that address, then
  // check the worker still runs the same handler — then it is that actor.
  actor_base* a = s.actor != nullptr ? registry.pin_if_listed(s.actor) : nullptr;
  if (a == nullptr) return std::nullopt;
  struct unpin {
    actor_base* a;
    ~unpin() { a->release(); }
  } pin{a};
  if (!still_running(w, s)) return std::nullopt;  // it returned meanwhile
  stuck_handler h;
  h.actor = a->id();
  h.actor_type = demangled_name(a->actor_type());
  if (s.message != nullptr) h.message_type = demangled_name(*s.message);
  h.running_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.since);
  h.worker = index;
  return h;
}

}  // namespace troupe::detail
