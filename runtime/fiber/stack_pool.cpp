// runtime/fiber/stack_pool.cpp — mapping slabs, guarding, pooling, trimming and unmapping
// fiber stacks.
#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <iterator>
#include <new>
#include <string>
#include <utility>

#include "fiber/stack_overflow.hpp"
#include "troupe/detail/sync.hpp"
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
// A pidfd naming the calling thread (whose memory is the whole process's), newer than guard
// regions; it needs no open file, so it still names the right process after a fork(). Its
// sibling for the thread group changed value between kernel releases; this one did not.
#ifndef PIDFD_SELF_THREAD
#define PIDFD_SELF_THREAD (-10000)
#endif

namespace troupe::detail {

namespace {

enum : int { guard_unknown = 0, guard_madvise = 1, guard_mprotect = 2 };
// relaxed: a cache of a fact about the kernel; two threads racing to probe it store the
// same value.
atomic<int> g_guard_mode{guard_unknown};

// Make `page` (the lowest page of a stack in a fresh slab) a guard page: INV-STACK-1.
bool install_guard(void* page, std::size_t len) noexcept {
  int mode = g_guard_mode.load(memory_order_relaxed);
  if (mode != guard_mprotect) {
    if (::madvise(page, len, MADV_GUARD_INSTALL) == 0) {
      g_guard_mode.store(guard_madvise, memory_order_relaxed);
      return true;
    }
    // EINVAL: a kernel without guard regions. Anything else is a real failure.
    if (errno != EINVAL || mode == guard_madvise) return false;
    g_guard_mode.store(guard_mprotect, memory_order_relaxed);
  }
  return ::mprotect(page, len, PROT_NONE) == 0;
}

enum : int { batch_unknown = 0, batch_works = 1, batch_refused = 2 };
// relaxed: as g_guard_mode, a cached fact about the kernel.
atomic<int> g_batch_mode{batch_unknown};

// Gives `advice` for the n ranges of `iov` in one system call. False if the kernel did not
// advise every byte: it lacks process_madvise() (< 5.10), refuses this advice for the calling
// process (< 6.13) or does not know PIDFD_SELF_THREAD — then no batch is tried again —
// or it stopped part way. The caller then advises range by range (every advice used here may
// be given twice).
bool advise_batch(const iovec* iov, std::size_t n, int advice) noexcept {
#if defined(SYS_process_madvise)
  const int mode = g_batch_mode.load(memory_order_relaxed);
  if (mode == batch_refused || n == 0) return false;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) bytes += iov[i].iov_len;
  const long done = ::syscall(SYS_process_madvise, PIDFD_SELF_THREAD, iov, n, advice, 0u);
  if (done >= 0 && static_cast<std::size_t>(done) == bytes) {
    if (mode == batch_unknown) g_batch_mode.store(batch_works, memory_order_relaxed);
    return true;
  }
  if (done < 0 && mode == batch_unknown) g_batch_mode.store(batch_refused, memory_order_relaxed);
  return false;
#else
  (void)iov;
  (void)n;
  (void)advice;
  return false;
#endif
}

// Ranges per process_madvise() call: the iovec array lives on the caller's stack.
constexpr std::size_t iov_chunk = 64;

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
  return g_guard_mode.load(memory_order_relaxed) == guard_mprotect ? guard_kind::mprotect
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
    : stack_size_(usable_size(config.stack_size)),
      stride_(page_size() + stack_size_),
      max_cached_(config.max_cached),
      trim_batch_(std::clamp<std::size_t>(config.trim_batch, 1, max_trim_batch)),
      slab_cap_(std::max<std::size_t>(
          1, std::min({std::clamp<std::size_t>(config.max_slab_stacks, 1, 1024),
                       max_slab_bytes / stride_}))) {
  waiting_.reserve(trim_batch_);  // INV-STACK-4
}

stack_pool::~stack_pool() {
  std::lock_guard lock(mu_);
  assert(outstanding_ == 0 && trimming_ == 0 &&
         "stack_pool destroyed while a fiber still owns one of its stacks");
  if (outstanding_ != 0 || trimming_ != 0) return;  // INV-STACK-3: leaked, not pulled from under
  // One munmap per run of adjacent slabs (the kernel tends to place each new mapping right
  // below the previous one), so a pool of a million stacks unmaps in a few calls.
  std::sort(slabs_.begin(), slabs_.end(),
            [](const slab& a, const slab& b) { return a.base < b.base; });
  unregister_stack_slabs(this);
  std::size_t i = 0;
  while (i < slabs_.size()) {
    std::byte* const begin = slabs_[i].base;
    std::byte* end = begin + slabs_[i].stacks * stride_;
    for (++i; i < slabs_.size() && slabs_[i].base == end; ++i) end += slabs_[i].stacks * stride_;
    [[maybe_unused]] const int rc = ::munmap(begin, static_cast<std::size_t>(end - begin));
    assert(rc == 0);
  }
}

std::byte* stack_pool::bottom_of(const slab& s, std::size_t i) const noexcept {
  return s.base + i * stride_ + page_size();
}

std::byte* stack_pool::take_free_locked() noexcept {
  for (std::vector<std::byte*>* list : {&warm_, &waiting_, &cold_}) {
    if (!list->empty()) {
      std::byte* const bottom = list->back();
      list->pop_back();
      return bottom;
    }
  }
  return nullptr;
}

fiber_stack stack_pool::acquire() {
  std::size_t stacks = 0;
  {
    std::lock_guard lock(mu_);
    if (std::byte* bottom = take_free_locked()) {
      ++outstanding_;
      return fiber_stack(this, bottom, stack_size_);
    }
    stacks = next_slab_;
    next_slab_ = std::min(2 * next_slab_, slab_cap_);
    // The new slab's first stack, counted before the mapping: the lock is not held across
    // system calls.
    ++outstanding_;
  }
  std::byte* base = nullptr;
  try {
    base = map_slab(stacks);
  } catch (...) {
    std::lock_guard lock(mu_);
    --outstanding_;
    throw;
  }
  const slab fresh{base, stacks};
  {
    std::unique_lock lock(mu_);
    try {
      // INV-STACK-4: room on every list for every stack mapped, grown geometrically.
      const std::size_t total = mapped_ + stacks;
      auto reserve = [total](std::vector<std::byte*>& v, std::size_t most) {
        const std::size_t want = std::min(total, most);
        if (v.capacity() < want) v.reserve(std::min(std::max(want, 2 * v.capacity()), most));
      };
      reserve(warm_, max_cached_);
      reserve(cold_, SIZE_MAX);
      slabs_.push_back(fresh);
    } catch (...) {
      --outstanding_;
      lock.unlock();
      unregister_stack_slab(base);
      ::munmap(base, stacks * stride_);
      throw;
    }
    mapped_ += stacks;
    // The rest go to the cold list so that the lowest address is taken first.
    for (std::size_t i = stacks; i-- > 1;) cold_.push_back(bottom_of(fresh, i));
  }
  return fiber_stack(this, bottom_of(fresh, 0), stack_size_);
}

void stack_pool::release(std::byte* bottom) noexcept {
#if defined(TROUPE_STACK_ASAN)
  // A fiber's outermost frames never return (they end with a context switch), so their
  // redzones stay poisoned in the shadow of this stack. The next fiber on it must start clean.
  ASAN_UNPOISON_MEMORY_REGION(bottom, stack_size_);
#endif
  std::byte* batch[max_trim_batch];
  std::size_t n = 0;
  {
    std::lock_guard lock(mu_);
    --outstanding_;
    if (warm_.size() < max_cached_) {
      warm_.push_back(bottom);  // within capacity: INV-STACK-4
      return;
    }
    waiting_.push_back(bottom);
    if (waiting_.size() < trim_batch_) return;
    n = waiting_.size();
    std::copy(waiting_.begin(), waiting_.end(), batch);
    waiting_.clear();
    trimming_ += n;
  }
  trim(batch, n);  // without the lock: one system call for the whole batch
  std::lock_guard lock(mu_);
  // Sorted by trim(); reversed, so that the lowest address is taken first (within capacity:
  // INV-STACK-4).
  cold_.insert(cold_.end(), std::reverse_iterator(batch + n), std::reverse_iterator(batch));
  trimming_ -= n;
}

void stack_pool::trim(std::byte** bottoms, std::size_t n) const noexcept {
  // Neighbouring stacks go to the kernel as one range, the guard pages between them included:
  // a guard mark survives MADV_DONTNEED (INV-STACK-1). The kernel's cost is per range far more
  // than per page, and stacks released together were mostly handed out together, from one
  // slab (200,000 closed at once: 34 stacks per range). With mprotect guards every stack
  // stays a range of its own: there a guard is a PROT_NONE mapping between the stacks.
  const bool merge = g_guard_mode.load(memory_order_relaxed) == guard_madvise;
  std::sort(bottoms, bottoms + n);
  iovec iov[iov_chunk];
  std::size_t ranges = 0;
  auto flush = [&] {
    if (!advise_batch(iov, ranges, MADV_DONTNEED)) {
      for (std::size_t i = 0; i < ranges; ++i) {
        // Fails only for a range that is not mapped, which a pooled stack always is.
        [[maybe_unused]] const int rc = ::madvise(iov[i].iov_base, iov[i].iov_len, MADV_DONTNEED);
        assert(rc == 0);
      }
    }
    ranges = 0;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (merge && ranges > 0 &&
        static_cast<std::byte*>(iov[ranges - 1].iov_base) + iov[ranges - 1].iov_len + page_size() ==
            bottoms[i]) {
      iov[ranges - 1].iov_len += stride_;
      continue;
    }
    if (ranges == iov_chunk) flush();
    iov[ranges++] = {bottoms[i], stack_size_};
  }
  flush();
}

std::byte* stack_pool::map_slab(std::size_t stacks) const {
  const std::size_t page = page_size();
  const std::size_t len = stacks * stride_;
  // MAP_NORESERVE: only touched pages count; MAP_STACK documents the use (and keeps the
  // mapping out of THP on kernels that honour it).
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* const base = static_cast<std::byte*>(p);
  // Adjacent slabs merge into one large mapping; where transparent huge pages are "always",
  // a first touch would then fault in 2 MiB for a few hundred bytes of stack. Best effort.
  (void)::madvise(p, len, MADV_NOHUGEPAGE);
  iovec iov[iov_chunk];
  for (std::size_t first = 0; first < stacks; first += iov_chunk) {
    const std::size_t k = std::min(iov_chunk, stacks - first);
    for (std::size_t i = 0; i < k; ++i) iov[i] = {base + (first + i) * stride_, page};
    // A batch only where guard regions are known to work: the first slab of the process
    // probes them one by one (install_guard() falls back to mprotect).
    if (g_guard_mode.load(memory_order_relaxed) == guard_madvise &&
        advise_batch(iov, k, MADV_GUARD_INSTALL)) {
      continue;
    }
    for (std::size_t i = 0; i < k; ++i) {
      if (!install_guard(iov[i].iov_base, page)) {
        ::munmap(p, len);
        throw std::bad_alloc();
      }
    }
  }
  // The SIGSEGV handler can now tell an overflow into these guards (stack_overflow.hpp).
  register_stack_slab(this, base, len);
  return base;
}

std::size_t stack_pool::cached() const {
  std::lock_guard lock(mu_);
  return warm_.size() + waiting_.size();
}

std::size_t stack_pool::trimmed() const {
  std::lock_guard lock(mu_);
  return cold_.size();
}

std::size_t stack_pool::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

std::size_t stack_pool::mapped() const {
  std::lock_guard lock(mu_);
  return mapped_;
}

std::size_t stack_pool::slabs() const {
  std::lock_guard lock(mu_);
  return slabs_.size();
}

}  // namespace troupe::detail
