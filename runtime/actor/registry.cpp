// runtime/actor/registry.cpp — see registry.hpp.
#include "actor/registry.hpp"

#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {

bool actor_registry::add(actor_base* a) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  a->reg_prev_ = nullptr;
  a->reg_next_ = head_;
  if (head_ != nullptr) head_->reg_prev_ = a;
  head_ = a;
  ++live_;
  ++totals_.spawned;
  return true;
}

void actor_registry::remove(actor_base* a, bool failed) noexcept {
  std::lock_guard lock(mu_);
  if (a->reg_prev_ != nullptr) {
    a->reg_prev_->reg_next_ = a->reg_next_;
  } else {
    head_ = a->reg_next_;
  }
  if (a->reg_next_ != nullptr) a->reg_next_->reg_prev_ = a->reg_prev_;
  a->reg_prev_ = a->reg_next_ = nullptr;
  ++totals_.stopped;
  if (failed) ++totals_.failed;
  if (--live_ == 0 && closed_) all_stopped_.notify_all();
}

void actor_registry::close_all_and_wait() {
  std::unique_lock lock(mu_);
  closed_ = true;
  // close() never blocks and never takes this mutex: an actor that is stopping right now
  // waits in remove() until we are done, and its sentinel push just joins its drain.
  for (actor_base* a = head_; a != nullptr; a = a->reg_next_) a->close();
  all_stopped_.wait(lock, [this] { return live_ == 0; });
}

actor_registry::counts actor_registry::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

}  // namespace troupe::detail
