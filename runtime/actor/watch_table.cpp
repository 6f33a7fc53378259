// runtime/actor/watch_table.cpp — the process-wide table behind monitors and links
// (include/troupe/monitor.hpp): actor id -> watch_record, for the actors that are watched,
// watch others, are linked, or failed.
//
// A record holds:
//   watchers  the monitors of this actor (tokens; one reference each);
//   watching  the monitors this actor made (tokens; one reference each), so that its stop
//             can take them out of their targets' records;
//   links     the actors linked to this one (raw pointers, see INV-WATCH-1);
//   reason    the exit reason, when it cannot be told from the state word alone (a
//             failure: the exception and message type; a kill through a link);
//   trap_exits.
//
// An actor gets a record (and the `watched` bit of its state word) on its first monitor,
// link or failure; the record is erased when its memory is freed (actor_base::destroy()).
// Actors that are never watched pay one bit test when they stop and one when they are freed.
//
// Invariants (each shard's mutex guards its records; one shard lock is held at a time, and
// no actor reference or token is released under one, since that may free an actor, which
// takes a shard lock):
//   INV-WATCH-1  An entry naming an actor P (a token whose watcher is P, in its target's
//                `watchers`; P in a peer's `links`) exists only while P's life reference is
//                held: P's stop (stopped()) removes every entry naming P, under the lock of
//                the record holding it, before finish() releases that reference. So a thread
//                that finds such an entry under the lock may take a reference to P.
//   INV-WATCH-2  An entry is added to an actor T's record only under T's lock, after an RMW
//                that sets `watched` on T's state and finds T not stopped. finish() sets
//                `stopped` with an RMW too, so one of the two RMWs comes first: either the
//                adder sees `stopped` (and acts as for a stopped target: a down at once), or
//                finish() sees `watched` in the value it replaced and takes the entry out
//                under T's lock — after the adder released it. Nothing is added once T's
//                stop has taken its entries: each monitor fires exactly once.
//   INV-WATCH-3  A link is two entries (P in Q's links, Q in P's links). Whoever removes the
//                far entry — a stopping side, or unlink() — owns the link's end: a stopping
//                P acts on Q (kill, or exit_signal) only if it removed P from Q's links
//                itself. So a link acts at most once, and never after unlink() returned.
//   INV-WATCH-4  A failure's reason is stored before finish() sets `stopped`, so a monitor
//                that sees `stopped` finds it.
#include <algorithm>
#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "troupe/detail/actor_base.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/monitor.hpp"

namespace troupe::detail {
namespace {

struct watch_record {
  std::vector<monitor_token*> watchers;
  std::vector<monitor_token*> watching;
  std::vector<actor_base*> links;
  std::optional<exit_reason> reason;
  bool trap_exits = false;
};

struct alignas(cache_line) watch_shard {
  std::mutex mu;
  std::unordered_map<actor_id, watch_record> records;
};

constexpr std::size_t watch_shards = 64;

watch_shard& shard_of(actor_id id) noexcept {
  // Never destroyed: actors may stop or be freed during static destruction. Still reachable
  // through this pointer, so leak checkers do not report it.
  static auto* const shards = new std::array<watch_shard, watch_shards>;
  // Ids from one thread are consecutive: the low bits spread them over the shards.
  return (*shards)[id % watch_shards];
}

template <class T>
bool erase_one(std::vector<T>& v, T x) noexcept {
  auto it = std::find(v.begin(), v.end(), x);
  if (it == v.end()) return false;
  *it = v.back();
  v.pop_back();
  return true;
}

}  // namespace

// Friend of actor_base and monitor_token.
struct watch_ops {
  /// Under a's lock: sets `watched`; returns a's state word before it.
  static std::uint32_t mark_watched(actor_base& a) noexcept {
    // acq_rel: the RMW that INV-WATCH-2 orders against finish()'s fetch_or of `stopped`;
    // acquire also makes a stopped actor's final state (its on_stop) visible to the down.
    return a.state_.fetch_or(actor_state::watched, memory_order_acq_rel);
  }

  /// The reason of a stopped actor (state word `s`), given its record if it has one.
  static exit_reason reason_of(std::uint32_t s, const watch_record* r) {
    if (r != nullptr && r->reason) return *r->reason;  // a failure, or a kill by a link
    return exit_reason_of_state(s);
  }

  /// Sends `d` for token `t` unless demonitor() came first. Not under a lock.
  static void fire(monitor_token* t, const down& d) noexcept {
    // acq_rel: the RMW elects the one sender against demonitor()'s RMW; release publishes
    // nothing the watcher needs (the down carries its data), acquire orders the check.
    const std::uint32_t before =
        t->state_.fetch_or(monitor_token::fired | monitor_token::firing, memory_order_acq_rel);
    if ((before & (monitor_token::fired | monitor_token::cancelled)) != 0) {
      end_firing(t);
      return;
    }
    if (actor_base* w = t->watcher()) {
      send_message(*w, &message_key<down>, d);
    } else {
      try {
        t->callback_(d);
      } catch (...) {
        std::fputs("troupe: a monitor callback threw; exception ignored\n", stderr);
      }
    }
    end_firing(t);
  }

  static void end_firing(monitor_token* t) noexcept {
    // release: pairs with demonitor()'s acquire load: once it sees `firing` clear, the
    // down is queued or the callback has returned.
    t->state_.fetch_and(~monitor_token::firing, memory_order_release);
    t->state_.notify_all();
  }

  /// Builds a node of `to`'s node type holding a copy of `msg` (of the type `key` names, one
  /// of its messages) and sends it. Out of memory: the message is lost, said on stderr.
  template <class M>
  static void send_message(actor_base& to, const void* key, const M& msg) noexcept {
    if (to.is_stopped()) return;  // its stop is taking its entries out; nobody will handle it
    mailbox_node* n = nullptr;
    try {
      M copy = msg;
      n = to.make_node(key, &copy, true);
    } catch (...) {
      std::fputs("troupe: out of memory sending a down or exit_signal; it is lost\n", stderr);
      return;
    }
    to.enqueue(n);
  }

  /// finish(): `a` has stopped (state word before the stop: `before`, with its own
  /// `stopped` bit). Fires its monitors, acts on its links, takes its own monitors and link
  /// entries out of others' records (INV-WATCH-1).
  static void stopped(actor_base& a) noexcept;
  static void record_failure(actor_base& a, std::exception_ptr error) noexcept;
  static void unlist(actor_base& a) noexcept;
  static monitor_ptr add_monitor(actor_base& target, monitor_token* t);
  static void link(actor_base& self, actor_base& other);
  static void unlink(actor_base& self, actor_base& other) noexcept;
  static void trap(actor_base& self, bool on);
  static bool demonitor(monitor_token* t) noexcept;
  /// Under the lock of `r` (a linked actor's record, which neither stopped nor traps exits):
  /// the link from `peer`, which stopped with `reason`, is about to kill it. Records the
  /// reason it will give — the same, with `linked_from` naming where the chain began —
  /// unless the stop was normal (no kill) or it already has one.
  static void note_link_kill(watch_record& r, const exit_reason& reason, actor_id peer) {
    if (reason.is_normal() || r.reason) return;
    exit_reason linked = reason;
    if (linked.linked_from == 0) linked.linked_from = peer;
    if (linked.what != exit_reason::kind::failed) linked.what = exit_reason::kind::killed;
    r.reason = std::move(linked);
  }
  /// `peer` stopped with `reason`; acts on the linked actor `a` (we own the link's end).
  static void act_on_link(actor_base& a, actor_id peer, const exit_reason& reason,
                          bool trap_exits) noexcept;
};

void watch_ops::record_failure(actor_base& a, std::exception_ptr error) noexcept {
  exit_reason e;
  e.what = exit_reason::kind::failed;
  e.error = std::move(error);
  e.message_type = a.message_in_hand();
  watch_shard& s = shard_of(a.id());
  try {
    std::lock_guard lock(s.mu);
    s.records[a.id()].reason = std::move(e);
    mark_watched(a);  // INV-WATCH-4: before finish() sets `stopped`
  } catch (...) {
    // Out of memory: a late monitor will see "failed" without the exception.
  }
}

void watch_ops::stopped(actor_base& a) noexcept {
  std::vector<monitor_token*> watchers;
  std::vector<monitor_token*> watching;
  std::vector<actor_base*> links;  // one reference each, taken under the lock
  exit_reason reason;
  {
    watch_shard& s = shard_of(a.id());
    std::lock_guard lock(s.mu);
    auto it = s.records.find(a.id());
    if (it == s.records.end()) return;
    watch_record& r = it->second;
    watchers.swap(r.watchers);
    watching.swap(r.watching);
    links.swap(r.links);
    for (actor_base* p : links) p->add_ref();  // INV-WATCH-1: p has not stopped yet
    // relaxed: our own thread set `stopped` and every bit the reason reads came before.
    reason = reason_of(a.state_.load(memory_order_relaxed), &r);
  }
  // Our monitors of others: out of their records (INV-WATCH-1), and no down for them.
  for (monitor_token* t : watching) {
    {
      watch_shard& s = shard_of(t->target());
      std::lock_guard lock(s.mu);
      auto it = s.records.find(t->target());
      if (it != s.records.end() && erase_one(it->second.watchers, t)) t->release();  // never
      // the last reference: `watching` still holds one
    }
    t->release();
  }
  // Links: remove us from each peer's links; act only where we removed it (INV-WATCH-3).
  for (actor_base* p : links) {
    bool owned = false;
    bool trapping = false;
    {
      watch_shard& s = shard_of(p->id());
      std::lock_guard lock(s.mu);
      auto it = s.records.find(p->id());
      if (it != s.records.end()) {
        owned = erase_one(it->second.links, &a);
        trapping = it->second.trap_exits;
        // relaxed: `stopped` is read under this lock, which p's own stop takes later.
        const bool p_stopped = (p->state_.load(memory_order_relaxed) & actor_state::stopped) != 0;
        if (owned && !trapping && !p_stopped) note_link_kill(it->second, reason, a.id());
      }
    }
    if (owned) act_on_link(*p, a.id(), reason, trapping);
    p->release();
  }
  const down d{a.id(), reason, {}};
  for (monitor_token* t : watchers) {
    down copy = d;
    copy.monitor = monitor_ptr((t->add_ref(), t));
    fire(t, copy);
    t->release();
  }
}

void watch_ops::act_on_link(actor_base& p, actor_id peer, const exit_reason& reason,
                            bool trap_exits) noexcept {
  if (trap_exits) {
    send_message(p, &message_key<exit_signal>, exit_signal{peer, reason});
  } else if (!reason.is_normal()) {
    p.kill();  // its reason was stored above: killed through the link
  }
}

void watch_ops::unlist(actor_base& a) noexcept {
  std::vector<monitor_token*> left;
  {
    watch_shard& s = shard_of(a.id());
    std::lock_guard lock(s.mu);
    auto it = s.records.find(a.id());
    if (it == s.records.end()) return;
    // Empty unless the actor never stopped (a failed spawn): nobody to tell.
    left.swap(it->second.watchers);
    left.insert(left.end(), it->second.watching.begin(), it->second.watching.end());
    s.records.erase(it);
  }
  for (monitor_token* t : left) t->release();
}

monitor_ptr watch_ops::add_monitor(actor_base& target, monitor_token* t) {
  monitor_ptr handle(t);
  // The watcher's own list first, so that its stop finds the monitor (INV-WATCH-1).
  if (actor_base* w = t->watcher()) {
    watch_shard& s = shard_of(w->id());
    std::lock_guard lock(s.mu);
    s.records[w->id()].watching.push_back(t);  // may throw: nothing changed
    t->add_ref();
    mark_watched(*w);
  }
  bool already_stopped = false;
  exit_reason reason;
  {
    watch_shard& s = shard_of(target.id());
    std::unique_lock lock(s.mu);
    watch_record* r = nullptr;
    try {
      r = &s.records[target.id()];
      r->watchers.reserve(r->watchers.size() + 1);
    } catch (...) {
      lock.unlock();
      demonitor(t);  // takes it out of the watcher's list again
      throw;
    }
    const std::uint32_t before = mark_watched(target);
    if ((before & actor_state::stopped) == 0) {
      r->watchers.push_back(t);  // INV-WATCH-2
      t->add_ref();
    } else {
      already_stopped = true;
      reason = reason_of(before, r);
    }
  }
  if (already_stopped) fire(t, down{target.id(), reason, handle});
  return handle;
}

bool watch_ops::demonitor(monitor_token* t) noexcept {
  // acq_rel: elects one cancel against fire()'s RMW (see monitor_token).
  std::uint32_t before = t->state_.fetch_or(monitor_token::cancelled, memory_order_acq_rel);
  if ((before & monitor_token::cancelled) != 0) return false;
  // A down being sent or a callback running: wait until it is queued (the watcher's
  // dispatch drops it, it is cancelled now) or has returned.
  while ((before & monitor_token::firing) != 0) {
    t->state_.wait(before, memory_order_acquire);
    before = t->state_.load(memory_order_acquire);  // acquire: pairs with end_firing()
  }
  // Out of the tables (they hold a reference each), so memory does not wait for a stop.
  auto drop = [t](actor_id id, bool watching) {
    watch_shard& s = shard_of(id);
    bool erased = false;
    {
      std::lock_guard lock(s.mu);
      auto it = s.records.find(id);
      if (it != s.records.end()) {
        erased = erase_one(watching ? it->second.watching : it->second.watchers, t);
      }
    }
    if (erased) t->release();  // never the last: the caller holds one
  };
  drop(t->target(), false);
  if (actor_base* w = t->watcher()) drop(w->id(), true);
  return (before & monitor_token::fired) == 0;
}

void watch_ops::link(actor_base& self, actor_base& other) {
  if (&self == &other) return;
  {
    watch_shard& s = shard_of(self.id());
    std::lock_guard lock(s.mu);
    auto& links = s.records[self.id()].links;
    if (std::find(links.begin(), links.end(), &other) != links.end()) return;  // linked
    links.push_back(&other);  // may throw: nothing changed
    mark_watched(self);
  }
  bool already_stopped = false;
  exit_reason reason;
  {
    watch_shard& s = shard_of(other.id());
    std::unique_lock lock(s.mu);
    watch_record* r = nullptr;
    try {
      r = &s.records[other.id()];
      r->links.reserve(r->links.size() + 1);
    } catch (...) {
      lock.unlock();
      unlink(self, other);
      throw;
    }
    const std::uint32_t before = mark_watched(other);
    if ((before & actor_state::stopped) == 0) {
      r->links.push_back(&self);  // INV-WATCH-2
    } else {
      already_stopped = true;
      reason = reason_of(before, r);
    }
  }
  if (!already_stopped) return;
  // Linked to an actor that has stopped: act now, as its stop would have.
  bool owned = false;
  bool trapping = false;
  {
    watch_shard& s = shard_of(self.id());
    std::lock_guard lock(s.mu);
    auto& r = s.records[self.id()];
    owned = erase_one(r.links, &other);
    trapping = r.trap_exits;
    if (owned && !trapping) note_link_kill(r, reason, other.id());
  }
  if (owned) act_on_link(self, other.id(), reason, trapping);
}

void watch_ops::unlink(actor_base& self, actor_base& other) noexcept {
  for (auto [from, to] : {std::pair{&self, &other}, std::pair{&other, &self}}) {
    watch_shard& s = shard_of(from->id());
    std::lock_guard lock(s.mu);
    auto it = s.records.find(from->id());
    if (it != s.records.end()) erase_one(it->second.links, to);
  }
}

void watch_ops::trap(actor_base& self, bool on) {
  watch_shard& s = shard_of(self.id());
  std::lock_guard lock(s.mu);
  s.records[self.id()].trap_exits = on;
  mark_watched(self);
}

// ---- the entry points ------------------------------------------------------------------

exit_reason exit_reason_of_state(std::uint32_t s) noexcept {
  exit_reason e;
  if ((s & actor_state::killed_at_deadline) != 0) {
    e.what = exit_reason::kind::shutdown_deadline;
  } else if ((s & actor_state::kill_requested) != 0) {
    e.what = exit_reason::kind::killed;
  } else if ((s & actor_state::closed_by_shutdown) != 0) {
    e.what = exit_reason::kind::shutdown;
  }
  return e;
}

monitor_ptr monitor_from_actor(actor_base* watcher, actor_base* target) {
  return watch_ops::add_monitor(*target, new monitor_token(target->id(), watcher, {}));
}

monitor_ptr monitor_external(actor_base* target, std::function<void(const down&)> callback) {
  return watch_ops::add_monitor(*target,
                                new monitor_token(target->id(), nullptr, std::move(callback)));
}

bool demonitor(const monitor_ptr& m) noexcept { return m ? watch_ops::demonitor(m.get()) : false; }

void link_actors(actor_base* self, actor_base* other) { watch_ops::link(*self, *other); }

void unlink_actors(actor_base* self, actor_base* other) noexcept {
  watch_ops::unlink(*self, *other);
}

void set_trap_exits(actor_base* self, bool on) { watch_ops::trap(*self, on); }

void actor_base::watched_stop() noexcept { watch_ops::stopped(*this); }

void actor_base::watched_failure(std::exception_ptr error) noexcept {
  watch_ops::record_failure(*this, std::move(error));
}

void actor_base::unlist_watched() noexcept { watch_ops::unlist(*this); }

}  // namespace troupe::detail
