// The stack overflow report (runtime/fiber/stack_overflow.hpp): a blocking actor that
// overflows its stack makes the process print exactly one line naming the actor's type and
// its stack size, then die of SIGSEGV as it would without troupe; any other SIGSEGV is handed
// on untouched (no line, the same death, or the application's own handler); threads get an
// alternate signal stack without losing one they had.
#include "fiber/stack_overflow.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <latch>
#include <thread>
#include <troupe/troupe.hpp>

#include "fiber/stack_pool.hpp"
#include "support/troupe_test_support.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_TEST_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define TROUPE_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_TEST_ASAN 1
#elif __has_feature(thread_sanitizer)
#define TROUPE_TEST_TSAN 1
#endif
#endif

namespace stack_overflow_test {

using troupe::test::with_workers;

// Never equal to a depth reached: the recursion has no end the compiler can see.
volatile std::size_t g_bottomless = SIZE_MAX;

[[gnu::noinline]] std::size_t recurse(std::size_t depth) {
  volatile char frame[512];  // well under a page: each frame lands in the next page down
  frame[0] = static_cast<char>(depth);
  if (depth == g_bottomless) return frame[0];
  return recurse(depth + 1) + static_cast<std::size_t>(frame[0]);  // not a tail call
}

struct Deep : troupe::blocking_actor<Deep, int> {
  Deep() = default;
  explicit Deep(std::size_t stack_size) : blocking_actor({.stack_size = stack_size}) {}
  void run() { result = recurse(0); }
  std::size_t result = 0;
};

struct Idle : troupe::blocking_actor<Idle, int> {
  Idle() = default;
  explicit Idle(std::latch* started) : started_(started) {}
  void run() {
    if (started_ != nullptr) started_->count_down();
    for (;;) (void)recv();
  }
  std::latch* started_ = nullptr;
};

void application_handler(int, siginfo_t* info, void*);

// In the death test's child: a runtime whose actor overflows; the child must die of it.
[[noreturn]] void spawn_and_wait(std::size_t stack_size) {
  alarm(100);  // a hang dies of SIGALRM, which the test reports, instead of timing out
  troupe::runtime rt(with_workers(2));
  if (stack_size == 0) {
    rt.spawn<Deep>();
  } else {
    rt.spawn<Deep>(stack_size);
  }
  for (;;) pause();
}

// In the death test's child: runtimes come and go (their slabs are registered, then
// unregistered, leaving free slots behind), then one whose actor overflows.
[[noreturn]] void spawn_and_wait_after_other_runtimes() {
  alarm(100);
  for (int i = 0; i < 3; ++i) {
    troupe::runtime rt(with_workers(2));
    for (int j = 0; j <= i; ++j) rt.spawn<Idle>();
    rt.shutdown();
  }
  spawn_and_wait(0);
}

// In the death test's child: a runtime with a blocking actor running (so that troupe's
// handler is installed, unless under a sanitizer, and the workers have alternate signal
// stacks), then `crash` on a plain thread.
template <class Crash>
[[noreturn]] void crash_beside_a_runtime(Crash crash) {
  alarm(100);
  troupe::runtime rt(with_workers(2));
  std::latch started(1);
  rt.spawn<Idle>(&started);
  started.wait();
#if !defined(TROUPE_TEST_ASAN) && !defined(TROUPE_TEST_TSAN)
  struct sigaction current;
  if (::sigaction(SIGSEGV, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) == 0 ||
      current.sa_sigaction == &application_handler) {
    _exit(7);  // troupe's handler is not the one installed: the test would prove nothing
  }
#endif
  std::thread(crash).join();
  for (;;) pause();
}

// Not null (UBSan would report that), and unknown to the compiler.
volatile std::uintptr_t g_bad_address = 64;

void write_to_a_bad_address() { *reinterpret_cast<volatile int*>(g_bad_address) = 1; }

class StackOverflowDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

#if !defined(TROUPE_TEST_ASAN) && !defined(TROUPE_TEST_TSAN)

TEST_F(StackOverflowDeathTest, AnOverflowingBlockingActorIsNamedInOneLineBeforeTheSigsegv) {
  EXPECT_EXIT(spawn_and_wait(0), testing::KilledBySignal(SIGSEGV),
              "^troupe: blocking actor stack_overflow_test::Deep overflowed its 64 KiB stack "
              "\\(guard page hit at 0x[0-9a-f]+\\); raise fiber_options::stack_size "
              "\\(see troupe/blocking_actor.hpp\\)\n$");
}

TEST_F(StackOverflowDeathTest, TheLineGivesTheActorsOwnStackSize) {
  EXPECT_EXIT(spawn_and_wait(200 * 1024), testing::KilledBySignal(SIGSEGV),
              "^troupe: blocking actor stack_overflow_test::Deep overflowed its 200 KiB stack "
              "\\(guard page hit at 0x[0-9a-f]+\\); [^\n]*\n$");
}

TEST_F(StackOverflowDeathTest, AnOverflowIsNamedAfterOtherRuntimesUnmappedTheirStacks) {
  EXPECT_EXIT(spawn_and_wait_after_other_runtimes(), testing::KilledBySignal(SIGSEGV),
              "^troupe: blocking actor stack_overflow_test::Deep overflowed its 64 KiB stack "
              "[^\n]*\n$");
}

TEST_F(StackOverflowDeathTest, AFaultElsewhereIsNotReportedAndStillKills) {
  EXPECT_EXIT(crash_beside_a_runtime(&write_to_a_bad_address), testing::KilledBySignal(SIGSEGV),
              "^$");
}

// A guard page, but not of a fiber this thread is running: a wild pointer, not an overflow.
TEST_F(StackOverflowDeathTest, AGuardPageHitOffTheFiberIsNotReportedAndStillKills) {
  EXPECT_EXIT(crash_beside_a_runtime([] {
                troupe::detail::stack_pool pool;
                troupe::detail::fiber_stack stack = pool.acquire();
                *reinterpret_cast<volatile char*>(stack.bottom() - 1) = 1;
              }),
              testing::KilledBySignal(SIGSEGV), "^$");
}

TEST_F(StackOverflowDeathTest, ARaisedSigsegvIsNotReportedAndStillKills) {
  EXPECT_EXIT(crash_beside_a_runtime([] { ::raise(SIGSEGV); }), testing::KilledBySignal(SIGSEGV),
              "^$");
}

// ---- the application's own handler, installed before troupe's -----------------------------

void say(const char* s) { (void)!::write(STDERR_FILENO, s, std::strlen(s)); }

void application_handler(int, siginfo_t* info, void*) {
  say(info->si_code > 0 ? "application handler: fault\n" : "application handler: sent\n");
  _exit(3);
}

void install_application_handler() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = &application_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  ASSERT_EQ(::sigaction(SIGSEGV, &sa, nullptr), 0);
}

TEST_F(StackOverflowDeathTest, AnOverflowIsReportedThenHandedToTheApplicationsHandler) {
  EXPECT_EXIT(
      {
        install_application_handler();
        spawn_and_wait(0);
      },
      testing::ExitedWithCode(3),
      "^troupe: blocking actor stack_overflow_test::Deep overflowed its 64 KiB stack "
      "[^\n]*\napplication handler: fault\n$");
}

TEST_F(StackOverflowDeathTest, AFaultElsewhereGoesToTheApplicationsHandlerAlone) {
  EXPECT_EXIT(
      {
        install_application_handler();
        crash_beside_a_runtime(&write_to_a_bad_address);
      },
      testing::ExitedWithCode(3), "^application handler: fault\n$");
  EXPECT_EXIT(
      {
        install_application_handler();
        crash_beside_a_runtime([] { ::raise(SIGSEGV); });
      },
      testing::ExitedWithCode(3), "^application handler: sent\n$");
}

#elif defined(TROUPE_TEST_ASAN)  // ASan owns SIGSEGV; troupe installs no handler under it.

TEST_F(StackOverflowDeathTest, AnOverflowingBlockingActorIsReportedByAsan) {
  EXPECT_DEATH(spawn_and_wait(0), "AddressSanitizer: stack-overflow");
}

TEST_F(StackOverflowDeathTest, AFaultElsewhereIsReportedByAsan) {
  EXPECT_DEATH(crash_beside_a_runtime(&write_to_a_bad_address),
               "AddressSanitizer: SEGV on unknown address");
}

#else  // TSan owns SIGSEGV too; troupe installs no handler and no signal stacks under it.

// As without troupe's handler: no report, on a worker not even TSan's (it has no signal stack
// to report on), but the SIGSEGV.
TEST_F(StackOverflowDeathTest, AnOverflowingBlockingActorDiesOfSigsegvWithoutALine) {
  EXPECT_EXIT(spawn_and_wait(0), testing::KilledBySignal(SIGSEGV), "^$");
}

#endif

// ---- alternate signal stacks ------------------------------------------------------------------

TEST(SignalStack, AThreadWithoutOneGetsOne) {
#if defined(TROUPE_TEST_ASAN) || defined(TROUPE_TEST_TSAN)
  GTEST_SKIP() << "under a sanitizer, which owns SIGSEGV, troupe sets up no signal stacks";
#else
  stack_t before{};
  stack_t after{};
  std::thread([&] {
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ASSERT_EQ(::sigaltstack(&off, nullptr), 0);
    ASSERT_EQ(::sigaltstack(nullptr, &before), 0);
    troupe::detail::ensure_signal_stack();
    ASSERT_EQ(::sigaltstack(nullptr, &after), 0);
  }).join();
  EXPECT_NE(before.ss_flags & SS_DISABLE, 0);
  EXPECT_EQ(after.ss_flags & SS_DISABLE, 0);
  EXPECT_EQ(after.ss_size, std::size_t{64 * 1024});
#endif
}

TEST(SignalStack, AThreadKeepsTheOneItHas) {
  alignas(16) static char own[64 * 1024];
  stack_t after{};
  std::thread([&] {
    stack_t mine{};
    mine.ss_sp = own;
    mine.ss_size = sizeof own;
    ASSERT_EQ(::sigaltstack(&mine, nullptr), 0);
    troupe::detail::ensure_signal_stack();
    ASSERT_EQ(::sigaltstack(nullptr, &after), 0);
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ASSERT_EQ(::sigaltstack(&off, nullptr), 0);  // before `own` may be reused
  }).join();
  EXPECT_EQ(after.ss_sp, static_cast<void*>(own));
  EXPECT_EQ(after.ss_size, sizeof own);
}

}  // namespace stack_overflow_test
