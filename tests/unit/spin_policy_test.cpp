// A searching worker's spin before it sleeps (runtime/sched/idle.hpp, spin_policy): full
// while spinning pays, halved after each long sleep down to none, full again once a search
// finds work. (The "woken soon: spin in full again" case is not asserted: how soon a
// thread wakes is up to the OS, and a test must not depend on timing.)
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "sched/idle.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::detail::spin_policy;

void sleep_long(spin_policy& p) {
  p.going_to_sleep();
  std::this_thread::sleep_for(3ms);  // at least 3 ms: longer than the 1 ms "long" sleep
  p.woke_up();
}

TEST(SpinPolicy, StartsWithTheConfiguredRounds) {
  EXPECT_EQ(spin_policy(32).rounds(), 32u);
  EXPECT_EQ(spin_policy(0).rounds(), 0u);
}

TEST(SpinPolicy, EachLongSleepHalvesTheSpinDownToNone) {
  spin_policy p(32);
  std::vector<unsigned> seen;
  for (int i = 0; i < 7; ++i) {
    sleep_long(p);
    seen.push_back(p.rounds());
  }
  EXPECT_EQ(seen, (std::vector<unsigned>{16, 8, 4, 2, 1, 0, 0}));
}

TEST(SpinPolicy, FindingWorkRestoresTheFullSpin) {
  spin_policy p(32);
  sleep_long(p);
  sleep_long(p);
  ASSERT_EQ(p.rounds(), 8u);
  p.found_work();
  EXPECT_EQ(p.rounds(), 32u);
}

}  // namespace
