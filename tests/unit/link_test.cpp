// Links (monitor.hpp, "Link"): an abnormal stop (failure, kill) of one linked actor kills the
// other with the same reason, through chains; a normal stop does not; an actor that traps
// exits gets troupe::exit_signal instead and lives on; unlink() ends it; a link to an actor
// that has already stopped acts at once. Races: tests/stress/monitor_stress_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;
using kind = troupe::exit_reason::kind;

struct Work {};
struct Boom {};
struct Unlink {};
struct Link;

struct Member : troupe::actor<Member, Link, Unlink, Work, Boom, troupe::exit_signal> {
  explicit Member(bool trap = false) : trap_(trap) {}
  void on_start() {
    if (trap_) trap_exits(true);
  }
  void on(const Link& l);
  void on(Unlink);
  void on(Work) { worked.fetch_add(1); }
  void on(Boom) { throw std::runtime_error("boom"); }
  void on(troupe::exit_signal e) {
    std::lock_guard lock(mu);
    exits.push_back(std::move(e));
  }
  std::size_t exit_count() {
    std::lock_guard lock(mu);
    return exits.size();
  }
  bool trap_;
  std::atomic<int> worked{0};
  std::atomic<bool> linked{false};
  std::mutex mu;
  std::vector<troupe::exit_signal> exits;
  troupe::ref<Link, Unlink, Work, Boom, troupe::exit_signal> peer;
};
using member_ref = Member::handle;

struct Link {
  member_ref other;
};

void Member::on(const Link& l) {
  peer = l.other;
  link(l.other);
  linked.store(true);
}
void Member::on(Unlink) { unlink(peer); }

Member& actor_of(const member_ref& r) {
  return static_cast<Member&>(*troupe::detail::ref_access::actor_of(r, "test"));
}

void link(const member_ref& a, const member_ref& b) {
  a.send(Link{b});
  wait_until("the link", [&] { return actor_of(a).linked.load(); });
}

TEST(Link, AFailureKillsTheLinkedActorWithTheSameReason) {
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Member>();
  auto b = rt.spawn<Member>();
  auto a_down = troupe::monitor(a);
  link(a, b);
  b.send(Boom{});
  const troupe::down d = a_down.get();
  EXPECT_EQ(d.reason.what, kind::failed);
  EXPECT_EQ(d.reason.linked_from, b.id());
  EXPECT_EQ(d.reason.error_text(), "boom");
  EXPECT_FALSE(d.reason.is_normal());
  EXPECT_NE(troupe::to_string(d.reason).find("linked to actor " + std::to_string(b.id())),
            std::string::npos)
      << troupe::to_string(d.reason);
  shutdown_and_expect_accounting(rt);
}

TEST(Link, AKillPropagatesThroughAChain) {
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Member>();
  auto b = rt.spawn<Member>();
  auto c = rt.spawn<Member>();
  auto a_down = troupe::monitor(a);
  auto b_down = troupe::monitor(b);
  link(a, b);
  link(b, c);
  c.kill();
  const troupe::down da = a_down.get();
  const troupe::down db = b_down.get();
  EXPECT_EQ(db.reason.what, kind::killed);
  EXPECT_EQ(db.reason.linked_from, c.id());
  EXPECT_EQ(da.reason.what, kind::killed);
  EXPECT_EQ(da.reason.linked_from, c.id()) << "linked_from names where the chain began";
  shutdown_and_expect_accounting(rt);
}

TEST(Link, ANormalStopLeavesTheLinkedActorRunning) {
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Member>();
  auto b = rt.spawn<Member>();
  link(a, b);
  b.close();
  b.join();
  a.send(Work{});
  wait_until("a to keep working", [&] { return actor_of(a).worked.load() == 1; });
  EXPECT_FALSE(a.stopped());
  shutdown_and_expect_accounting(rt);
}

TEST(Link, AnActorThatTrapsExitsGetsAnExitSignalAndLivesOn) {
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Member>(true);
  auto b = rt.spawn<Member>();
  auto c = rt.spawn<Member>();
  link(a, b);
  link(a, c);
  b.send(Boom{});
  c.close();
  Member& am = actor_of(a);
  wait_until("two exit signals", [&] { return am.exit_count() == 2; });
  {
    std::lock_guard lock(am.mu);
    for (const auto& e : am.exits) {
      if (e.id == b.id()) {
        EXPECT_EQ(e.reason.what, kind::failed);
      } else {
        EXPECT_EQ(e.id, c.id());
        EXPECT_EQ(e.reason.what, kind::normal);
      }
    }
  }
  a.send(Work{});
  wait_until("a to keep working", [&] { return am.worked.load() == 1; });
  shutdown_and_expect_accounting(rt);
}

TEST(Link, UnlinkEndsIt) {
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Member>();
  auto b = rt.spawn<Member>();
  link(a, b);
  a.send(Unlink{});
  a.send(Work{});
  wait_until("the unlink", [&] { return actor_of(a).worked.load() == 1; });
  b.send(Boom{});
  b.join();
  a.send(Work{});
  wait_until("a to keep working", [&] { return actor_of(a).worked.load() == 2; });
  EXPECT_FALSE(a.stopped());
  shutdown_and_expect_accounting(rt);
}

TEST(Link, ALinkToAnActorThatAlreadyFailedActsAtOnce) {
  troupe::runtime rt(with_workers(2));
  auto dead = rt.spawn<Member>();
  dead.send(Boom{});
  dead.join();
  auto a = rt.spawn<Member>();
  auto a_down = troupe::monitor(a);
  a.send(Link{dead});
  const troupe::down d = a_down.get();
  EXPECT_EQ(d.reason.what, kind::failed);
  EXPECT_EQ(d.reason.linked_from, dead.id());
  // A normal one does nothing.
  auto closed = rt.spawn<Member>();
  closed.close();
  closed.join();
  auto b = rt.spawn<Member>();
  link(b, closed);
  b.send(Work{});
  wait_until("b to keep working", [&] { return actor_of(b).worked.load() == 1; });
  shutdown_and_expect_accounting(rt);
}

}  // namespace
