// Scale: spawn 1,000,000 event actors (100,000 under a sanitizer), send each one message, shut
// down. Every message is handled, every actor stops and is freed, and the accounting identity
// holds. Prints (for docs/, not asserted) the memory an idle actor costs: the growth of the
// resident set (VmRSS) while the idle actors exist, and of the peak (VmHWM) over the run,
// each divided by the number of actors.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t kActors = 100'000;
#else
constexpr std::size_t kActors = 1'000'000;
#endif

// Reads a "Vm...:   123 kB" line of /proc/self/status; returns bytes, or 0 if unavailable.
std::uint64_t proc_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::stoull(line.substr(key.size() + 1)) * 1024;
    }
  }
  return 0;
}

std::atomic<std::uint64_t> g_sum{0};
std::atomic<std::uint64_t> g_freed{0};

struct Poke {
  std::uint32_t value;
};

// An event actor with one small field: the kind troupe is meant to host by the million.
struct Cell : troupe::actor<Cell, Poke> {
  ~Cell() override { g_freed.fetch_add(1, std::memory_order_relaxed); }
  void on(Poke p) {
    value_ += p.value;
    g_sum.fetch_add(value_, std::memory_order_relaxed);
  }

 private:
  std::uint32_t value_ = 0;
};

TEST(MillionActors, SpawnOneMessageEachAndShutDown) {
  g_sum.store(0);
  g_freed.store(0);
  std::vector<Cell::handle> cells(kActors);  // touched now, so it is in the baseline
  std::uint64_t rss_before = 0;
  std::uint64_t rss_idle = 0;
  std::uint64_t hwm_before = 0;
  {
    troupe::runtime rt;
    hwm_before = proc_status_bytes("VmHWM");
    rss_before = proc_status_bytes("VmRSS");
    for (auto& c : cells) c = rt.spawn<Cell>();
    rss_idle = proc_status_bytes("VmRSS");  // kActors idle actors, nothing sent yet
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < kActors; ++i) {
      const auto v = static_cast<std::uint32_t>(i % 7 + 1);
      expected += v;
      cells[i].send(Poke{v});
    }
    rt.shutdown();
    const auto s = rt.stats();
    EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
    EXPECT_EQ(s.spawned, kActors);
    EXPECT_EQ(s.stopped, kActors);
    EXPECT_EQ(s.sent, kActors);
    EXPECT_EQ(s.handled, kActors);
    EXPECT_EQ(s.dead_lettered, 0u);
    EXPECT_EQ(s.failed, 0u);
    EXPECT_EQ(g_sum.load(), expected);
    EXPECT_EQ(g_freed.load(), 0u) << "the handles still hold every actor";
    std::printf("[million_actors] %zu actors, %u workers, sizeof(Cell)=%zu, steals=%llu\n", kActors,
                rt.workers(), sizeof(Cell), static_cast<unsigned long long>(s.steals));
  }
  const std::uint64_t hwm_after = proc_status_bytes("VmHWM");
  cells.clear();
  cells.shrink_to_fit();
  EXPECT_EQ(g_freed.load(), kActors) << "every stopped actor is freed with its last handle";

  if (rss_before != 0 && rss_idle >= rss_before) {
    std::printf("[million_actors] idle actor: %.1f bytes/actor resident (VmRSS %llu -> %llu kB)\n",
                static_cast<double>(rss_idle - rss_before) / static_cast<double>(kActors),
                static_cast<unsigned long long>(rss_before / 1024),
                static_cast<unsigned long long>(rss_idle / 1024));
  }
  if (hwm_before != 0 && hwm_after >= hwm_before) {
    std::printf(
        "[million_actors] peak growth over the run: %.1f bytes/actor (VmHWM %llu -> %llu kB)\n",
        static_cast<double>(hwm_after - hwm_before) / static_cast<double>(kActors),
        static_cast<unsigned long long>(hwm_before / 1024),
        static_cast<unsigned long long>(hwm_after / 1024));
  }
}

}  // namespace
