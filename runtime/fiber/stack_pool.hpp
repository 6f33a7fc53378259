// runtime/fiber/stack_pool.hpp — pooled, guard-paged fiber stacks.
//
// Design: stacks are carved out of slabs. A slab is one anonymous mmap holding several stacks,
// each laid out as `guard page + stack_size` bytes. A stack's lowest page is its guard (stacks
// grow down): any access to it faults, so a fiber that overflows its stack dies with SIGSEGV at
// an address inside the guard page instead of silently overwriting whatever lies below (in a
// slab, the stack below). Slabs grow by doubling from one stack to `max_slab_stacks` (64), so a
// runtime with one blocking actor maps one stack, and a million actors cost one mmap per 64
// stacks instead of one each: mapping and unmapping take the process's mmap lock for writing
// and each unmap interrupts every CPU running the process (TLB shootdown), which is what made
// mass start and shutdown slow with one mapping per stack.
//
// A stack is never unmapped before the pool is destroyed; it is reused. A returned stack goes
// onto the warm list (LIFO: the most recently used stack is the one whose pages are still in
// cache), at most `max_cached` long, keeping its resident pages. A stack returned while the warm
// list is full waits in the trim batch; when `trim_batch` (64) stacks are waiting, the thread
// that returned the last one gives all their pages back to the kernel (MADV_DONTNEED, adjacent
// stacks as one range) and moves them to the cold list. Cold stacks (trimmed ones, and the
// stacks of fresh slabs not yet handed out) hold no resident pages. acquire() takes a warm
// stack, else a waiting one, else a cold one, and maps a new slab only when all three lists
// are empty. The pool's destructor unmaps its slabs, adjacent ones together. From its mapping
// to its unmapping every slab is registered with the SIGSEGV handler that names a fiber that
// overflowed its stack (stack_overflow.hpp).
//
// System calls: the guards of a slab, and a trim batch, each go to the kernel in one
// process_madvise() call, on kernels that accept every advice for the calling process (>= 6.13)
// and know the PIDFD_SELF_THREAD sentinel (newer still; 6.18 here); where the kernel refuses,
// one madvise() per stack.
// A guard is installed with MADV_GUARD_INSTALL (Linux >= 6.13), which marks the page in the
// page tables without splitting the mapping, and survives MADV_DONTNEED: a slab stays one
// kernel VMA, and a million live stacks stay far below vm.max_map_count (65530 by default).
// On older kernels the pool falls back to mprotect(PROT_NONE), which costs two VMAs per stack
// and so limits a process to about max_map_count / 2 live stacks.
//
// Roles: any thread may acquire() and release (by destroying the fiber_stack handle). A stack
// is touched only by the one fiber that owns it; the pool never reads or writes stack memory
// (its lists are vectors of addresses), it only maps, advises and unmaps it.
//
// Thread safety: one mutex guards the lists. It is not on the message path: a stack is taken
// when a blocking actor starts and returned when it ends. No system call is made under it:
// mapping a slab and trimming a batch happen after the lock is dropped. A per-thread cache was
// rejected: a fiber may start on one worker and end on another (migration), so per-thread caches
// drift out of balance and need a shared overflow anyway, and the pool's destructor could not
// reach stacks cached by other threads.
//
// Invariants:
//   INV-STACK-1  While a stack is mapped, [bottom() - page_size(), bottom()) is its guard page:
//                every access to it faults. The usable bytes [bottom(), top()) are readable and
//                writable, and top() is page-aligned. Trimming keeps the guard.
//   INV-STACK-2  Every stack of every slab is in exactly one place: owned by one fiber_stack
//                handle, on the warm list (at most max_cached, newest last), in the trim batch
//                (fewer than trim_batch), being trimmed by one releasing thread, or on the cold
//                list. So mapped() == outstanding() + cached() + trimmed() whenever no release
//                is in progress.
//   INV-STACK-3  The pool outlives every stack it handed out. Its destructor unmaps every slab;
//                a stack still handed out at that point is a bug (asserted in debug builds; in
//                release builds every slab is leaked rather than unmapped under a running fiber).
//   INV-STACK-4  Returning a stack never allocates: the lists' capacities are reserved when a
//                slab is mapped (in acquire(), which may throw), for every stack mapped so far.
//
// Not guaranteed: stacks are not zeroed on reuse (a warm stack keeps its old contents; a
// trimmed one reads as zeros). Address space is not returned before the pool is destroyed: after
// a peak of N live stacks the pool keeps N × (stack_size + one page) of address space (backed by
// no memory, MAP_NORESERVE) and the page tables that hold the guard marks, about 140 bytes per
// 64 KiB stack; a later peak reuses them.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "troupe/detail/fiber_host.hpp"  // max_fiber_stack_size

namespace troupe::detail {

class stack_pool;

/// A fiber stack: [guard page][bottom() ... top()). Move-only handle; its destructor gives the
/// stack back to the pool it came from.
class fiber_stack {
 public:
  fiber_stack() noexcept = default;
  fiber_stack(fiber_stack&& other) noexcept;
  fiber_stack& operator=(fiber_stack&& other) noexcept;
  fiber_stack(const fiber_stack&) = delete;
  fiber_stack& operator=(const fiber_stack&) = delete;
  ~fiber_stack() { reset(); }

  /// Give the stack back to its pool now; the handle becomes empty.
  void reset() noexcept;

  explicit operator bool() const noexcept { return bottom_ != nullptr; }
  /// Lowest usable address; the guard page lies just below it.
  std::byte* bottom() const noexcept { return bottom_; }
  /// One past the highest usable byte: a new fiber's stack pointer starts here.
  std::byte* top() const noexcept { return bottom_ + size_; }
  /// Usable bytes, a multiple of the page size.
  std::size_t size() const noexcept { return size_; }
  /// True if `addr` lies in this stack's guard page: a SIGSEGV there is a stack overflow.
  bool in_guard(const void* addr) const noexcept;

 private:
  friend class stack_pool;
  fiber_stack(stack_pool* pool, std::byte* bottom, std::size_t size) noexcept
      : pool_(pool), bottom_(bottom), size_(size) {}

  stack_pool* pool_ = nullptr;
  std::byte* bottom_ = nullptr;
  std::size_t size_ = 0;
};

struct stack_pool_config {
  /// Usable bytes per stack, rounded up to whole pages (a guard page comes on top); at most
  /// max_fiber_stack_size.
  std::size_t stack_size = 64 * 1024;
  /// Free stacks kept with their resident pages (the warm list). 0: every returned stack is
  /// trimmed.
  std::size_t max_cached = 256;
  /// Stacks returned beyond max_cached are trimmed together, this many per system call;
  /// clamped to [1, max_trim_batch].
  std::size_t trim_batch = 64;
  /// Most stacks one slab (one mmap) holds; slabs grow from 1 by doubling up to this, and
  /// beyond one stack to at most max_slab_bytes. Clamped to [1, 1024].
  std::size_t max_slab_stacks = 64;
};

/// How the guard pages are made (chosen once per process, at the first stack).
enum class guard_kind { madvise_guard, mprotect };

class stack_pool {
 public:
  /// Largest trim_batch: the batch is copied to the releasing thread's stack for the system call.
  static constexpr std::size_t max_trim_batch = 64;
  /// A slab of more than one stack spans at most this many bytes.
  static constexpr std::size_t max_slab_bytes = std::size_t{64} << 20;

  /// Throws troupe::error if config.stack_size exceeds max_fiber_stack_size.
  explicit stack_pool(stack_pool_config config = {});
  /// Unmaps every slab. Precondition: every stack handed out has come back (INV-STACK-3).
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  /// Any thread: a warm stack (the most recently returned), else one waiting to be trimmed,
  /// else a cold one, else the first stack of a freshly mapped slab. Throws std::bad_alloc if
  /// the kernel refuses the mapping or its guard pages.
  fiber_stack acquire();

  std::size_t stack_size() const noexcept { return stack_size_; }
  std::size_t max_cached() const noexcept { return max_cached_; }
  std::size_t trim_batch() const noexcept { return trim_batch_; }
  /// Free stacks that keep their resident pages: warm ones and those waiting to be trimmed.
  std::size_t cached() const;
  /// Free stacks without resident pages: trimmed ones and fresh ones never handed out.
  std::size_t trimmed() const;
  /// Stacks handed out and not yet returned.
  std::size_t outstanding() const;
  /// Stacks in all slabs.
  std::size_t mapped() const;
  /// Slabs (mappings) made so far.
  std::size_t slabs() const;

  /// The usable size of a stack of `requested` bytes: rounded up to whole pages, at least
  /// one. Throws troupe::error, naming both sizes, above max_fiber_stack_size (where the
  /// rounding could wrap around to a tiny stack).
  static std::size_t usable_size(std::size_t requested);
  static std::size_t page_size() noexcept;
  /// The mechanism in use; determined by the first stack this process maps.
  static guard_kind guard_mechanism() noexcept;

 private:
  friend class fiber_stack;
  struct slab {
    std::byte* base;  // the lowest guard page
    std::size_t stacks;
  };

  void release(std::byte* bottom) noexcept;
  std::byte* take_free_locked() noexcept;         // a free stack's bottom(), or null
  std::byte* map_slab(std::size_t stacks) const;  // a fresh slab, guards installed; its base
  void trim(std::byte** bottoms, std::size_t n) const noexcept;  // MADV_DONTNEED; sorts them
  std::byte* bottom_of(const slab& s, std::size_t i) const noexcept;

  const std::size_t stack_size_;
  const std::size_t stride_;  // guard page + stack_size_
  const std::size_t max_cached_;
  const std::size_t trim_batch_;
  const std::size_t slab_cap_;  // most stacks per slab

  // Guarded by mu_. The three lists hold the bottoms of free stacks (INV-STACK-2); their
  // capacities cover every stack mapped (INV-STACK-4).
  mutable std::mutex mu_;
  std::vector<std::byte*> warm_;     // resident pages kept; LIFO, at most max_cached_
  std::vector<std::byte*> waiting_;  // resident pages kept, to be trimmed; < trim_batch_
  std::vector<std::byte*> cold_;     // no resident pages; LIFO
  std::vector<slab> slabs_;
  std::size_t mapped_ = 0;       // stacks in slabs_
  std::size_t outstanding_ = 0;  // handed out, plus a slab's first stack while it is mapped
  std::size_t trimming_ = 0;     // taken from waiting_ by a release() that is trimming them
  std::size_t next_slab_ = 1;    // stacks in the next slab to map
};

class runtime_core;
/// The pool of `core` for stacks of `size` usable bytes (runtime_core::fiber_stacks; defined
/// in runtime_core.cpp, so that fiber code need not see the runtime).
stack_pool& fiber_stacks_of(runtime_core* core, std::size_t size);

}  // namespace troupe::detail
