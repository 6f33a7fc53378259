// runtime/fiber/stack_pool.cpp — mapping, guarding, pooling and unmapping fiber stacks.
#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "troupe/error.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TROUPE_STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define TROUPE_STACK_ASAN 1
#endif
#endif

// Linux 6.13 guard regions; Debian 12's headers predate them.
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace troupe::detail {

namespace {

enum : int { guard_unknown = 0, guard_madvise = 1, guard_mprotect = 2 };
// relaxed: a cache of a fact about the kernel; two threads racing to probe it store the
// same value.
std::atomic<int> g_guard_mode{guard_unknown};

// Make `page` (the lowest page of a fresh mapping) a guard page: INV-STACK-1.
bool install_guard(void* page, std::size_t len) noexcept {
  int mode = g_guard_mode.load(std::memory_order_relaxed);
  if (mode != guard_mprotect) {
    if (::madvise(page, len, MADV_GUARD_INSTALL) == 0) {
      g_guard_mode.store(guard_madvise, std::memory_order_relaxed);
      return true;
    }
    // EINVAL: a kernel without guard regions. Anything else is a real failure.
    if (errno != EINVAL || mode == guard_madvise) return false;
    g_guard_mode.store(guard_mprotect, std::memory_order_relaxed);
  }
  return ::mprotect(page, len, PROT_NONE) == 0;
}

}  // namespace

// ---- fiber_stack -----------------------------------------------------------------------------

fiber_stack::fiber_stack(fiber_stack&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      bottom_(std::exchange(other.bottom_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

fiber_stack& fiber_stack::operator=(fiber_stack&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = std::exchange(other.pool_, nullptr);
    bottom_ = std::exchange(other.bottom_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void fiber_stack::reset() noexcept {
  if (bottom_ != nullptr) {
    pool_->release(bottom_);
    pool_ = nullptr;
    bottom_ = nullptr;
    size_ = 0;
  }
}

bool fiber_stack::in_guard(const void* addr) const noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto b = reinterpret_cast<std::uintptr_t>(bottom_);
  return bottom_ != nullptr && a < b && a >= b - stack_pool::page_size();
}

// ---- stack_pool ------------------------------------------------------------------------------

std::size_t stack_pool::page_size() noexcept {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

guard_kind stack_pool::guard_mechanism() noexcept {
  return g_guard_mode.load(std::memory_order_relaxed) == guard_mprotect ? guard_kind::mprotect
                                                                        : guard_kind::madvise_guard;
}

std::size_t stack_pool::usable_size(std::size_t requested) {
  if (requested > max_fiber_stack_size) {
    throw error("fiber stack of " + std::to_string(requested) +
                " bytes requested; the maximum is " + std::to_string(max_fiber_stack_size) +
                " bytes (1 GiB)");
  }
  // No overflow: requested + page - 1 <= 1 GiB + page.
  const std::size_t page = page_size();
  return requested == 0 ? page : (requested + page - 1) / page * page;
}

stack_pool::stack_pool(stack_pool_config config)
    : stack_size_(usable_size(config.stack_size)), max_cached_(config.max_cached) {}

stack_pool::~stack_pool() {
  std::lock_guard lock(mu_);
  assert(outstanding_ == 0 && "stack_pool destroyed while a fiber still owns one of its stacks");
  while (free_ != nullptr) {
    free_node* n = free_;
    free_ = n->next;
    unmap_stack(reinterpret_cast<std::byte*>(n) + sizeof(free_node) - stack_size_);
  }
  cached_ = 0;
}

stack_pool::free_node* stack_pool::node_of(std::byte* bottom) const noexcept {
  return reinterpret_cast<free_node*>(bottom + stack_size_ - sizeof(free_node));
}

fiber_stack stack_pool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (free_ != nullptr) {
      free_node* n = free_;
      free_ = n->next;
      --cached_;
      ++outstanding_;
      return fiber_stack(this, reinterpret_cast<std::byte*>(n) + sizeof(free_node) - stack_size_,
                         stack_size_);
    }
    ++outstanding_;  // counted before mapping so that the lock is not held across syscalls
  }
  try {
    return fiber_stack(this, map_stack(), stack_size_);
  } catch (...) {
    std::lock_guard lock(mu_);
    --outstanding_;
    throw;
  }
}

void stack_pool::release(std::byte* bottom) noexcept {
#if defined(TROUPE_STACK_ASAN)
  // A fiber's outermost frames never return (they end with a context switch), so their
  // redzones stay poisoned in the shadow of this stack. The next fiber on it must start clean.
  ASAN_UNPOISON_MEMORY_REGION(bottom, stack_size_);
#endif
  {
    std::lock_guard lock(mu_);
    --outstanding_;
    if (cached_ < max_cached_) {
      free_node* n = node_of(bottom);
      n->next = free_;
      free_ = n;
      ++cached_;
      return;
    }
  }
  unmap_stack(bottom);
}

std::size_t stack_pool::cached() const {
  std::lock_guard lock(mu_);
  return cached_;
}

std::size_t stack_pool::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

std::byte* stack_pool::map_stack() const {
  const std::size_t page = page_size();
  const std::size_t len = page + stack_size_;
  // MAP_NORESERVE: only touched pages count; MAP_STACK documents the use (and keeps the
  // mapping out of THP on kernels that honour it).
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Adjacent stacks merge into one large mapping; where transparent huge pages are "always",
  // a first touch would then fault in 2 MiB for a few hundred bytes of stack. Best effort.
  (void)::madvise(p, len, MADV_NOHUGEPAGE);
  if (!install_guard(p, page)) {
    ::munmap(p, len);
    throw std::bad_alloc();
  }
  return static_cast<std::byte*>(p) + page;
}

void stack_pool::unmap_stack(std::byte* bottom) const noexcept {
  const std::size_t page = page_size();
  [[maybe_unused]] int rc = ::munmap(bottom - page, page + stack_size_);
  assert(rc == 0);
}

}  // namespace troupe::detail
