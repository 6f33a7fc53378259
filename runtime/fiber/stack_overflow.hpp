// runtime/fiber/stack_overflow.hpp — one line on stderr when a fiber overflows its stack.
//
// Design: a fiber that overflows its stack touches the guard page below it (INV-STACK-1) and
// the kernel raises SIGSEGV. troupe installs a SIGSEGV handler (once per process, when the
// first slab of fiber stacks is mapped) that runs on an alternate signal stack, because the
// faulting stack is exhausted. The handler reports the overflow in one line on stderr —
//   troupe: blocking actor Parser overflowed its 64 KiB stack (guard page hit at 0x…); ...
// — and then hands the signal on exactly as if troupe had no handler: to the handler that was
// installed before troupe's (called directly, with the same arguments), or, if that was the
// default action or "ignore", by restoring it and letting the fault recur (a signal sent by
// kill() or raise() is raised again), so the process still dies of SIGSEGV and dumps core.
// Every other SIGSEGV is handed on untouched, without a line.
//
// An overflow is recognised in two steps, both async-signal-safe:
//   1. the fault address lies in a registered slab of fiber stacks (a fixed array of address
//      ranges, read without locks). A crash elsewhere touches nothing but that array;
//   2. the thread is running a fiber (fiber::current(), a thread_local read — only reached
//      after step 1, so never on a thread that has not run a fiber; in a dlopen'ed library
//      the first access to a thread_local on a thread may allocate), and the fault address is
//      in that fiber's own guard page. The line names what the fiber runs (its label: a
//      blocking actor's demangled type name, computed when the actor's fiber was created)
//      and its stack size.
//
// Threads: the handler needs an alternate signal stack on the thread that overflows.
// ensure_signal_stack() gives the calling thread one (64 KiB with a guard page below it),
// unless it has one already (the application's, or a sanitizer's); it is disabled and
// unmapped when the thread exits. Workers call it when they start; fiber::fiber calls it for
// the thread that creates a fiber. A thread without one that overflows a fiber dies of the
// SIGSEGV without the line (the kernel cannot deliver the signal on the exhausted stack).
//
// Not guaranteed: a report for a stack in a slab beyond the first max_registered_slabs
// (16,384 slabs: over a million 64 KiB stacks) or on a thread without an alternate stack; a
// report for a frame larger than a page that jumps over the guard page into memory below
// it. A handler installed by the application after troupe's replaces it (and may chain to it).
//
// Sanitizers: under AddressSanitizer and ThreadSanitizer none of this is installed (no
// handler, no alternate stacks; the three functions do nothing): the sanitizer owns SIGSEGV.
// ASan reports "stack-overflow" itself, with the stack trace. TSan reports every other SEGV
// itself, and a handler of ours in front of it made those reports end in "nested bug in the
// same thread" without a stack trace (GCC 12's libtsan); an overflow on a worker stays a
// silent SIGSEGV there (docs/architecture.md, "Stack overflow").
#pragma once

#include <cstddef>

namespace troupe::detail {

/// Most slabs the handler knows at once; stacks in further slabs overflow without a report.
inline constexpr std::size_t max_registered_slabs = 16 * 1024;

/// Any thread, when a slab of fiber stacks [begin, begin + bytes) of the pool `owner` has
/// been mapped and its guard pages installed. The first call installs the SIGSEGV handler.
/// Never throws; a slab beyond max_registered_slabs is not registered. Amortised O(1) while
/// slabs are only added.
void register_stack_slab(const void* owner, const std::byte* begin, std::size_t bytes) noexcept;

/// Any thread, before the slab that starts at `begin` is unmapped. O(registered slabs).
void unregister_stack_slab(const std::byte* begin) noexcept;

/// Any thread, before the slabs of the pool `owner` are unmapped: all of them in one pass
/// over the registry.
void unregister_stack_slabs(const void* owner) noexcept;

/// Gives the calling thread an alternate signal stack unless it has one; troupe's is freed
/// when the thread exits. Idempotent and cheap after the first call on a thread (one
/// thread_local read). Never throws: if the stack cannot be mapped, the thread goes without.
void ensure_signal_stack() noexcept;

}  // namespace troupe::detail
