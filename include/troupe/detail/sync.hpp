// troupe/detail/sync.hpp — the one place troupe's concurrency primitives come from.
//
// Every lock-free structure in troupe takes its atomics, cache-line size and spin hint
// from here, so a model checker or a deterministic scheduler can be substituted in one
// place. Installed because the public templates need it; not API.
#pragma once

#include <atomic>
#include <cstddef>

namespace troupe::detail {

using std::atomic;
using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

/// Destructive-interference size on the x86-64 and AArch64 machines troupe targets.
inline constexpr std::size_t cache_line = 64;

/// Tell the core we are spinning (PAUSE / YIELD); never a syscall.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace troupe::detail
