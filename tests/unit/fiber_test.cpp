// Unit tests of runtime/fiber: the guard-paged stack pool (INV-STACK-*) and the fiber wrapper
// (INV-FIBER-*): resume/suspend order, exception capture, migration between threads, stack
// reuse, the guard page, 100,000 live fibers (and what each costs in resident memory), and the
// unwinding of fibers destroyed before they finish.
#include "fiber/fiber.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fiber/stack_pool.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

#if defined(__SANITIZE_THREAD__)
// Each live fiber holds a TSan context, and TSan allows at most 8128 live contexts (threads and
// fibers together) per process.
constexpr std::size_t many_fibers = 5'000;
#else
constexpr std::size_t many_fibers = 100'000;
#endif

void yield() { fiber::current()->suspend(); }

// Read through out-of-line functions with a compiler barrier, so that nothing is cached across
// a suspend() (see the thread_local hazard in fiber.hpp).
thread_local int t_marker = 0;
[[gnu::noinline]] int read_marker() {
  asm volatile("" ::: "memory");
  return t_marker;
}
[[gnu::noinline]] std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

// true iff the kernel refuses to read the byte at `p`: a guard page (or unmapped memory).
bool faults(const void* p) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  const ssize_t n = ::write(fds[1], p, 1);
  const int err = errno;
  ::close(fds[0]);
  ::close(fds[1]);
  return n < 0 && err == EFAULT;
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::size_t resident_bytes(const std::byte* p, std::size_t len) {
  const std::size_t page = stack_pool::page_size();
  std::vector<unsigned char> vec((len + page - 1) / page);
  if (::mincore(const_cast<std::byte*>(p), len, vec.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : vec) n += (c & 1u);
  return n * page;
}

// ---- stack_pool ------------------------------------------------------------------------------

TEST(StackPool, RoundsTheSizeUpToWholePages) {
  stack_pool pool({.stack_size = 10'000, .max_cached = 4});
  const std::size_t page = stack_pool::page_size();
  EXPECT_EQ(pool.stack_size() % page, 0u);
  EXPECT_GE(pool.stack_size(), 10'000u);
  EXPECT_LT(pool.stack_size(), 10'000u + page);
  fiber_stack s = pool.acquire();
  EXPECT_EQ(s.size(), pool.stack_size());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.top()) % page, 0u);
}

TEST(StackPool, ASizeAboveTheMaximumIsRefusedInsteadOfWrappingAroundToOnePage) {
  const std::size_t page = stack_pool::page_size();
  EXPECT_EQ(stack_pool::usable_size(0), page);
  EXPECT_EQ(stack_pool::usable_size(max_fiber_stack_size), max_fiber_stack_size);
  EXPECT_EQ(stack_pool::usable_size(max_fiber_stack_size - 1), max_fiber_stack_size);
  for (const std::size_t size : {SIZE_MAX, SIZE_MAX - (page - 1), max_fiber_stack_size + 1}) {
    SCOPED_TRACE("size " + std::to_string(size));
    EXPECT_THROW((void)stack_pool::usable_size(size), troupe::error);
    EXPECT_THROW(stack_pool({.stack_size = size}), troupe::error);
  }
}

TEST(StackPool, DefaultStackIs64KiB) {
  stack_pool pool;
  EXPECT_EQ(pool.stack_size(), 64u * 1024u);
}

TEST(StackPool, ReturnedStacksAreReusedNewestFirst) {
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 4});
  fiber_stack a = pool.acquire();
  fiber_stack b = pool.acquire();
  std::byte* const a_bottom = a.bottom();
  std::byte* const b_bottom = b.bottom();
  EXPECT_NE(a_bottom, b_bottom);
  EXPECT_EQ(pool.outstanding(), 2u);
  a.reset();
  b.reset();
  EXPECT_EQ(pool.cached(), 2u);
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.acquire().bottom(), b_bottom);  // LIFO (INV-STACK-2); the handle returns it
  fiber_stack again_b = pool.acquire();
  fiber_stack again_a = pool.acquire();
  EXPECT_EQ(again_b.bottom(), b_bottom);
  EXPECT_EQ(again_a.bottom(), a_bottom);
}

// INV-STACK-2: every mapped stack is handed out, warm, waiting, or cold.
void expect_every_stack_accounted_for(const stack_pool& pool) {
  EXPECT_EQ(pool.mapped(), pool.outstanding() + pool.cached() + pool.trimmed())
      << "outstanding " << pool.outstanding() << ", cached " << pool.cached() << ", trimmed "
      << pool.trimmed();
}

TEST(StackPool, KeepsAtMostMaxCachedResidentAndTrimsTheRestInBatches) {
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 2, .trim_batch = 2});
  std::vector<fiber_stack> stacks;
  std::vector<std::byte*> bottoms;
  for (int i = 0; i < 5; ++i) {
    stacks.push_back(pool.acquire());
    bottoms.push_back(stacks.back().bottom());
    stacks.back().top()[-1] = std::byte{1};  // a resident page, as a fiber leaves one
  }
  for (fiber_stack& s : stacks) s.reset();  // in order: 2 warm, 2 trimmed together, 1 waiting
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 3u);
  expect_every_stack_accounted_for(pool);
  const std::size_t stack = pool.stack_size();
  EXPECT_EQ(resident_bytes(bottoms[0], stack), stack_pool::page_size()) << "warm";
  EXPECT_EQ(resident_bytes(bottoms[1], stack), stack_pool::page_size()) << "warm";
  EXPECT_EQ(resident_bytes(bottoms[2], stack), 0u) << "trimmed";
  EXPECT_EQ(resident_bytes(bottoms[3], stack), 0u) << "trimmed";
  EXPECT_EQ(resident_bytes(bottoms[4], stack), stack_pool::page_size()) << "waiting for a batch";
  for (std::byte* b : bottoms) EXPECT_FALSE(faults(b)) << "trimmed stacks stay mapped";

  // Reuse: warm first (newest first), then the waiting one, then the trimmed ones (lowest
  // address first).
  std::vector<fiber_stack> again;
  for (int i = 0; i < 5; ++i) again.push_back(pool.acquire());
  EXPECT_EQ(again[0].bottom(), bottoms[1]);
  EXPECT_EQ(again[1].bottom(), bottoms[0]);
  EXPECT_EQ(again[2].bottom(), bottoms[4]);
  EXPECT_EQ(again[3].bottom(), std::min(bottoms[2], bottoms[3]));
  EXPECT_EQ(again[4].bottom(), std::max(bottoms[2], bottoms[3]));
  EXPECT_EQ(again[3].top()[-1], std::byte{0}) << "a trimmed stack comes back zeroed";
  EXPECT_EQ(again[4].top()[-1], std::byte{0}) << "a trimmed stack comes back zeroed";
  expect_every_stack_accounted_for(pool);
}

TEST(StackPool, WithoutCacheEveryReturnedStackIsTrimmedAndReused) {
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 0, .trim_batch = 1});
  fiber_stack s = pool.acquire();
  std::byte* const bottom = s.bottom();
  s.top()[-1] = std::byte{1};
  s.reset();
  EXPECT_EQ(pool.cached(), 0u);
  EXPECT_EQ(resident_bytes(bottom, pool.stack_size()), 0u);
  fiber_stack again = pool.acquire();
  EXPECT_EQ(again.bottom(), bottom);
  EXPECT_EQ(pool.mapped(), 1u) << "reused, not mapped anew";
}

TEST(StackPool, StacksComeFromSlabsThatDoubleUpToMaxSlabStacks) {
  stack_pool pool({.stack_size = 16 * 1024, .max_slab_stacks = 8});
  const std::size_t stride = stack_pool::page_size() + pool.stack_size();
  std::vector<fiber_stack> stacks;
  for (int i = 0; i < 1 + 2 + 4 + 8 + 8; ++i) stacks.push_back(pool.acquire());
  EXPECT_EQ(pool.slabs(), 5u) << "slabs of 1, 2, 4, 8 and 8 stacks";
  EXPECT_EQ(pool.mapped(), stacks.size());
  EXPECT_EQ(pool.trimmed(), 0u);
  // Within a slab, stacks are handed out lowest address first, one guard page apart.
  for (std::size_t i = 3; i + 1 < 7; ++i) {
    EXPECT_EQ(stacks[i + 1].bottom() - stacks[i].bottom(), static_cast<std::ptrdiff_t>(stride));
  }
  expect_every_stack_accounted_for(pool);
}

TEST(StackPool, DestroyingThePoolUnmapsEverySlab) {
  std::vector<std::byte*> bottoms;
  {
    stack_pool pool({.stack_size = 16 * 1024, .max_cached = 1, .trim_batch = 2});
    std::vector<fiber_stack> stacks;
    for (int i = 0; i < 10; ++i) stacks.push_back(pool.acquire());
    for (fiber_stack& s : stacks) bottoms.push_back(s.bottom());
    stacks.clear();  // warm, waiting and trimmed stacks alike
  }
  for (std::byte* b : bottoms) EXPECT_TRUE(faults(b));
}

TEST(StackPool, GuardPageLiesRightBelowTheUsableBytes) {  // INV-STACK-1
  stack_pool pool({.stack_size = 32 * 1024, .max_cached = 4, .trim_batch = 1});
  const std::size_t page = stack_pool::page_size();
  auto check = [&](const fiber_stack& s) {
    EXPECT_FALSE(faults(s.bottom()));
    EXPECT_FALSE(faults(s.top() - 1));
    EXPECT_TRUE(faults(s.bottom() - 1));
    EXPECT_TRUE(faults(s.bottom() - page));
    EXPECT_TRUE(s.in_guard(s.bottom() - 1));
    EXPECT_TRUE(s.in_guard(s.bottom() - page));
    EXPECT_FALSE(s.in_guard(s.bottom()));
    EXPECT_FALSE(s.in_guard(s.bottom() - page - 1));
  };
  // Fresh stacks from slabs of 1, 2, 4 and 8 (each has a guard, not only a slab's first),
  // then the same stacks reused warm, then reused after being trimmed.
  std::vector<fiber_stack> stacks;
  for (int i = 0; i < 15; ++i) stacks.push_back(pool.acquire());
  for (const fiber_stack& s : stacks) check(s);
  for (int round = 0; round < 2; ++round) {
    for (fiber_stack& s : stacks) s.reset();  // 4 warm, 11 trimmed one by one
    for (fiber_stack& s : stacks) s = pool.acquire();
    for (const fiber_stack& s : stacks) check(s);
  }
  EXPECT_EQ(pool.mapped(), 15u);
  std::printf("[ info     ] guard pages made with %s\n",
              stack_pool::guard_mechanism() == guard_kind::madvise_guard
                  ? "madvise(MADV_GUARD_INSTALL)"
                  : "mprotect(PROT_NONE)");
}

TEST(StackPool, NeighbouringStacksTrimmedTogetherKeepTheirGuardPages) {  // INV-STACK-1
  // One batch of 15 stacks from slabs of 1, 2, 4 and 8: neighbours go to the kernel as one
  // range spanning the guard pages between them.
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 0, .trim_batch = 15});
  std::vector<fiber_stack> stacks;
  std::vector<std::byte*> bottoms;
  for (int i = 0; i < 15; ++i) {
    stacks.push_back(pool.acquire());
    bottoms.push_back(stacks.back().bottom());
    std::fill(stacks.back().bottom(), stacks.back().top(), std::byte{7});  // every page
  }
  stacks.clear();
  EXPECT_EQ(pool.trimmed(), 15u);
  for (std::byte* b : bottoms) {
    EXPECT_EQ(resident_bytes(b, pool.stack_size()), 0u);
    EXPECT_TRUE(faults(b - 1)) << "the guard page below a trimmed stack";
  }
  for (int i = 0; i < 15; ++i) stacks.push_back(pool.acquire());
  for (const fiber_stack& s : stacks) {
    EXPECT_TRUE(faults(s.bottom() - 1));
    EXPECT_FALSE(faults(s.bottom()));
    EXPECT_EQ(s.top()[-1], std::byte{0});
  }
  EXPECT_EQ(pool.mapped(), 15u);
}

TEST(StackPoolDeathTest, TouchingTheGuardPageKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 1});
  fiber_stack s = pool.acquire();
  volatile std::byte* guard = s.bottom() - 1;
  EXPECT_DEATH(*guard = std::byte{1}, "");
}

// ---- fiber: resume / suspend -----------------------------------------------------------------

TEST(Fiber, ResumeRunsTheBodyUntilItSuspendsPingPong) {  // INV-FIBER-2
  stack_pool pool;
  std::vector<int> trace;
  fiber f(pool.acquire(), [&] {
    for (int i = 0; i < 3; ++i) {
      trace.push_back(10 + i);
      yield();
    }
    trace.push_back(99);
  });
  EXPECT_FALSE(f.done());
  EXPECT_TRUE(trace.empty()) << "the body must not start before the first resume()";
  for (int i = 0; i < 3; ++i) {
    trace.push_back(i);
    f.resume();
    EXPECT_FALSE(f.done());
  }
  trace.push_back(3);
  f.resume();
  EXPECT_TRUE(f.done());
  EXPECT_EQ(trace, (std::vector<int>{0, 10, 1, 11, 2, 12, 3, 99}));
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Fiber, BodyResultIsVisibleWhenDone) {
  stack_pool pool;
  long result = 0;
  fiber f(pool.acquire(), [&result, n = 20] {
    long a = 0, b = 1;
    for (int i = 0; i < n; ++i) {
      const long c = a + b;
      a = b;
      b = c;
      yield();
    }
    result = a;
  });
  int resumes = 0;
  while (!f.done()) {
    f.resume();
    ++resumes;
  }
  EXPECT_EQ(resumes, 21);
  EXPECT_EQ(result, 6765);
}

TEST(Fiber, CurrentIsTheRunningFiberAndNullOutside) {
  stack_pool pool;
  EXPECT_EQ(fiber::current(), nullptr);
  fiber* seen = nullptr;
  fiber* seen_after = nullptr;
  fiber f(pool.acquire(), [&] {
    seen = fiber::current();
    yield();
    seen_after = fiber::current();
  });
  f.resume();
  EXPECT_EQ(seen, &f);
  EXPECT_EQ(fiber::current(), nullptr);
  f.resume();
  EXPECT_EQ(seen_after, &f);
  EXPECT_EQ(fiber::current(), nullptr);
}

TEST(Fiber, AFiberCanRunAnotherFiber) {
  stack_pool pool;
  std::vector<int> trace;
  fiber outer(pool.acquire(), [&] {
    fiber* const self = fiber::current();
    fiber inner(pool.acquire(), [&] {
      trace.push_back(2);
      yield();  // back to outer, not to the thread
      trace.push_back(4);
    });
    trace.push_back(1);
    inner.resume();
    EXPECT_EQ(fiber::current(), self) << "resume() restores the outer fiber as current";
    trace.push_back(3);
    yield();  // back to the thread
    inner.resume();
    EXPECT_TRUE(inner.done());
    trace.push_back(5);
  });
  outer.resume();
  trace.push_back(30);
  outer.resume();
  EXPECT_TRUE(outer.done());
  EXPECT_EQ(trace, (std::vector<int>{1, 2, 3, 30, 4, 5}));
}

// ---- fiber: exceptions -----------------------------------------------------------------------

TEST(Fiber, AnExceptionEscapingTheBodyIsCapturedNotPropagated) {  // INV-FIBER-4
  stack_pool pool;
  fiber f(pool.acquire(), [] {
    yield();
    throw std::runtime_error("boom");
  });
  f.resume();
  EXPECT_EQ(f.exception(), nullptr);
  f.resume();  // must not throw
  ASSERT_TRUE(f.done());
  ASSERT_NE(f.exception(), nullptr);
  try {
    std::rethrow_exception(f.exception());
    FAIL() << "rethrow_exception returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_EQ(pool.outstanding(), 0u) << "a failed fiber's stack goes back too";
}

TEST(Fiber, ExceptionsThrownAndCaughtInsideTheBodyStayInside) {
  stack_pool pool;
  int caught = 0;
  fiber f(pool.acquire(), [&] {
    for (int i = 0; i < 3; ++i) {
      try {
        yield();
        throw i;
      } catch (int v) {
        caught += v + 1;
      }
    }
  });
  while (!f.done()) f.resume();
  EXPECT_EQ(caught, 6);
  EXPECT_EQ(f.exception(), nullptr);
}

// A fiber that suspends inside a catch block keeps its own current_exception(), even when
// another fiber does the same in between and when it resumes on another thread (INV-FIBER-5).
TEST(Fiber, EachFiberKeepsItsOwnExceptionStateAcrossSwitches) {
  stack_pool pool;
  auto body = [](int id, std::vector<int>& seen) {
    return [id, &seen] {
      try {
        throw id;
      } catch (int) {
        for (int step = 0; step < 3; ++step) {
          yield();
          try {
            std::rethrow_exception(std::current_exception());
          } catch (int v) {
            seen.push_back(v);
          }
          EXPECT_EQ(std::uncaught_exceptions(), 0);
        }
      }
      EXPECT_EQ(std::current_exception(), nullptr);
    };
  };
  std::vector<int> seen_a, seen_b;
  fiber a(pool.acquire(), body(1, seen_a));
  fiber b(pool.acquire(), body(2, seen_b));
  a.resume();
  b.resume();
  EXPECT_EQ(std::current_exception(), nullptr) << "the thread must not see a fiber's exception";
  b.resume();
  a.resume();
  std::thread other([&] {
    a.resume();
    EXPECT_EQ(std::current_exception(), nullptr);
    b.resume();
  });
  other.join();
  a.resume();
  b.resume();
  EXPECT_TRUE(a.done());
  EXPECT_TRUE(b.done());
  EXPECT_EQ(seen_a, (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(seen_b, (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(std::current_exception(), nullptr);
}

// ---- fiber: migration ------------------------------------------------------------------------

TEST(Fiber, ResumesOnAnotherThreadAndSeesThatThreadsLocals) {
  stack_pool pool;
  std::thread::id id_first, id_second;
  int marker_first = 0, marker_second = 0;
  fiber* current_second = nullptr;
  fiber f(pool.acquire(), [&] {
    id_first = this_thread_id();
    marker_first = read_marker();
    yield();
    id_second = this_thread_id();
    marker_second = read_marker();
    current_second = fiber::current();
  });
  // Both threads stay alive throughout, so their ids differ. The futures carry the
  // happens-before edge between the two resumes (INV-FIBER-1).
  std::promise<void> first_done, second_done;
  std::thread a([&] {
    t_marker = 1;
    f.resume();
    first_done.set_value();
    second_done.get_future().wait();
  });
  std::thread b([&] {
    t_marker = 2;
    first_done.get_future().wait();
    EXPECT_FALSE(f.done());
    f.resume();
    second_done.set_value();
  });
  a.join();
  b.join();
  ASSERT_TRUE(f.done());
  EXPECT_NE(id_first, id_second);
  EXPECT_EQ(marker_first, 1);
  EXPECT_EQ(marker_second, 2);
  EXPECT_EQ(current_second, &f);
}

// ---- fiber: stacks ---------------------------------------------------------------------------

TEST(Fiber, AFinishedFibersStackGoesBackToThePoolAndIsReused) {  // INV-FIBER-3
  stack_pool pool({.stack_size = 32 * 1024, .max_cached = 8});
  fiber_stack s = pool.acquire();
  std::byte* const bottom = s.bottom();
  fiber f(std::move(s), [] { yield(); });
  EXPECT_EQ(f.stack_bottom(), bottom);
  EXPECT_EQ(pool.outstanding(), 1u);
  f.resume();
  EXPECT_EQ(pool.outstanding(), 1u) << "a suspended fiber keeps its stack";
  f.resume();
  ASSERT_TRUE(f.done());
  EXPECT_EQ(pool.outstanding(), 0u) << "returned within the resume() that finished the body";
  EXPECT_EQ(pool.cached(), 1u);
  fiber g(pool.acquire(), [] {});
  EXPECT_EQ(g.stack_bottom(), bottom) << "the same stack comes back";
  g.resume();
}

TEST(Fiber, AnOversizedBodyIsRefusedAndTheStackReturned) {
  stack_pool pool({.stack_size = 16 * 1024, .max_cached = 8});
  struct big {
    char bytes[8 * 1024];
    void operator()() const {}
  };
  EXPECT_THROW(fiber(pool.acquire(), big{}), std::length_error);
  EXPECT_THROW(fiber(fiber_stack{}, [] {}), std::invalid_argument);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(Fiber, TheBodyLivesOnItsStackAndIsDestroyedWhenItFinishes) {
  stack_pool pool;
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> watch = token;
  fiber f(pool.acquire(), [t = std::move(token)] { yield(); });
  EXPECT_FALSE(watch.expired());
  f.resume();
  EXPECT_FALSE(watch.expired());
  f.resume();
  EXPECT_TRUE(watch.expired());
}

[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth == 0) return frame[0];
  return recurse(depth - 1) + frame[0];  // not a tail call
}

// On a thread other than the main one, as a blocking actor runs on a worker: that is where
// ThreadSanitizer stays silent (it reports a stack overflow on the main thread only), and
// where troupe's handler needs the signal stack the fiber's creation gave the thread.
TEST(FiberDeathTest, StackOverflowHitsTheGuardPage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto overflow = [] {
    stack_pool pool({.stack_size = 16 * 1024, .max_cached = 1});
    int r = 0;
    std::thread worker([&pool, &r] {
      fiber f(pool.acquire(), [&r] { r = recurse(1'000'000); });
      f.resume();
    });
    worker.join();
    std::printf("survived %d\n", r);
  };
#if defined(__SANITIZE_ADDRESS__)
  // ASan catches the SIGSEGV, reports the overflow and aborts.
  EXPECT_DEATH(overflow(), "stack-overflow");
#elif defined(__SANITIZE_THREAD__)
  // The process dies of the SIGSEGV itself: GCC 12's libtsan prints nothing for an overflow
  // on a thread other than the main one, and troupe installs no handler under TSan.
  EXPECT_EXIT(overflow(), testing::KilledBySignal(SIGSEGV), "");
#else
  // troupe's handler names the overflow (a bare fiber has no actor type), then the process
  // dies of the SIGSEGV itself (stack_overflow.hpp).
  EXPECT_EXIT(
      overflow(), testing::KilledBySignal(SIGSEGV),
      "^troupe: a fiber overflowed its 16 KiB stack \\(guard page hit at 0x[0-9a-f]+\\)\n$");
#endif
}

// ---- fiber: destruction ----------------------------------------------------------------------

struct counted {
  int* count;
  explicit counted(int* c) : count(c) {}
  ~counted() { ++*count; }
};

TEST(Fiber, DestroyingASuspendedFiberRunsTheDestructorsOnItsStack) {  // INV-FIBER-6
  stack_pool pool;
  int destroyed = 0;
  bool ran_past_suspend = false;
  {
    fiber f(pool.acquire(), [&] {
      counted outer(&destroyed);
      {
        counted inner(&destroyed);
        yield();
        ran_past_suspend = true;
      }
      yield();
    });
    f.resume();
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 2);
  EXPECT_FALSE(ran_past_suspend);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(Fiber, UnwindingPassesThroughCatchHandlersThatRethrow) {
  stack_pool pool;
  int destroyed = 0;
  bool rethrown = false;
  {
    fiber f(pool.acquire(), [&] {
      counted c(&destroyed);
      try {
        yield();
      } catch (const std::exception&) {
        ADD_FAILURE() << "fiber_unwind must not be a std::exception";
      } catch (...) {
        rethrown = true;
        throw;
      }
    });
    f.resume();
  }
  EXPECT_TRUE(rethrown);
  EXPECT_EQ(destroyed, 1);
}

TEST(Fiber, ASwallowedUnwindIsThrownAgainAtTheNextSuspend) {
  stack_pool pool;
  int destroyed = 0;
  int swallowed = 0;
  bool reached_end = false;
  {
    fiber f(pool.acquire(), [&] {
      counted c(&destroyed);
      for (int i = 0; i < 2; ++i) {
        try {
          yield();
        } catch (...) {  // the hazard: swallows fiber_unwind
          ++swallowed;
        }
      }
      yield();
      reached_end = true;
    });
    f.resume();
  }
  EXPECT_EQ(swallowed, 2);
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(reached_end);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(Fiber, DestroyingAFiberThatNeverStartedDestroysItsBodyWithoutRunningIt) {
  stack_pool pool;
  int destroyed = 0;
  bool ran = false;
  {
    auto guard = std::make_shared<counted>(&destroyed);
    fiber f(pool.acquire(), [g = std::move(guard), &ran] { ran = true; });
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(Fiber, AnUnfinishedFiberCanBeDestroyedOnAnotherThread) {
  stack_pool pool;
  int destroyed = 0;
  std::thread::id unwound_on;
  auto f = std::make_unique<fiber>(pool.acquire(), [&] {
    struct probe {
      int* count;
      std::thread::id* where;
      ~probe() {
        *where = this_thread_id();
        ++*count;
      }
    } p{&destroyed, &unwound_on};
    yield();
  });
  f->resume();
  std::thread::id destroyer;
  std::thread t([&] {
    destroyer = std::this_thread::get_id();
    f.reset();
  });
  t.join();
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(unwound_on, destroyer);
}

// ---- many fibers -----------------------------------------------------------------------------

// 100,000 fibers alive at once, each suspended once with little on its stack: what an idle
// blocking actor's fiber costs in resident memory. Needs guard pages that do not split the
// mapping (madvise guards) or a vm.max_map_count above 2 per stack.
TEST(Fiber, HundredThousandLiveFibers) {
  stack_pool pool({.stack_size = 64 * 1024, .max_cached = 1024});
  {
    fiber_stack probe = pool.acquire();  // decides the guard mechanism
  }
  if (stack_pool::guard_mechanism() == guard_kind::mprotect) {
    std::ifstream f("/proc/sys/vm/max_map_count");
    std::size_t max_maps = 0;
    f >> max_maps;
    if (max_maps < 2 * many_fibers + 10'000) {
      GTEST_SKIP() << "mprotect guard pages need 2 mappings per stack; vm.max_map_count is "
                   << max_maps;
    }
  }
  std::size_t started = 0, finished = 0;
  std::vector<std::unique_ptr<fiber>> fibers;
  fibers.reserve(many_fibers);
  const std::size_t rss_before = rss_bytes();
  for (std::size_t i = 0; i < many_fibers; ++i) {
    fibers.push_back(std::make_unique<fiber>(pool.acquire(), [&started, &finished] {
      ++started;
      yield();
      ++finished;
    }));
    fibers.back()->resume();
  }
  const std::size_t rss_after = rss_bytes();
  EXPECT_EQ(started, many_fibers);
  EXPECT_EQ(pool.outstanding(), many_fibers);

  std::size_t stack_resident = 0;
  for (const auto& f : fibers) stack_resident += resident_bytes(f->stack_bottom(), f->stack_size());
  const double per_fiber = double(rss_after - rss_before) / double(many_fibers);
  const double stack_per_fiber = double(stack_resident) / double(many_fibers);
  std::printf(
      "[ info     ] %zu suspended fibers: RSS +%.1f MiB, %.0f bytes per fiber "
      "(%.0f bytes of it resident stack, %zu-byte fiber object)\n",
      many_fibers, double(rss_after - rss_before) / (1024.0 * 1024.0), per_fiber, stack_per_fiber,
      sizeof(fiber));
  if constexpr (!sanitized) {
    // A loose bound: one or two touched pages, not a whole 64 KiB stack (nor a huge page).
    EXPECT_LT(stack_per_fiber, 16.0 * 1024.0);
  }

  // Finish half, destroy the other half suspended.
  for (std::size_t i = 0; i < many_fibers; i += 2) fibers[i]->resume();
  EXPECT_EQ(finished, many_fibers / 2);
  fibers.clear();
  EXPECT_EQ(finished, many_fibers / 2);
  EXPECT_EQ(pool.outstanding(), 0u);
  // 1024 warm, the rest trimmed in batches but for fewer than one batch still waiting.
  EXPECT_EQ(pool.cached(), 1024u + (many_fibers - 1024u) % pool.trim_batch());
  expect_every_stack_accounted_for(pool);
}

}  // namespace
}  // namespace troupe::detail
