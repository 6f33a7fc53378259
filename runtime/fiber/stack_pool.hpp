// runtime/fiber/stack_pool.hpp — pooled, guard-paged fiber stacks.
//
// Design: each stack is its own anonymous mmap of `guard page + stack_size` bytes. The lowest
// page is the guard (stacks grow down): any access to it faults, so a fiber that overflows its
// stack dies with SIGSEGV at an address inside the guard page instead of silently overwriting
// whatever lies below. A returned stack goes onto a LIFO free list (the most recently used stack
// is the one whose pages are still in cache and resident) of at most `max_cached` stacks; the
// rest are unmapped. The free list is intrusive: its link lives in the top bytes of the free
// stack itself, so returning a stack never allocates.
//
// The guard is installed with madvise(MADV_GUARD_INSTALL) (Linux >= 6.13), which marks the page
// in the page tables without splitting the mapping: stacks cost no extra kernel VMA and 100,000
// live stacks stay far below vm.max_map_count (65530 by default). On older kernels the pool
// falls back to mprotect(PROT_NONE), which costs a second VMA per stack and so limits a process
// to about max_map_count / 2 live stacks (raise vm.max_map_count to go further).
//
// Roles: any thread may acquire() and release (by destroying the fiber_stack handle). A stack
// is touched only by the one fiber that owns it; the pool only touches the free ones.
//
// Thread safety: one mutex guards the free list. It is not on the message path: a stack is taken
// when a blocking actor starts and returned when it ends. A per-thread cache was rejected: a
// fiber may start on one worker and end on another (migration), so per-thread caches drift out of
// balance and need a shared overflow anyway, and the pool's destructor could not reach stacks
// cached by other threads. An uncontended mutex costs tens of nanoseconds; a fresh stack costs
// three system calls and page faults (see bench/micro/fiber_bench.cpp).
//
// Invariants:
//   INV-STACK-1  While a stack is mapped, [bottom() - page_size(), bottom()) is its guard page:
//                every access to it faults. The usable bytes [bottom(), top()) are readable and
//                writable, and top() is page-aligned.
//   INV-STACK-2  A stack is either owned by exactly one fiber_stack handle or on the free list,
//                never both; the free list holds at most max_cached stacks, newest first.
//   INV-STACK-3  The pool outlives every stack it handed out. Its destructor unmaps the free
//                stacks; a stack still handed out at that point is a bug (asserted in debug
//                builds, leaked in release builds rather than unmapped under a running fiber).
//
// Not guaranteed: stacks are not zeroed on reuse; a reused stack keeps its resident pages (the
// pool does not madvise them away), which is the point of reusing it.
#pragma once

#include <cstddef>
#include <mutex>

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
  /// Free stacks kept for reuse; a stack returned beyond this is unmapped. 0: never reuse.
  std::size_t max_cached = 256;
};

/// How the guard pages are made (chosen once per process, at the first stack).
enum class guard_kind { madvise_guard, mprotect };

class stack_pool {
 public:
  /// Throws troupe::error if config.stack_size exceeds max_fiber_stack_size.
  explicit stack_pool(stack_pool_config config = {});
  /// Unmaps every free stack. Precondition: every stack handed out has come back (INV-STACK-3).
  ~stack_pool();
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;

  /// Any thread: the most recently returned stack, or a freshly mapped one.
  /// Throws std::bad_alloc if the kernel refuses the mapping or its guard page.
  fiber_stack acquire();

  std::size_t stack_size() const noexcept { return stack_size_; }
  std::size_t max_cached() const noexcept { return max_cached_; }
  /// Free stacks held for reuse right now.
  std::size_t cached() const;
  /// Stacks handed out and not yet returned.
  std::size_t outstanding() const;

  /// The usable size of a stack of `requested` bytes: rounded up to whole pages, at least
  /// one. Throws troupe::error, naming both sizes, above max_fiber_stack_size (where the
  /// rounding could wrap around to a tiny stack).
  static std::size_t usable_size(std::size_t requested);
  static std::size_t page_size() noexcept;
  /// The mechanism in use; determined by the first stack this process maps.
  static guard_kind guard_mechanism() noexcept;

 private:
  friend class fiber_stack;
  struct free_node {
    free_node* next;
  };
  void release(std::byte* bottom) noexcept;
  std::byte* map_stack() const;  // a fresh stack with its guard page; returns its bottom()
  void unmap_stack(std::byte* bottom) const noexcept;
  free_node* node_of(std::byte* bottom) const noexcept;  // the link in a free stack's top bytes

  const std::size_t stack_size_;
  const std::size_t max_cached_;

  mutable std::mutex mu_;
  free_node* free_ = nullptr;    // guarded by mu_: LIFO list of free stacks (INV-STACK-2)
  std::size_t cached_ = 0;       // guarded by mu_: length of free_
  std::size_t outstanding_ = 0;  // guarded by mu_
};

class runtime_core;
/// The pool of `core` for stacks of `size` usable bytes (runtime_core::fiber_stacks; defined
/// in runtime_core.cpp, so that fiber code need not see the runtime).
stack_pool& fiber_stacks_of(runtime_core* core, std::size_t size);

}  // namespace troupe::detail
