// runtime/diag/turn_watch.hpp — looks at what each worker runs (its turn_record) now and
// then, and tells how long the handler it runs has been running: the stuck-handler watchdog
// and shutdown(deadline)'s report use it. Owned by one thread at a time (not thread-safe).
//
// A handler's start is never timed (that would put a clock read on the dispatch path). A
// look that finds a worker in the same actor with the same `taken` count as the look before
// knows that one handler has run in between; `since` is the time of the first look that
// saw it, so `now - since` is a lower bound, short by at most the interval between looks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <typeinfo>
#include <vector>

#include "actor/registry.hpp"
#include "sched/worker.hpp"
#include "troupe/diagnostics.hpp"

namespace troupe::detail {

class turn_watch {
 public:
  using clock = std::chrono::steady_clock;

  /// What a worker was last seen running. `actor` is compared, never dereferenced.
  struct sighting {
    const actor_base* actor = nullptr;  ///< nullptr: between turns, or moving on
    const std::type_info* message = nullptr;
    std::uint64_t taken = 0;
    clock::time_point since{};
    bool reported = false;  ///< for the watchdog: reported once
  };

  explicit turn_watch(unsigned workers) : seen_(workers) {}

  /// Looks at every worker once.
  void look(const std::vector<std::unique_ptr<worker>>& workers, clock::time_point now) noexcept;

  /// Worker `i` still runs the handler `s` saw (the same actor, the same `taken`). Checked
  /// after pinning s.actor through the registry: then the pinned actor is the one running.
  static bool still_running(const worker& w, const sighting& s) noexcept;

  /// The handler `s` saw on worker `w` (number `index`), if it still runs: its actor pinned
  /// through `registry` and checked with still_running(), then described (id, demangled
  /// types, running for at least `now - s.since`). Walks the registry: not for hot paths.
  static std::optional<stuck_handler> identify(actor_registry& registry, const worker& w,
                                               unsigned index, const sighting& s,
                                               clock::time_point now);

  const std::vector<sighting>& seen() const noexcept { return seen_; }
  std::vector<sighting>& seen() noexcept { return seen_; }

 private:
  std::vector<sighting> seen_;  // one per worker
};

}  // namespace troupe::detail
