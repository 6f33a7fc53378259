// troupe/detail/watch.hpp — the machinery behind monitors and links (troupe/monitor.hpp):
// a monitor's token and the functions the actor templates call. Installed because
// monitor.hpp and the actor templates use it; not API. The table itself and its invariants
// are in runtime/actor/watch_table.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "troupe/detail/sync.hpp"
#include "troupe/exit_reason.hpp"
#include "troupe/stats.hpp"

namespace troupe {
struct down;
class monitor_handle;
}  // namespace troupe

namespace troupe::detail {

class actor_base;

/// One monitor: shared by the target's table entry, the watcher's handle and a `down` in
/// flight. Its state word decides the race between the target stopping (fire) and
/// demonitor (cancel):
///   fired      set by whoever sends the down, once (the RMW elects it);
///   firing     set with fired, cleared when the down is queued or the callback has
///              returned: demonitor() waits while it is set;
///   cancelled  set by demonitor(), once. A down that fired earlier and is still queued is
///              dropped by the watcher's dispatch when it sees this bit.
class monitor_token {
 public:
  static constexpr std::uint32_t fired = 1u << 0;
  static constexpr std::uint32_t firing = 1u << 1;
  static constexpr std::uint32_t cancelled = 1u << 2;

  monitor_token(actor_id target, actor_base* watcher,
                std::function<void(const down&)> callback) noexcept
      : target_(target), watcher_(watcher), callback_(std::move(callback)) {}
  monitor_token(const monitor_token&) = delete;
  monitor_token& operator=(const monitor_token&) = delete;

  actor_id target() const noexcept { return target_; }
  /// The watching actor (kept alive by the table's rule INV-WATCH-1), or nullptr for a
  /// monitor made from outside an actor (callback_ then says what to do).
  actor_base* watcher() const noexcept { return watcher_; }
  /// demonitor() has been called: a queued down for this monitor must be dropped. The
  /// watcher's consumer asks; acquire pairs with demonitor()'s acq_rel RMW (nothing else is
  /// read after it, but a demonitor from another thread is then ordered before the drop).
  bool is_cancelled() const noexcept {
    return (state_.load(memory_order_acquire) & cancelled) != 0;
  }

  void add_ref() noexcept {
    // relaxed: the caller holds a reference; taking another publishes nothing.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: as actor_base::release(), the final decrement sees every holder's uses.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
  }

 private:
  friend struct watch_ops;
  atomic<std::uint32_t> refs_{1};
  atomic<std::uint32_t> state_{0};
  const actor_id target_;
  actor_base* const watcher_;
  const std::function<void(const down&)> callback_;
};

/// An owning pointer to a monitor_token (intrusive count; copyable).
class monitor_ptr {
 public:
  monitor_ptr() noexcept = default;
  explicit monitor_ptr(monitor_token* adopted) noexcept : t_(adopted) {}
  monitor_ptr(const monitor_ptr& o) noexcept : t_(o.t_) {
    if (t_ != nullptr) t_->add_ref();
  }
  monitor_ptr(monitor_ptr&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  monitor_ptr& operator=(monitor_ptr o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~monitor_ptr() {
    if (t_ != nullptr) t_->release();
  }
  monitor_token* get() const noexcept { return t_; }
  monitor_token* operator->() const noexcept { return t_; }
  explicit operator bool() const noexcept { return t_ != nullptr; }

 private:
  monitor_token* t_ = nullptr;
};

/// The reason a stopped actor with state word `s` gives when nothing more is known (no
/// failure, no link): normal, shutdown, killed or shutdown_deadline.
exit_reason exit_reason_of_state(std::uint32_t s) noexcept;

/// `watcher` (which handles troupe::down; the caller runs its turn) monitors `target`
/// (the caller holds a reference). Throws std::bad_alloc.
monitor_ptr monitor_from_actor(actor_base* watcher, actor_base* target);
/// Monitors `target` for a callback (see troupe::monitor()). Throws std::bad_alloc.
monitor_ptr monitor_external(actor_base* target, std::function<void(const down&)> callback);
/// See troupe::demonitor().
bool demonitor(const monitor_ptr& m) noexcept;
/// `self` (the caller runs its turn) links to `other` (the caller holds a reference).
/// Throws std::bad_alloc.
void link_actors(actor_base* self, actor_base* other);
/// Removes the link between `self` (the caller runs its turn) and `other`, if any.
void unlink_actors(actor_base* self, actor_base* other) noexcept;
/// `self` (the caller runs its turn) traps exits: linked stops arrive as exit_signal
/// messages. Throws std::bad_alloc.
void set_trap_exits(actor_base* self, bool on);

/// Between monitor_handle and the functions above.
struct watch_access {
  static const monitor_ptr& token(const monitor_handle& h) noexcept;
  static monitor_handle handle(monitor_ptr t) noexcept;
};

}  // namespace troupe::detail
