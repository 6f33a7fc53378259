// runtime/fiber/fiber.cpp — the only file in troupe that includes Boost.Context.
//
// Boost.Context 1.74's fcontext fibers carry no sanitizer annotations (Debian's build has no
// BOOST_USE_ASAN, and no 1.74 variant supports TSan), so the switches are annotated here:
//
// ThreadSanitizer keeps a shadow call stack per fiber. __tsan_switch_to_fiber must come right
// before the jump, and every instrumented frame entered between the two lands on the target's
// shadow stack. Under TSan all jumps therefore go through one out-of-line function, switch_to():
// the frames it pushes on the target before jumping are the ones the target pops when its own
// switch_to() returns, so every shadow stack stays balanced (a leak of one entry per switch
// would overflow it; checked by reading TSan's shadow-stack pointer around millions of
// switches). Two paths do not end in switch_to() and are handled apart: construction (Boost runs
// the new fiber's entry frame briefly; done under the new fiber's TSan context so that frame
// lands on its own shadow stack) and the body's final return (Boost's exit path returns into the
// resumer's switch_to() still under the finished fiber's context; switch_to() switches back).
//
// AddressSanitizer needs __sanitizer_start_switch_fiber before and __sanitizer_finish_switch_fiber
// after each jump, so that it knows which stack is current when it unpoisons the stack for a
// throw. The fiber learns its resumer's stack bounds from finish_switch (they change when it
// migrates) and announces its own death with a null fake-stack pointer on its final exit.
//
// Boost's own teardown of a suspended fiber (throwing forced_unwind through ontop_fcontext) is
// never used: it jumps without these annotations, and it cannot cope with a body that swallows
// the exception and suspends again. ~fiber resumes the body instead and suspend() throws
// fiber_unwind (INV-FIBER-6), so every fiber leaves through the same annotated exit path.
#include "fiber/fiber.hpp"

#include <cxxabi.h>

#include <boost/context/fiber.hpp>
#include <boost/context/preallocated.hpp>
#include <boost/context/stack_context.hpp>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "fiber/stack_overflow.hpp"
#include "troupe/detail/fiber_host.hpp"
#include "troupe/detail/type_name.hpp"
#include "troupe/error.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define TROUPE_FIBER_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(TROUPE_FIBER_ASAN)
#define TROUPE_FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(TROUPE_FIBER_TSAN)
#define TROUPE_FIBER_TSAN 1
#endif
#endif

#if defined(TROUPE_FIBER_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(TROUPE_FIBER_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace troupe::detail {

namespace bctx = boost::context;

static_assert(sizeof(bctx::fiber) == sizeof(void*) && alignof(bctx::fiber) <= alignof(void*),
              "fiber stores a boost::context::fiber in one pointer's worth of bytes");

namespace {

// Written only by resume() on its own thread; read by current().
thread_local fiber* t_current = nullptr;

// Boost's StackAllocator concept, for a preallocated stack: Boost moves it out of its record
// and calls deallocate() on the resumer's stack once the body has finished (INV-FIBER-3).
struct pooled_stack_allocator {
  fiber_stack stack;
  void deallocate(bctx::stack_context&) noexcept { stack.reset(); }
};

// The C++ exception-handling globals of the calling thread (Itanium C++ ABI, exception
// handling, "caught exception stack": caughtExceptions, then uncaughtExceptions). Swapped per fiber
// by resume() (INV-FIBER-5).
#if defined(__GLIBCXX__) && !defined(__ARM_EABI_UNWINDER__)
#define TROUPE_FIBER_SWAP_EH 1
struct eh_globals {
  void* caught;
  unsigned int uncaught;
};
// Cached per thread: __cxa_get_globals() is a call into libstdc++ plus a dynamic TLS lookup.
thread_local eh_globals* t_eh_globals = nullptr;
eh_globals* thread_eh_globals() noexcept {
  eh_globals* g = t_eh_globals;
  if (g == nullptr) t_eh_globals = g = reinterpret_cast<eh_globals*>(abi::__cxa_get_globals());
  return g;
}
#endif

// Under TSan, switch_to() must be one out-of-line body shared by every switch (no clones, no
// inlining: see the note at the top of this file). Otherwise it is inlined into resume() and
// suspend(): a context switch defeats the CPU's return-address prediction, so every return
// executed after landing mispredicts, and each call level around the jump costs a few ns.
#if defined(TROUPE_FIBER_TSAN)
#if defined(__clang__)
#define TROUPE_SWITCH_ATTR [[gnu::noinline]]
#else
#define TROUPE_SWITCH_ATTR [[gnu::noipa]]
#endif
#else
#define TROUPE_SWITCH_ATTR [[gnu::always_inline]] inline
#endif

// The one place where execution moves to another stack (INV-FIBER-5). Jumps to `to` and, when
// someone jumps back, stores their continuation in `to` (empty if the target finished).
TROUPE_SWITCH_ATTR void switch_to(bctx::fiber& to, [[maybe_unused]] void* to_tsan,
                                  [[maybe_unused]] const void* to_stack_bottom,
                                  [[maybe_unused]] std::size_t to_stack_size,
                                  [[maybe_unused]] const void** from_stack_bottom,
                                  [[maybe_unused]] std::size_t* from_stack_size) noexcept {
#if defined(TROUPE_FIBER_TSAN)
  void* const self = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to_tsan, 0);  // 0: synchronize, this thread's past happens-before
#endif
#if defined(TROUPE_FIBER_ASAN)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, to_stack_bottom, to_stack_size);
#endif
  to = std::move(to).resume();
#if defined(TROUPE_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, from_stack_bottom, from_stack_size);
#endif
#if defined(TROUPE_FIBER_TSAN)
  // The target's body returned: Boost's exit path came back without annotating.
  if (!to) __tsan_switch_to_fiber(self, 0);
#endif
}

}  // namespace

// Reaches fiber's private fields from the code that runs on the fiber's stack.
struct fiber_access {
  static bctx::fiber& ctx(fiber& f) noexcept {
    return *std::launder(reinterpret_cast<bctx::fiber*>(f.ctx_));
  }
  static bctx::fiber& caller(fiber& f) noexcept {
    return *std::launder(reinterpret_cast<bctx::fiber*>(f.caller_));
  }

  // The fiber's outermost frame (below it only Boost's entry). Runs on the fiber's stack.
  static bctx::fiber run(fiber& f, bctx::fiber&& resumer) noexcept {
    caller(f) = std::move(resumer);
#if defined(TROUPE_FIBER_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, &f.caller_stack_bottom_, &f.caller_stack_size_);
#endif
    if (!f.unwinding_) {  // a fiber destroyed before it started never runs its body
      try {
        f.invoke_(f.body_);
      } catch (const fiber_unwind&) {
        // INV-FIBER-6: the stack has been unwound; finish normally.
      } catch (...) {
        f.error_ = std::current_exception();  // INV-FIBER-4
      }
    }
    f.destroy_(f.body_);
#if defined(TROUPE_FIBER_ASAN)
    // Leaving this stack for good: null tells ASan to free the fiber's fake stack.
    __sanitizer_start_switch_fiber(nullptr, f.caller_stack_bottom_, f.caller_stack_size_);
#endif
    return std::move(caller(f));  // Boost jumps there and frees our stack from its side
  }
};

std::size_t fiber::body_reserve(const fiber_stack& stack, std::size_t size, std::size_t align) {
  if (!stack) throw std::invalid_argument("troupe: fiber needs a stack");
  if (align > stack_pool::page_size()) throw std::length_error("troupe: fiber body over-aligned");
  const std::size_t a = align < 16 ? 16 : align;
  const std::size_t reserved = (size + a - 1) / a * a;
  if (reserved > stack.size() / 4) throw std::length_error("troupe: fiber body too large");
  return reserved;
}

void fiber::start(fiber_stack&& stack, std::size_t reserved, void* body, invoke_fn invoke,
                  destroy_fn destroy) noexcept {
  // A thread that creates fibers probably runs them: give it a stack to report an overflow
  // on (workers have one already). Not on the switch path.
  ensure_signal_stack();
  body_ = body;
  invoke_ = invoke;
  destroy_ = destroy;
  stack_bottom_ = stack.bottom();
  stack_size_ = stack.size();
  ::new (static_cast<void*>(caller_)) bctx::fiber();

  // Boost's record and the first frame go just below the body object.
  bctx::stack_context sctx;
  sctx.sp = stack.top();
  sctx.size = stack.size();
  const bctx::preallocated prealloc(stack.top() - reserved, stack.size() - reserved, sctx);

#if defined(TROUPE_FIBER_TSAN)
  tsan_fiber_ = __tsan_create_fiber(0);
  void* const self = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  // Runs Boost's entry frame on the new stack for a moment (it parks there until resumed).
  ::new (static_cast<void*>(ctx_))
      bctx::fiber(std::allocator_arg, prealloc, pooled_stack_allocator{std::move(stack)},
                  [this](bctx::fiber&& resumer) noexcept {
                    return fiber_access::run(*this, std::move(resumer));
                  });
#if defined(TROUPE_FIBER_TSAN)
  __tsan_switch_to_fiber(self, 0);
#endif
}

fiber::~fiber() {
  assert(state_ != state::running && "a fiber cannot destroy itself");
  if (state_ != state::done) {
    unwinding_ = true;  // INV-FIBER-6
    resume();
    if (state_ != state::done) std::abort();  // unreachable: suspend() throws while unwinding
  }
  std::destroy_at(&fiber_access::ctx(*this));  // both empty by now
  std::destroy_at(&fiber_access::caller(*this));
}

void fiber::resume() noexcept {
  assert((state_ == state::ready || state_ == state::suspended) && "resume of a running fiber");
  fiber* const outer = t_current;  // non-null if a fiber resumes another one
  t_current = this;
#if defined(TROUPE_FIBER_SWAP_EH)
  // INV-FIBER-5: the fiber gets its own exception state. The resumer never migrates during
  // this call, so `eh` stays this thread's for the whole function.
  eh_globals* const eh = thread_eh_globals();
  const eh_globals outer_eh = *eh;
  eh->caught = eh_caught_;
  eh->uncaught = eh_uncaught_;
#endif
#if defined(TROUPE_FIBER_TSAN)
  tsan_caller_ = __tsan_get_current_fiber();
#endif
  state_ = state::running;

  switch_to(fiber_access::ctx(*this), tsan_fiber_, stack_bottom_, stack_size_, nullptr, nullptr);

#if defined(TROUPE_FIBER_SWAP_EH)
  eh_caught_ = eh->caught;
  eh_uncaught_ = eh->uncaught;
  *eh = outer_eh;
#endif
  t_current = outer;
  if (fiber_access::ctx(*this)) {
    state_ = state::suspended;
  } else {
    state_ = state::done;  // INV-FIBER-3: Boost has returned the stack already
#if defined(TROUPE_FIBER_TSAN)
    __tsan_destroy_fiber(tsan_fiber_);
    tsan_fiber_ = nullptr;
#endif
  }
}

void fiber::suspend() {
  assert(state_ == state::running && "suspend() outside the fiber");
  if (unwinding_) throw fiber_unwind{};  // INV-FIBER-6: no more switches while destroyed
  switch_to(fiber_access::caller(*this), tsan_caller_, caller_stack_bottom_, caller_stack_size_,
            &caller_stack_bottom_, &caller_stack_size_);
  // Possibly on another thread now (INV-FIBER-2).
  if (unwinding_) throw fiber_unwind{};
}

void fiber::suspend_noexcept() noexcept {
  assert(state_ == state::running && "suspend() outside the fiber");
  // INV-FIBER-6: a fiber being destroyed does not switch; its next suspend() throws.
  if (unwinding_) return;
  switch_to(fiber_access::caller(*this), tsan_caller_, caller_stack_bottom_, caller_stack_size_,
            &caller_stack_bottom_, &caller_stack_size_);
}

fiber* fiber::current() noexcept { return t_current; }

// ---- fiber_host (include/troupe/detail/fiber_host.hpp) ----------------------------------
// Defined here, next to resume() and suspend(), and flattened, so that no call level
// separates a blocking actor's turn from the jump: after a context switch every return
// executed mispredicts (the return-address predictor saw the other stack's calls), so each
// level costs a few ns per message (measured with BM_KindPingPong/blocking).

std::size_t fiber_host::stack_size_for(std::size_t requested) {
  if (requested > max_fiber_stack_size) {
    throw troupe::error("a blocking actor asked for a fiber stack of " + std::to_string(requested) +
                        " bytes (fiber_options::stack_size); the maximum is " +
                        std::to_string(max_fiber_stack_size) + " bytes (1 GiB)");
  }
  return requested < min_fiber_stack_size ? min_fiber_stack_size : requested;
}

const char* fiber_host::lasting_type_name(const std::type_info& type) {
  const std::string name = demangled_name(type);
  char* copy = new char[name.size() + 1];  // never freed: see the header
  std::memcpy(copy, name.c_str(), name.size() + 1);
  return copy;
}

void fiber_host::start(runtime_core* core, std::size_t stack_size, void (*entry)(void*), void* arg,
                       const char* label) {
  assert(fiber_ == nullptr);
  fiber_ = new fiber(fiber_stacks_of(core, stack_size).acquire(), [entry, arg] { entry(arg); });
  fiber_->set_label(label);
}

fiber_host::~fiber_host() { reset(); }

[[gnu::flatten]] void fiber_host::resume() noexcept { fiber_->resume(); }

bool fiber_host::done() const noexcept { return fiber_->done(); }

std::exception_ptr fiber_host::error() const noexcept { return fiber_->exception(); }

void fiber_host::reset() noexcept { delete std::exchange(fiber_, nullptr); }

[[gnu::flatten]] void fiber_host::suspend() {
  fiber* f = t_current;
  assert(f != nullptr && "fiber_host::suspend() called outside a fiber");
  f->suspend();
}

void fiber_host::suspend_noexcept() noexcept {
  fiber* f = t_current;
  assert(f != nullptr && "fiber_host::suspend_noexcept() called outside a fiber");
  f->suspend_noexcept();
}

bool fiber_host::is_current() const noexcept { return fiber_ != nullptr && t_current == fiber_; }

}  // namespace troupe::detail
