// runtime/actor/spin_mutex.hpp — a lock for very short critical sections that are almost
// never contended (a registry shard: link or unlink one actor).
//
// Why not std::mutex: its unlock is a second locked RMW (to learn whether to wake a
// sleeper); here unlock is a plain release store, so an uncontended lock/unlock pair costs
// one RMW instead of two. Waiters spin briefly, then yield the CPU (never sleep in the
// kernel), so a holder that keeps the lock longer (the shutdown walk, one batch) or is
// preempted costs the waiters time slices, not a hang. BasicLockable, so
// std::lock_guard, std::unique_lock and std::condition_variable_any work with it.
#pragma once

#include <thread>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

class spin_mutex {
 public:
  void lock() noexcept {
    unsigned spins = 0;
    // acquire: pairs with unlock()'s release store; the previous holder's writes under
    // the lock are visible to us.
    while (locked_.exchange(true, memory_order_acquire)) {
      // relaxed: only waits until a retry of the exchange can succeed.
      while (locked_.load(memory_order_relaxed)) {
        if (++spins < 64) {
          cpu_relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  // release: publishes our writes under the lock to the next lock()'s acquire exchange.
  void unlock() noexcept { locked_.store(false, memory_order_release); }

 private:
  atomic<bool> locked_{false};
};

}  // namespace troupe::detail
