// runtime/fiber/stack_overflow.cpp — the SIGSEGV handler that reports a fiber's stack
// overflow, the registry of stack slabs it consults, and the threads' alternate signal stacks.
// See stack_overflow.hpp for the design.
#include "fiber/stack_overflow.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "fiber/fiber.hpp"
#include "fiber/stack_pool.hpp"
#include "troupe/detail/sync.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TROUPE_OVERFLOW_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TROUPE_OVERFLOW_SANITIZER 1
#endif
#endif

namespace troupe::detail {

#if defined(TROUPE_OVERFLOW_SANITIZER)

// The sanitizer owns SIGSEGV (stack_overflow.hpp, "Sanitizers").
void register_stack_slab(const void*, const std::byte*, std::size_t) noexcept {}
void unregister_stack_slab(const std::byte*) noexcept {}
void unregister_stack_slabs(const void*) noexcept {}
void ensure_signal_stack() noexcept {}

#else

namespace {

// ---- the registry of slabs ------------------------------------------------------------------
// Written under g_registry_mu (slabs are mapped and unmapped rarely, with a system call each);
// read without locks by the handler. A slot is free while its begin is 0.

struct slab_range {
  atomic<std::uintptr_t> begin{0};
  atomic<std::uintptr_t> end{0};
  const void* owner = nullptr;  // the pool; guarded by g_registry_mu, never read by the handler
};

std::mutex g_registry_mu;
slab_range g_slabs[max_registered_slabs];  // constant-initialised: no constructor runs
atomic<std::size_t> g_slabs_used{0};       // slots [0, used) may be taken
std::size_t g_first_free = 0;              // no free slot below it; guarded by g_registry_mu
bool g_handler_installed = false;          // guarded by g_registry_mu

// Empties slot i, under g_registry_mu.
void clear_slot_locked(std::size_t i) noexcept {
  // relaxed: the handler only reads the range, never the slab's memory, so nothing has to be
  // ordered before the unmapping that follows; a handler that still sees the slot lets the
  // running fiber's own bounds decide.
  g_slabs[i].begin.store(0, memory_order_relaxed);
  g_slabs[i].owner = nullptr;
  if (i < g_first_free) g_first_free = i;
}

// The disposition that was in place before troupe's handler; written once, before the
// handler is installed (and so before it can run).
struct sigaction g_previous;

// True if `addr` lies in a registered slab. A slot being rewritten while we read it may give
// a range mixed from two slabs; that only lets step 2 (the running fiber's own guard page)
// decide, so it is harmless.
bool in_registered_slab(std::uintptr_t addr) noexcept {
  // acquire: pairs with the release store of used in register_stack_slab(), so the slots
  // below it are seen initialised (the stacks of a slab reach a fiber only after that store
  // anyway, through the pool's mutex and the run queue).
  const std::size_t used = g_slabs_used.load(memory_order_acquire);
  for (std::size_t i = 0; i < used; ++i) {
    // acquire: pairs with the release store of begin, which published end.
    const std::uintptr_t b = g_slabs[i].begin.load(memory_order_acquire);
    if (b == 0 || addr < b) continue;
    // relaxed: ordered after the begin load above by its acquire.
    if (addr < g_slabs[i].end.load(memory_order_relaxed)) return true;
  }
  return false;
}

// ---- the report -------------------------------------------------------------------------------

// Appends to a fixed buffer without allocating (snprintf is not async-signal-safe).
struct line_buffer {
  char buf[640];
  std::size_t len = 0;

  void put(const char* s, std::size_t max = sizeof(buf)) noexcept {
    for (std::size_t i = 0; s[i] != '\0' && i < max && len < sizeof(buf) - 1; ++i) {
      buf[len++] = s[i];
    }
  }
  void put_decimal(std::size_t v) noexcept {
    char digits[24];
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0 && len < sizeof(buf) - 1) buf[len++] = digits[--n];
  }
  void put_hex(std::uintptr_t v) noexcept {
    put("0x");
    char digits[2 * sizeof(v)];
    std::size_t n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 0xf];
      v >>= 4;
    } while (v != 0);
    while (n > 0 && len < sizeof(buf) - 1) buf[len++] = digits[--n];
  }
};

void report(const fiber& f, std::uintptr_t addr) noexcept {
  line_buffer line;
  if (const char* label = f.label()) {
    line.put("troupe: blocking actor ");
    line.put(label, 400);  // a long template name is cut short
  } else {
    line.put("troupe: a fiber");
  }
  line.put(" overflowed its ");
  const std::size_t size = f.stack_size();
  if (size % 1024 == 0) {
    line.put_decimal(size / 1024);
    line.put(" KiB stack (guard page hit at ");
  } else {
    line.put_decimal(size);
    line.put(" byte stack (guard page hit at ");
  }
  line.put_hex(addr);
  line.put(f.label() != nullptr
               ? "); raise fiber_options::stack_size (see troupe/blocking_actor.hpp)\n"
               : ")\n");
  line.buf[line.len - 1] = '\n';  // even if the line was cut short
  const char* p = line.buf;
  std::size_t left = line.len;
  while (left > 0) {  // one write(2) unless interrupted
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Hands the signal on as if troupe had installed no handler.
void chain(int sig, siginfo_t* info, void* context) noexcept {
  const struct sigaction& prev = g_previous;
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    if ((prev.sa_flags & SA_SIGINFO) != 0) {
      prev.sa_sigaction(sig, info, context);
    } else {
      prev.sa_handler(sig);
    }
    return;  // as that handler would have: a fault recurs, unless it repaired the cause
  }
  // The default action (or "ignore"): restore it. A fault recurs when we return and the
  // kernel applies it (to an ignored fault too: it then forces the default), so the process
  // dies of SIGSEGV and dumps core as it would have without troupe. A SIGSEGV sent by kill()
  // or raise() (si_code <= 0) does not recur: send it again; it stays pending until we return.
  ::sigaction(sig, &prev, nullptr);
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

void on_sigsegv(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  // si_code > 0: raised by the kernel for a fault, so si_addr is the faulting address.
  if (info != nullptr && info->si_code > 0) {
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    if (in_registered_slab(addr)) {
      const fiber* f = fiber::current();
      if (f != nullptr) {
        const auto bottom = reinterpret_cast<std::uintptr_t>(f->stack_bottom());
        // page_size()'s static was initialised when the slab was mapped: a plain read now.
        if (addr < bottom && addr >= bottom - stack_pool::page_size()) report(*f, addr);
      }
    }
  }
  errno = saved_errno;
  chain(sig, info, context);
}

void install_handler_locked() noexcept {
  // Read the previous disposition first and install ours second, so that g_previous is
  // complete before our handler can run.
  if (::sigaction(SIGSEGV, nullptr, &g_previous) != 0) return;
  struct sigaction ours;
  std::memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = &on_sigsegv;
  sigemptyset(&ours.sa_mask);
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  ::sigaction(SIGSEGV, &ours, nullptr);
}

// ---- alternate signal stacks ------------------------------------------------------------------

constexpr std::size_t signal_stack_size = 64 * 1024;

// The calling thread's alternate signal stack, if troupe gave it one.
class signal_stack {
 public:
  constexpr signal_stack() noexcept = default;
  signal_stack(const signal_stack&) = delete;
  signal_stack& operator=(const signal_stack&) = delete;

  // At thread exit: disable the stack (if it is still the thread's) before unmapping it.
  ~signal_stack() {
    if (map_ == nullptr) return;
    stack_t current;
    if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0 &&
        current.ss_sp == static_cast<std::byte*>(map_) + guard_) {
      stack_t off;
      std::memset(&off, 0, sizeof off);
      off.ss_flags = SS_DISABLE;
      ::sigaltstack(&off, nullptr);
    }
    ::munmap(map_, guard_ + signal_stack_size);
  }

  void ensure() noexcept {
    if (checked_) return;
    checked_ = true;
    stack_t current;
    if (::sigaltstack(nullptr, &current) != 0) return;
    if ((current.ss_flags & SS_DISABLE) == 0) return;  // the thread has one: keep it
    const std::size_t guard = stack_pool::page_size();
    void* p = ::mmap(nullptr, guard + signal_stack_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return;
    // A handler that overflows the signal stack faults on this page instead of writing
    // below it.
    (void)::mprotect(p, guard, PROT_NONE);
    stack_t ss;
    std::memset(&ss, 0, sizeof ss);
    ss.ss_sp = static_cast<std::byte*>(p) + guard;
    ss.ss_size = signal_stack_size;
    if (::sigaltstack(&ss, nullptr) != 0) {
      ::munmap(p, guard + signal_stack_size);
      return;
    }
    map_ = p;
    guard_ = guard;
  }

 private:
  void* map_ = nullptr;
  std::size_t guard_ = 0;
  bool checked_ = false;
};

thread_local signal_stack t_signal_stack;

}  // namespace

void register_stack_slab(const void* owner, const std::byte* begin, std::size_t bytes) noexcept {
  std::lock_guard lock(g_registry_mu);
  if (!g_handler_installed) {
    install_handler_locked();
    g_handler_installed = true;
  }
  // relaxed: written only under g_registry_mu.
  const std::size_t used = g_slabs_used.load(memory_order_relaxed);
  std::size_t i = g_first_free;
  // relaxed: begin is written only under g_registry_mu.
  while (i < used && g_slabs[i].begin.load(memory_order_relaxed) != 0) ++i;
  if (i == max_registered_slabs) return;
  g_first_free = i + 1;
  g_slabs[i].owner = owner;
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  // relaxed: published by the release store of begin below.
  g_slabs[i].end.store(b + bytes, memory_order_relaxed);
  // release: publishes end; pairs with the acquire load of begin in in_registered_slab().
  g_slabs[i].begin.store(b, memory_order_release);
  // release: publishes slot i; pairs with the acquire load of used in in_registered_slab().
  if (i == used) g_slabs_used.store(used + 1, memory_order_release);
}

void unregister_stack_slab(const std::byte* begin) noexcept {
  std::lock_guard lock(g_registry_mu);
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  // relaxed: written only under g_registry_mu.
  const std::size_t used = g_slabs_used.load(memory_order_relaxed);
  for (std::size_t i = 0; i < used; ++i) {
    // relaxed: begin is written only under g_registry_mu.
    if (g_slabs[i].begin.load(memory_order_relaxed) == b) {
      clear_slot_locked(i);
      return;
    }
  }
}

void unregister_stack_slabs(const void* owner) noexcept {
  std::lock_guard lock(g_registry_mu);
  // relaxed: written only under g_registry_mu.
  const std::size_t used = g_slabs_used.load(memory_order_relaxed);
  for (std::size_t i = 0; i < used; ++i) {
    if (g_slabs[i].owner == owner) clear_slot_locked(i);
  }
}

void ensure_signal_stack() noexcept { t_signal_stack.ensure(); }

#endif  // TROUPE_OVERFLOW_SANITIZER

}  // namespace troupe::detail
