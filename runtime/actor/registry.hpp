// runtime/actor/registry.hpp — the runtime's list of actors that have not stopped yet, so
// shutdown can close every one of them and wait for all to stop.
//
// An intrusive doubly-linked list through actor_base::reg_prev_/reg_next_, under one mutex.
// Spawn and stop take the mutex; the send and dispatch paths never do.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace troupe::detail {

class actor_base;

class actor_registry {
 public:
  /// Adds a new actor; false once close_all() has run (the runtime refuses spawns).
  bool add(actor_base* a);
  /// Removes a stopping actor (called once, from finish()).
  void remove(actor_base* a, bool failed) noexcept;
  /// Refuses further adds, posts close() to every live actor, and waits until every one has
  /// stopped and been removed.
  void close_all_and_wait();

  struct counts {
    std::uint64_t spawned, stopped, failed;
  };
  counts totals() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable all_stopped_;
  actor_base* head_ = nullptr;  // all fields under mu_
  std::uint64_t live_ = 0;
  bool closed_ = false;
  counts totals_{0, 0, 0};
};

}  // namespace troupe::detail
