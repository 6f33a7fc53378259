// runtime/sync/futex.hpp — parking a thread on a 32-bit atomic word: the Linux futex calls
// of troupe's sleeping threads (idle workers, sched/idle.hpp; the timer thread,
// timer/timer_service.cpp).
//
// Why not std::atomic::wait/notify_one: libstdc++ 12's wait() first spins 12 PAUSEs and
// then calls sched_yield() 4 times before it sleeps, and its notify keeps a waiter count in
// a process-wide table. troupe's sleepers have already spun as long as they mean to (the
// worker's spin_policy), and their wakers know from the protocol whether anyone may sleep,
// so both calls here go straight to the kernel.
//
// Contract: futex_wait() returns at once if the word no longer holds `expected`, and may
// return spuriously or on a signal: callers re-check their condition in a loop. The kernel
// compares the word and queues the caller atomically, so a wake that follows a change of
// the word is never lost. Memory ordering comes from the callers' own atomic operations on
// the word (the kernel's read is not an acquire): re-read it with the order you need.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <ctime>

#include "troupe/detail/sync.hpp"

namespace troupe::detail {

// The kernel reads the word as a plain aligned 32-bit int.
static_assert(sizeof(atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              alignof(atomic<std::uint32_t>) == alignof(std::uint32_t) &&
              atomic<std::uint32_t>::is_always_lock_free);

/// Sleeps while `word` holds `expected`: until futex_wake_one(), or until `deadline` if
/// given (absolute, std::chrono::steady_clock, which is CLOCK_MONOTONIC in libstdc++ — the
/// clock FUTEX_WAIT_BITSET measures without FUTEX_CLOCK_REALTIME).
inline void futex_wait(atomic<std::uint32_t>& word, std::uint32_t expected,
                       const std::chrono::steady_clock::time_point* deadline = nullptr) noexcept {
  timespec ts{};
  if (deadline != nullptr) {
    const std::int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    ts.tv_sec = static_cast<std::time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET_PRIVATE, expected,
          deadline != nullptr ? &ts : nullptr, nullptr, FUTEX_BITSET_MATCH_ANY);
}

/// Wakes one thread sleeping in futex_wait() on `word`, if any.
inline void futex_wake_one(atomic<std::uint32_t>& word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

}  // namespace troupe::detail
