// runtime/supervision/supervisor.cpp — troupe::supervisor (include/troupe/supervisor.hpp).
//
// Protocol (the child's side: child.cpp):
//   * start_child() makes a slot (the child's spec: how to start it, how to reinitialise it,
//     its options), spawns the child with a link to the slot and to the supervisor, and lists
//     the slot in children_, in start order, under mu_ (start_child() may run on any thread;
//     everything else here runs in the supervisor's turns).
//   * A child that fails or is killed suspends itself and sends child_event{failed}. One
//     asked to suspend (group restart) sends child_event{suspended}. One that stops for good
//     sends child_event{stopped}.
//   * A failed or suspended child stays suspended until resumed: by restart_or_give_up() or
//     finish_group_restart() (restart), by a give-up (resume_suspended(false)), or, if the
//     event is never handled because the supervisor has stopped, by the event's destructor.
//     So no child is ever left suspended.
//   * Group restarts (one_for_all, rest_for_one): every affected child that runs is asked to
//     suspend (slot.suspend_requested); when none is left running (each has sent its
//     suspended, failed or stopped event), all suspended children restart in start order.
//   * on_stop(): stopping_ refuses new children; then the children are stopped one at a
//     time, last started first (stop_chain below), after this supervisor has itself stopped.
#include "troupe/supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "troupe/detail/timer_task.hpp"
#include "troupe/detail/watch.hpp"
#include "troupe/error.hpp"
#include "troupe/monitor.hpp"

namespace troupe {
namespace {

using detail::actor_base;
using detail::child_slot;
using clock = std::chrono::steady_clock;

// Kills a child whose shutdown time has passed (or at once if the runtime shuts down first).
struct deadline_kill final : detail::timer_task {
  explicit deadline_kill(actor_base* a) noexcept : a_(a) { a_->add_ref(); }
  void fire() noexcept override { end(); }
  void discard() noexcept override { end(); }  // cancelled (it has stopped: a no-op) or shutdown
  void end() noexcept {
    a_->kill();  // final_stop is set: stops for good
    a_->release();
    delete this;
  }
  actor_base* a_;
};

// Stops children one at a time, in the order given; each next one when the previous has
// stopped (a monitor's callback, on the thread that stopped it) or been killed.
struct stop_chain : std::enable_shared_from_this<stop_chain> {
  std::vector<std::shared_ptr<child_slot>> order;
  std::size_t next = 0;

  void step() noexcept {
    while (next < order.size()) {
      const std::shared_ptr<child_slot>& s = order[next++];
      actor_base* a = s->actor;
      if (a == nullptr) continue;
      if (a->is_stopped()) {
        release(*s);
        continue;
      }
      a->set_final_stop();
      if (s->suspended) {
        a->resume_suspended(false);  // given up: it stops with its failure
      } else {
        a->close();  // handles what was queued before, then stops
      }
      detail::runtime_core* core = a->core();
      const detail::timer_id t = detail::schedule_timer(
          core, detail::timer_clock::now() + s->options.shutdown, new deadline_kill(a));
      try {
        auto self = shared_from_this();
        std::shared_ptr<child_slot> slot = s;
        (void)detail::monitor_external(a, [self, slot, core, t](const down&) {
          if (t != 0) detail::cancel_timer(core, t);
          release(*slot);
          self->step();
        });
        return;  // the callback goes on
      } catch (...) {
        // Out of memory: no monitor. Stop this one without waiting and go on (its memory
        // stays with the slot).
        a->kill();
      }
    }
  }

  // The child has stopped for good: the slot's reference goes (the child's own link to the
  // slot would otherwise keep both alive).
  static void release(child_slot& s) noexcept {
    if (actor_base* a = std::exchange(s.actor, nullptr)) a->release();
  }
};

// Gives up a suspended child: it stops for good with the failure that suspended it.
void give_up(child_slot& s) noexcept {
  s.suspended = false;
  s.actor->resume_suspended(false);
}

}  // namespace

supervisor& supervisor::operator=(supervisor&& fresh) noexcept {
  options_ = fresh.options_;
  restarts_.clear();
  start_anew_ = true;
  std::lock_guard lock(mu_);
  stopping_ = false;
  return *this;
}

supervisor::~supervisor() {
  for (auto& s : children_) {
    if (s->actor != nullptr) s->actor->release();
  }
}

std::size_t supervisor::children() const {
  std::lock_guard lock(mu_);
  return children_.size();
}

detail::actor_base* supervisor::add_child(slot_ptr slot) {
  std::lock_guard lock(mu_);
  if (stopping_ || is_stopped()) {
    throw error("start_child(): the supervisor has stopped or is stopping");
  }
  actor_base* a = slot->start(core(), slot, self());  // throws after shutdown(): not listed
  slot->actor = a;
  slot->seq = next_seq_++;
  children_.push_back(std::move(slot));
  a->add_ref();  // the caller's handle
  return a;
}

void supervisor::on_start() {
  if (!std::exchange(start_anew_, false)) return;
  // Restarted by our own supervisor: the old children were stopped by on_stop(); start each
  // anew from its spec, in the old start order.
  std::vector<slot_ptr> specs = std::move(specs_);  // their start, reinit and options only
  for (const slot_ptr& o : specs) {
    auto fresh = std::make_shared<child_slot>();
    fresh->options = o->options;
    fresh->start = o->start;
    fresh->reinit = o->reinit;
    add_child(std::move(fresh))->release();  // no caller's handle here
  }
}

bool supervisor::note_restart() {
  const auto now = clock::now();
  restarts_.push_back(now);
  while (!restarts_.empty() && now - restarts_.front() > options_.within) restarts_.pop_front();
  return restarts_.size() <= options_.max_restarts;
}

void supervisor::forget(const slot_ptr& s) {
  std::lock_guard lock(mu_);
  auto it = std::find(children_.begin(), children_.end(), s);
  if (it == children_.end()) return;
  children_.erase(it);
  if (s->actor != nullptr) {
    s->actor->release();
    s->actor = nullptr;
  }
}

void supervisor::on(detail::child_event e) {
  const detail::child_event::kind what = e.what;
  slot_ptr s = e.take();  // ours to resume now, if suspended
  bool listed = false;
  {
    std::lock_guard lock(mu_);
    listed = std::find(children_.begin(), children_.end(), s) != children_.end();
  }
  if (!listed) {  // a child of an earlier incarnation of this supervisor: not restarted
    if (what != detail::child_event::kind::stopped && s->actor != nullptr) give_up(*s);
    return;
  }
  switch (what) {
    case detail::child_event::kind::stopped:
      s->suspend_requested = false;
      forget(s);
      finish_group_restart();
      return;
    case detail::child_event::kind::suspended:
      s->suspended = true;
      s->suspend_requested = false;
      finish_group_restart();
      return;
    case detail::child_event::kind::failed:
      s->suspended = true;
      s->suspend_requested = false;
      restart_or_give_up(s, e.reason);
      return;
  }
}

void supervisor::restart_or_give_up(const slot_ptr& failed, const exit_reason& why) {
  if (failed->options.restart == restart_policy::temporary) {
    give_up(*failed);  // stops for good; its `stopped` event unlists it
    return;
  }
  if (!note_restart()) {
    give_up(*failed);
    throw error("supervisor: restart intensity exceeded (more than " +
                std::to_string(options_.max_restarts) + " restarts within " +
                std::to_string(options_.within.count()) + " ms); last: actor " +
                std::to_string(failed->actor->id()) + " " + to_string(why));
  }
  if (options_.strategy == restart_strategy::one_for_one) {
    bool group_pending = false;
    {
      std::lock_guard lock(mu_);
      for (const slot_ptr& c : children_) group_pending = group_pending || c->suspend_requested;
    }
    if (!group_pending) {
      failed->suspended = false;
      failed->actor->resume_suspended(true);
    }  // else it restarts with the group, in finish_group_restart()
    return;
  }
  // A group: suspend the others that run (all, or those started after `failed`).
  std::vector<slot_ptr> group;
  {
    std::lock_guard lock(mu_);
    for (const slot_ptr& c : children_) {
      if (c == failed || c->suspended || c->suspend_requested) continue;
      if (options_.strategy == restart_strategy::rest_for_one && c->seq < failed->seq) continue;
      group.push_back(c);
    }
  }
  for (const slot_ptr& c : group) {
    if (c->options.restart == restart_policy::temporary) {
      c->actor->set_final_stop();  // not restarted: stopped for good
      c->actor->close();
      continue;
    }
    c->suspend_requested = true;
    c->actor->request_suspend();
  }
  finish_group_restart();
}

void supervisor::finish_group_restart() {
  std::vector<slot_ptr> to_restart;
  {
    std::lock_guard lock(mu_);
    for (const slot_ptr& c : children_) {
      if (c->suspend_requested) return;  // still waiting for one
    }
    for (const slot_ptr& c : children_) {
      if (c->suspended) to_restart.push_back(c);
    }
  }
  for (const slot_ptr& c : to_restart) {  // start order
    c->suspended = false;
    c->actor->resume_suspended(true, true);
  }
}

void supervisor::on_stop() {
  auto chain = std::make_shared<stop_chain>();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    chain->order.assign(children_.rbegin(), children_.rend());  // last started first
    specs_ = std::move(children_);  // for a restart in place (on_start())
    children_.clear();
  }
  chain->step();  // from now on the chain owns the children's references
}

}  // namespace troupe
