// Monitors and links under races (run under ThreadSanitizer by the tsan presets):
//   * targets stopped by close, kill or failure — from outside threads, at random moments —
//     while watchers (event actors and outside callbacks) monitor and demonitor them: every
//     monitor not cancelled in time gets exactly one down, with the reason that matches how
//     its target was stopped; none is handled after demonitor() returned; a demonitor that
//     says "no down was sent" gets none;
//   * pairs of linked actors where one fails or is killed while the other links, unlinks or
//     traps exits: a non-trapping partner of an abnormal stop always stops, with the
//     linked reason, unless the unlink came first; a trapping one gets one exit_signal;
//   * nothing is leaked (the asan preset runs LeakSanitizer) and the accounting holds.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::seed_trace;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::wait_until;
using troupe::test::with_workers;
using kind = troupe::exit_reason::kind;

struct Work {};
struct Boom {};

struct Target : troupe::actor<Target, Work, Boom> {
  void on(Work) {}
  void on(Boom) { throw std::runtime_error("boom"); }
};
using target_ref = Target::handle;

enum class how : int { close = 0, kill = 1, fail = 2 };

kind expected_kind(how h) {
  switch (h) {
    case how::close:
      return kind::normal;
    case how::kill:
      return kind::killed;
    case how::fail:
      return kind::failed;
  }
  return kind::normal;
}

struct shared_state {
  std::vector<target_ref> targets;
  std::vector<how> hows;
  std::atomic<long> errors{0};
  std::atomic<long> downs{0};
  std::atomic<int> settled{0};  // watchers whose own downs are all handled
  std::mutex mu;
  std::string first_error;
  void error(const std::string& what) {
    if (errors.fetch_add(1) == 0) {
      std::lock_guard lock(mu);
      first_error = what;
    }
  }
};

struct MonitorAll {
  std::uint64_t seed;
};
struct DemonitorSome {
  std::uint64_t seed;
};
// Sent by a watcher to itself: behind the downs it sent itself for targets that had already
// stopped, so once it is handled they are too.
struct Settled {};

// Monitors every target, later demonitors some; checks each down it sees.
struct Watcher : troupe::actor<Watcher, MonitorAll, DemonitorSome, Settled, troupe::down> {
  explicit Watcher(shared_state* s) : s_(s) {}
  void on(MonitorAll m) {
    for (std::size_t i = 0; i < s_->targets.size(); ++i) {
      handles_.emplace(s_->targets[i].id(), std::make_pair(monitor(s_->targets[i]), i));
    }
    (void)m;
  }
  void on(DemonitorSome d) {
    std::uint64_t x = d.seed;
    for (auto& [id, h] : handles_) {
      x = mix(x);
      if (x % 3 != 0) continue;
      cancelled_.insert(id);
      if (demonitor(h.first)) {
        never_sent_.insert(id);
      }
    }
    self().send(Settled{});
  }
  void on(Settled) { s_->settled.fetch_add(1); }
  void on(troupe::down d) {
    s_->downs.fetch_add(1);
    if (!seen_.insert(d.id).second) s_->error("two downs for one monitor");
    if (cancelled_.count(d.id) != 0) s_->error("a down handled after demonitor() returned");
    auto it = handles_.find(d.id);
    if (it == handles_.end()) {
      s_->error("a down for an actor never monitored");
      return;
    }
    if (d.reason.what != expected_kind(s_->hows[it->second.second])) {
      s_->error("wrong reason: " + troupe::to_string(d.reason));
    }
  }
  void on_stop() {
    // Every monitor not cancelled has fired by now (all targets stopped before we close).
    for (auto& [id, h] : handles_) {
      const bool got = seen_.count(id) != 0;
      const bool cancelled = cancelled_.count(id) != 0;
      if (!cancelled && !got) s_->error("a monitor never got its down");
      if (never_sent_.count(id) != 0 && got) s_->error("demonitor said unsent, but one came");
    }
  }
  shared_state* s_;
  std::unordered_map<troupe::actor_id, std::pair<troupe::monitor_handle, std::size_t>> handles_;
  std::unordered_set<troupe::actor_id> cancelled_, never_sent_, seen_;
};

TEST(MonitorStress, DownsAreExactlyOnceUnderStopAndDemonitorRaces) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int rounds = 20;
  constexpr int targets = 100;
  constexpr int watchers = 4;
  troupe::runtime rt(with_workers(3));
  for (int round = 0; round < rounds; ++round) {
    shared_state s;
    std::uint64_t x = mix(seed + static_cast<std::uint64_t>(round));
    for (int i = 0; i < targets; ++i) {
      s.targets.push_back(rt.spawn<Target>());
      x = mix(x);
      s.hows.push_back(static_cast<how>(x % 3));
    }
    // Outside monitors, half of them cancelled from another thread while targets stop.
    std::vector<troupe::monitor_handle> outside(targets);
    std::vector<std::atomic<int>> outside_downs(targets);
    for (int i = 0; i < targets; ++i) {
      outside[i] = troupe::monitor(s.targets[i], [&s, &outside_downs, i](const troupe::down& d) {
        outside_downs[i].fetch_add(1);
        if (d.reason.what != expected_kind(s.hows[i])) s.error("wrong outside reason");
      });
    }
    std::vector<Watcher::handle> ws;
    for (int w = 0; w < watchers; ++w) {
      ws.push_back(rt.spawn<Watcher>(&s));
      ws.back().send(MonitorAll{});
    }
    std::vector<int> outside_unsent(targets, 0);
    std::thread canceller([&] {
      for (int i = 0; i < targets; i += 2) outside_unsent[i] = troupe::demonitor(outside[i]);
    });
    std::thread stopper([&] {
      for (int i = 0; i < targets; ++i) {
        switch (s.hows[i]) {
          case how::close:
            s.targets[i].close();
            break;
          case how::kill:
            s.targets[i].kill();
            break;
          case how::fail:
            s.targets[i].send(Boom{});
            break;
        }
        if (i % 10 == 0) std::this_thread::yield();
      }
    });
    for (int w = 0; w < watchers; ++w) ws[w].send(DemonitorSome{mix(x + w)});
    stopper.join();
    canceller.join();
    for (auto& t : s.targets) t.join();
    // A close goes behind what was sent before it: the watchers' downs from the targets'
    // stops are queued (join() returned), those they sent themselves once Settled is handled.
    wait_until("the watchers to settle", [&] { return s.settled.load() == watchers; });
    for (auto& w : ws) {
      w.close();
      w.join();
    }
    for (int i = 0; i < targets; ++i) {
      const int n = outside_downs[i].load();
      if (n > 1) s.error("two outside downs");
      if (i % 2 == 1 && n != 1) s.error("an outside monitor never got its down");
      if (outside_unsent[i] == 1 && n != 0) s.error("outside demonitor said unsent, one came");
    }
    ASSERT_EQ(s.errors.load(), 0) << s.first_error << " (round " << round << ")";
  }
  shutdown_and_expect_accounting(rt);
}

struct LinkTo;
struct Unlink {};
// Sent by a member to itself after it linked: behind an exit_signal its link() sent it at
// once (the partner had already stopped), so once it is handled that signal has been.
struct Linked {};
struct Member : troupe::actor<Member, LinkTo, Unlink, Linked, Boom, troupe::exit_signal> {
  Member(bool trap, std::atomic<int>* exits) : trap_(trap), exits_(exits) {}
  void on_start() {
    if (trap_) trap_exits(true);
  }
  void on(const LinkTo& l);
  void on(Unlink) {
    unlink(peer_);
    unlinked.store(true);
  }
  void on(Linked) { linked.store(true); }
  void on(Boom) { throw std::runtime_error("boom"); }
  void on(troupe::exit_signal) { exits_->fetch_add(1); }
  bool trap_;
  std::atomic<int>* exits_;
  std::atomic<bool> unlinked{false};
  std::atomic<bool> linked{false};
  troupe::ref<LinkTo, Unlink, Linked, Boom, troupe::exit_signal> peer_;
};
struct LinkTo {
  Member::handle other;
};
void Member::on(const LinkTo& l) {
  peer_ = l.other;
  link(l.other);
  self().send(Linked{});
}

TEST(LinkStress, AnAbnormalStopAlwaysReachesTheLinkedPartner) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  troupe::runtime rt(with_workers(3));
  constexpr int pairs = 400;
  std::uint64_t x = seed;
  std::vector<std::atomic<int>> exits(pairs);
  struct pair_run {
    Member::handle a, b;
    troupe::result<troupe::down> a_down;
    bool trap, unlink, kill;
  };
  std::vector<pair_run> runs;
  for (int i = 0; i < pairs; ++i) {
    x = mix(x);
    pair_run p;
    p.trap = x % 4 == 0;
    p.unlink = (x >> 8) % 4 == 0;
    p.kill = (x >> 16) % 2 == 0;
    p.a = rt.spawn<Member>(p.trap, &exits[i]);
    p.b = rt.spawn<Member>(false, &exits[i]);
    p.a_down = troupe::monitor(p.a);
    runs.push_back(std::move(p));
  }
  // Links, unlinks and stops race: b's stop may come before, during or after the link.
  std::thread linker([&] {
    for (auto& p : runs) {
      p.a.send(LinkTo{p.b});
      if (p.unlink) p.a.send(Unlink{});
    }
  });
  std::thread stopper([&] {
    for (auto& p : runs) {
      if (p.kill) {
        p.b.kill();
      } else {
        p.b.send(Boom{});
      }
    }
  });
  linker.join();
  stopper.join();
  for (auto& p : runs) p.b.join();
  long errors = 0;
  for (int i = 0; i < pairs; ++i) {
    auto& p = runs[static_cast<std::size_t>(i)];
    if (p.trap || p.unlink) {
      // Lives on (a trapper gets at most one exit_signal; after an unlink, it may or may not
      // have been hit first, and killed). Close it, once what its link sent it is handled,
      // and check what it saw.
      Member& am = static_cast<Member&>(*troupe::detail::ref_access::actor_of(p.a, "test"));
      wait_until("the link", [&] { return am.linked.load() || p.a.stopped(); });
      p.a.close();
      const troupe::down d = p.a_down.get();
      if (p.trap && !p.unlink && exits[i].load() != 1) ++errors;
      if (p.trap && exits[i].load() > 1) ++errors;
      if (p.trap && d.reason.what != kind::normal) ++errors;
      continue;
    }
    const troupe::down d = p.a_down.get();  // must come: the link acts, whatever the order
    if (d.reason.linked_from != p.b.id()) ++errors;
    if (d.reason.what != (p.kill ? kind::killed : kind::failed)) ++errors;
  }
  EXPECT_EQ(errors, 0);
  shutdown_and_expect_accounting(rt);
}

}  // namespace
