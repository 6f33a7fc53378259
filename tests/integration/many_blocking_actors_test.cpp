// Scale for blocking actors: 100,000 of them alive at once (5,000 under ThreadSanitizer,
// 20,000 under AddressSanitizer, whose fake stacks and shadow memory cost far more per fiber),
// each parked in recv() on its own fiber stack. Then every one gets a message, answers it,
// and is closed. Prints (for docs/, not asserted) the resident memory per parked actor.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr std::size_t kActors = 5'000;
#elif defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kActors = 20'000;
#else
constexpr std::size_t kActors = 100'000;
#endif

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::atomic<std::size_t> g_parked{0};
std::atomic<std::uint64_t> g_sum{0};

struct Sleeper : troupe::blocking_actor<Sleeper, std::uint32_t> {
  void run() {
    g_parked.fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t v = recv();  // parks the fiber: 100,000 stacks at once
    g_sum.fetch_add(v, std::memory_order_relaxed);
    for (;;) (void)recv();  // until close()
  }
};

TEST(ManyBlockingActors, HundredThousandParkedInRecvAtOnce) {
  g_parked.store(0);
  g_sum.store(0);
  troupe::runtime rt(troupe::test::with_workers(2));
  std::vector<Sleeper::handle> actors(kActors);
  const std::uint64_t rss_before = rss_bytes();
  for (auto& a : actors) a = rt.spawn<Sleeper>();
  // Every run() must reach its recv(): wait without a timed assertion.
  while (g_parked.load(std::memory_order_relaxed) < kActors) std::this_thread::yield();
  for (auto& a : actors) EXPECT_FALSE(a.stopped());
  const std::uint64_t rss_parked = rss_bytes();
  std::printf("[ info ] %zu blocking actors parked in recv(): %.0f bytes resident each\n", kActors,
              static_cast<double>(rss_parked - rss_before) / kActors);
  for (std::size_t i = 0; i < kActors; ++i) actors[i].send(static_cast<std::uint32_t>(i));
  for (auto& a : actors) a.close();
  for (auto& a : actors) a.join();
  EXPECT_EQ(g_sum.load(), std::uint64_t{kActors} * (kActors - 1) / 2);
  rt.shutdown();
  const auto s = rt.stats();
  EXPECT_EQ(s.spawned, kActors);
  EXPECT_EQ(s.stopped, kActors);
  EXPECT_EQ(s.handled, kActors);
  EXPECT_EQ(s.dead_lettered, 0u);
  EXPECT_EQ(s.failed, 0u);
}

}  // namespace
