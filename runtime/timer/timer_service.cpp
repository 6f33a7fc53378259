// runtime/timer/timer_service.cpp — see timer_service.hpp.
#include "timer/timer_service.hpp"

#include <vector>

#include "sched/runtime_core.hpp"

namespace troupe::detail {

timer_id timer_service::schedule(timer_clock::time_point when, timer_task* t) {
  std::unique_lock lock(mu_);
  if (stopped_) {
    lock.unlock();
    t->discard();
    return 0;
  }
  const timer_id id = next_id_++;
  // Wake the thread only if it would otherwise sleep past this deadline: with a steady
  // stream of timers of one length (asks with a timeout) it then wakes once per timeout
  // period, not once per timer.
  const bool earlier = when < sleeping_until_;
  try {
    by_deadline_.emplace(key{when, id}, t);
    when_.emplace(id, when);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  } catch (...) {
    by_deadline_.erase(key{when, id});
    when_.erase(id);
    lock.unlock();
    t->discard();
    throw;
  }
  lock.unlock();
  if (earlier) wake_.notify_one();
  return id;
}

bool timer_service::cancel(timer_id id) noexcept {
  timer_task* t = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = when_.find(id);
    if (it == when_.end()) return false;
    auto node = by_deadline_.extract(key{it->second, id});
    when_.erase(it);
    t = node.mapped();
  }
  t->discard();
  return true;
}

void timer_service::stop() noexcept {
  std::vector<timer_task*> left;
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    left.reserve(by_deadline_.size());
    for (auto& [k, t] : by_deadline_) left.push_back(t);
    by_deadline_.clear();
    when_.clear();
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
  for (timer_task* t : left) t->discard();
}

std::size_t timer_service::pending() const {
  std::lock_guard lock(mu_);
  return by_deadline_.size();
}

void timer_service::run() noexcept {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (by_deadline_.empty()) {
      sleeping_until_ = timer_clock::time_point::max();
      wake_.wait(lock);
      continue;
    }
    auto first = by_deadline_.begin();
    // A copy: waiting releases mu_, and a cancel() may free the node holding the key.
    const timer_clock::time_point deadline = first->first.first;
    if (deadline > timer_clock::now()) {
      sleeping_until_ = deadline;
      wake_.wait_until(lock, deadline);
      continue;  // re-examine: an earlier timer, a cancel or stop() may have come
    }
    timer_task* t = first->second;
    when_.erase(first->first.second);
    by_deadline_.erase(first);
    lock.unlock();
    t->fire();  // INV-TIMER-2: without the lock
    lock.lock();
  }
}

timer_id schedule_timer(runtime_core* core, timer_clock::time_point when, timer_task* t) {
  return core->timers().schedule(when, t);
}

bool cancel_timer(runtime_core* core, timer_id id) noexcept { return core->timers().cancel(id); }

}  // namespace troupe::detail
