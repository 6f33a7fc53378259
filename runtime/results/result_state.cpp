// runtime/results/result_state.cpp — the slow paths of troupe::result<T> (include/troupe/
// result.hpp): sleeping until a value arrives, waking the sleeper, and the errors.
//
// Sleeping consumers park on a mutex + condition variable from a fixed table shared by all
// results, picked by the shared state's address (a "parking lot"). Protocol, per state:
//   consumer: lock slot.mu; fetch_or(waiter); if a done bit was set, return; else
//             cv.wait(lock, "a done bit is set").
//   producer: fetch_or(done bit); if waiter was set: lock + unlock slot.mu, cv.notify_all().
// The two RMWs on the state word are totally ordered: either the consumer sees the done bit
// and never sleeps, or the producer sees `waiter`; then the consumer holds slot.mu from its
// RMW until cv.wait() releases it atomically, so the producer's lock + notify comes after
// the consumer is asleep and wakes it. Results that share a slot only cause spurious wakeups,
// which the predicate absorbs.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "troupe/result.hpp"

namespace troupe::detail {
namespace {

struct alignas(cache_line) wait_slot {
  std::mutex mu;
  std::condition_variable cv;
};

constexpr unsigned slot_bits = 6;  // 64 slots

wait_slot& slot_for(const void* state) noexcept {
  // Never destroyed: a detached thread may still be waiting during static destruction. Still
  // reachable through this pointer, so leak checkers do not report it.
  static wait_slot* const slots = new wait_slot[std::size_t{1} << slot_bits];
  const auto a = reinterpret_cast<std::uintptr_t>(state);
  // Fibonacci hashing of the address (heap blocks are 16-byte aligned: drop those bits).
  const std::uint64_t h = (static_cast<std::uint64_t>(a) >> 4) * 0x9E3779B97F4A7C15ull;
  return slots[h >> (64 - slot_bits)];
}

}  // namespace

void result_state_base::check_not_on_worker(const char* operation) const {
  // A result handed to a continuation (then(), co_await) is ready by construction: nothing
  // can block, so it is allowed on the worker that runs the continuation.
  // acquire: as ready(); pairs with publish().
  const std::uint32_t w = word_.load(memory_order_acquire);
  if ((w & continued) != 0 && (w & done_mask) != 0) return;
  if (on_worker_thread()) {
    throw error(std::string("result::") + operation +
                "() called on a worker thread (inside a handler); it would block the worker. "
                "Call it from a thread outside the runtime, or have the task send its value to "
                "the actor as a message.");
  }
}

void result_state_base::wait(const char* operation) {
  check_not_on_worker(operation);
  if (!ready()) wait_slow(nullptr);
}

bool result_state_base::wait_for(const char* operation, std::chrono::nanoseconds timeout) {
  check_not_on_worker(operation);
  if (ready()) return true;
  if (timeout <= std::chrono::nanoseconds::zero()) return false;
  return wait_slow(&timeout);
}

std::uint32_t result_state_base::take() {
  check_not_on_worker("get");  // before claiming: a refused get() does not consume
  // acquire: if the value is in already, pairs with publish() so that we may read it.
  std::uint32_t w = word_.fetch_or(taken, memory_order_acquire);
  if ((w & taken) != 0) {
    throw error(
        "result::get() called twice: a result hands its value over once (it is moved out). "
        "Keep the value the first get() returned.");
  }
  if ((w & done_mask) == 0) {
    wait_slow(nullptr);
    w = word_.load(memory_order_acquire);  // acquire: as above
  }
  return w;
}

void result_state_base::rethrow(std::uint32_t w) {
  if ((w & has_exception) != 0) std::rethrow_exception(std::exchange(error_, nullptr));
  throw error(reason_ != nullptr ? reason_ : broken_promise_reason);
}

bool result_state_base::wait_slow(const std::chrono::nanoseconds* timeout) {
  wait_slot& slot = slot_for(this);
  std::unique_lock lock(slot.mu);
  // acq_rel: see publish(). acquire: if done, we may read the payload.
  if ((word_.fetch_or(waiter, memory_order_acq_rel) & done_mask) != 0) return true;
  // acquire: pairs with publish()'s release.
  auto done = [this] { return (word_.load(memory_order_acquire) & done_mask) != 0; };
  if (timeout == nullptr) {
    slot.cv.wait(lock, done);
    return true;
  }
  return slot.cv.wait_for(lock, *timeout, done);
}

void result_state_base::wake() noexcept {
  // The producer still holds its reference here, so the state (and its address) is live.
  wait_slot& slot = slot_for(this);
  { std::lock_guard lock(slot.mu); }  // the sleeper is inside cv.wait() once we get it
  slot.cv.notify_all();
}

void result_state_base::throw_already_satisfied(const char* operation) {
  throw error(std::string("promise::") + operation +
              "(): the promise already has a value or an exception");
}

void throw_empty_result(const char* operation) {
  throw error(std::string("result::") + operation +
              "() on an empty result (default-constructed, or moved from)");
}

}  // namespace troupe::detail
