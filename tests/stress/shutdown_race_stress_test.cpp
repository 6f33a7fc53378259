// Stress: the ends of things racing with traffic.
//   * runtime::shutdown() racing with sends from several threads, with spawns from outside
//     threads and with spawns from inside handlers (a spawn may throw troupe::error once
//     shutdown has begun — anything else is a failure — and an actor whose spawn succeeded
//     is stopped by the time shutdown() returns);
//   * several shutdown() calls at once;
//   * close() racing with sends (and with other close() calls);
//   * join() from many threads at once;
//   * the runtime destroyed while the test still holds refs and keeps sending.
// Each receiver checks per-sender FIFO (each sender's stream is handled as a gap-free prefix)
// and each test checks handled + dead-lettered == sent, per receiver and in total.
//
// Every random choice derives from one seed, printed on failure (SCOPED_TRACE) and settable
// with TROUPE_TEST_SEED=<n>. Scaled down under TSan.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::seed_trace;

using troupe::test::shutdown_and_expect_accounting;

// kScale multiplies message counts; kRounds is how many fresh races each test runs (each
// round a new runtime, new threads and a new derived seed).
#if defined(__SANITIZE_THREAD__)
constexpr int kScale = 1;
constexpr int kRounds = 20;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 4;
constexpr int kRounds = 12;
#else
constexpr int kScale = 8;
constexpr int kRounds = 60;
#endif

void expect_identity(const troupe::runtime_stats& s) {
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered)
      << "accounting identity broken: sent=" << s.sent << " handled=" << s.handled
      << " dead_lettered=" << s.dead_lettered;
  EXPECT_EQ(s.spawned, s.stopped) << "every spawned actor must have stopped after shutdown";
}

void wait_until(const std::atomic<int>& v, int at_least) {
  while (v.load(std::memory_order_acquire) < at_least) std::this_thread::yield();
}

// ---- a ledger of what was sent to, handled by and dead-lettered to each receiver -----------

struct Msg {
  std::uint32_t sender;
  std::uint32_t seq;  // per (sender, receiver)
};

struct PerReceiver {
  std::atomic<std::uint64_t> sent_to{0};
  std::atomic<std::uint64_t> handled_by{0};
  std::atomic<std::uint64_t> dead_to{0};
  std::atomic<int> stop_calls{0};
  std::uint64_t handled_at_stop = 0;  // plain: written by on_stop(), read after join()
};

struct Ledger {
  Ledger(int receivers, int senders)
      : receivers(receivers), senders(senders), r(std::make_unique<PerReceiver[]>(receivers)) {}

  const int receivers;
  const int senders;
  std::unique_ptr<PerReceiver[]> r;
  std::unordered_map<troupe::actor_id, int> index;  // complete before the first send
  std::atomic<std::uint64_t> unknown_dead{0};
  std::atomic<std::uint64_t> fifo_violations{0};
  std::mutex mu;
  std::string first_violation;

  void install(troupe::runtime_config& c) {
    c.on_dead_letter = [this](const troupe::dead_letter& d) {
      const auto it = index.find(d.receiver);
      if (it == index.end()) {
        unknown_dead.fetch_add(1);
      } else {
        r[it->second].dead_to.fetch_add(1, std::memory_order_relaxed);
      }
    };
  }
  void violation(const std::string& what) {
    if (fifo_violations.fetch_add(1) == 0) {
      std::lock_guard lock(mu);
      first_violation = what;
    }
  }
  void expect_balanced() {
    EXPECT_EQ(fifo_violations.load(), 0u) << first_violation;
    EXPECT_EQ(unknown_dead.load(), 0u);
    for (int i = 0; i < receivers; ++i) {
      const PerReceiver& x = r[i];
      EXPECT_EQ(x.handled_by.load() + x.dead_to.load(), x.sent_to.load())
          << "receiver " << i << ": handled " << x.handled_by.load() << " + dead-lettered "
          << x.dead_to.load() << " != sent " << x.sent_to.load();
    }
  }
  std::uint64_t total_sent() const {
    std::uint64_t n = 0;
    for (int i = 0; i < receivers; ++i) n += r[i].sent_to.load();
    return n;
  }
};

std::atomic<std::uint64_t> g_sinks_freed{0};

class Sink : public troupe::actor<Sink, Msg> {
 public:
  Sink(Ledger* l, int index)
      : l_(l), index_(index), expected_(static_cast<std::size_t>(l->senders), 0) {}
  ~Sink() override { g_sinks_freed.fetch_add(1, std::memory_order_relaxed); }
  void on(Msg m) {
    ++handled_;
    l_->r[index_].handled_by.fetch_add(1, std::memory_order_relaxed);
    std::uint32_t& e = expected_[m.sender];
    if (m.seq != e) {
      l_->violation("receiver " + std::to_string(index_) + " got seq " + std::to_string(m.seq) +
                    " from sender " + std::to_string(m.sender) + ", expected " + std::to_string(e));
    }
    e = m.seq + 1;
  }
  void on_stop() {
    l_->r[index_].handled_at_stop = handled_;
    l_->r[index_].stop_calls.fetch_add(1);
  }

 private:
  Ledger* l_;
  int index_;
  std::uint64_t handled_ = 0;
  std::vector<std::uint32_t> expected_;
};

using SinkRef = Sink::handle;

// One sending thread's view: its id and next sequence number per receiver.
struct Sender {
  Sender(Ledger& l, std::uint32_t id)
      : l(l), id(id), next(static_cast<std::size_t>(l.receivers), 0) {}
  void send(const std::vector<SinkRef>& sinks, std::size_t to) {
    l.r[to].sent_to.fetch_add(1, std::memory_order_relaxed);
    sinks[to].send(Msg{id, next[to]++});
  }
  Ledger& l;
  std::uint32_t id;
  std::vector<std::uint32_t> next;
};

std::vector<SinkRef> spawn_sinks(troupe::runtime& rt, Ledger& l) {
  std::vector<SinkRef> sinks;
  for (int i = 0; i < l.receivers; ++i) {
    sinks.push_back(rt.spawn<Sink>(&l, i));
    l.index.emplace(sinks.back().id(), i);
  }
  return sinks;
}

class ShutdownRace : public ::testing::TestWithParam<unsigned> {
 protected:
  troupe::runtime_config config() const {
    troupe::runtime_config c;
    c.workers = GetParam();
    c.on_failure = [this](const troupe::failure& f) {
      (void)f;
      failures_.fetch_add(1);
    };
    return c;
  }
  mutable std::atomic<int> failures_{0};
};

// ---- shutdown vs sends ------------------------------------------------------------------------

TEST_P(ShutdownRace, ShutdownRacingWithSendsLosesNothingAndKeepsSenderOrder) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int senders = 4;
  constexpr int receivers = 8;
  const int before = 500 * kScale;   // per sender, before shutdown is called
  const int after = 2'000 * kScale;  // per sender, racing with and following shutdown
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    Ledger l(receivers, senders);
    troupe::runtime_config c = config();
    l.install(c);
    troupe::runtime rt(std::move(c));
    const std::vector<SinkRef> sinks = spawn_sinks(rt, l);
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    for (int s = 0; s < senders; ++s) {
      ts.emplace_back([&, s] {
        std::mt19937_64 rng(
            mix(seed ^ (static_cast<std::uint64_t>(round) << 8) ^ static_cast<std::uint64_t>(s)));
        Sender me(l, static_cast<std::uint32_t>(s));
        for (int i = 0; i < before + after; ++i) {
          if (i == before) ready.fetch_add(1, std::memory_order_release);
          me.send(sinks, rng() % receivers);
        }
      });
    }
    wait_until(ready, senders);
    rt.shutdown();  // while every sender is still sending
    for (const auto& s : sinks) EXPECT_TRUE(s.stopped()) << "shutdown returned early";
    for (auto& t : ts) t.join();
    // Sends after shutdown were dead-lettered synchronously: the counters are final now.
    const auto st = rt.stats();
    expect_identity(st);
    EXPECT_EQ(st.sent, std::uint64_t{senders} * static_cast<std::uint64_t>(before + after));
    EXPECT_EQ(st.sent, l.total_sent());
    l.expect_balanced();
    for (int i = 0; i < receivers; ++i) EXPECT_EQ(l.r[i].stop_calls.load(), 1);
  }
  EXPECT_EQ(failures_.load(), 0);
}

TEST_P(ShutdownRace, SeveralConcurrentShutdownCallsEachReturnWithEverythingStopped) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int senders = 2;
  constexpr int closers = 3;
  constexpr int receivers = 16;
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    Ledger l(receivers, senders);
    troupe::runtime_config c = config();
    l.install(c);
    troupe::runtime rt(std::move(c));
    const std::vector<SinkRef> sinks = spawn_sinks(rt, l);
    std::atomic<int> ready{0};
    std::atomic<int> early_returns{0};
    std::vector<std::thread> ts;
    for (int s = 0; s < senders; ++s) {
      ts.emplace_back([&, s] {
        std::mt19937_64 rng(mix(seed + static_cast<std::uint64_t>(round * 16 + s)));
        Sender me(l, static_cast<std::uint32_t>(s));
        for (int i = 0; i < 1'000 * kScale; ++i) {
          if (i == 100) ready.fetch_add(1, std::memory_order_release);
          me.send(sinks, rng() % receivers);
        }
      });
    }
    for (int k = 0; k < closers; ++k) {
      ts.emplace_back([&] {
        wait_until(ready, senders);
        rt.shutdown();
        for (const auto& s : sinks) {
          if (!s.stopped()) early_returns.fetch_add(1);
        }
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(early_returns.load(), 0) << "a shutdown() call returned before all actors stopped";
    rt.shutdown();
    expect_identity(rt.stats());
    l.expect_balanced();
  }
  EXPECT_EQ(failures_.load(), 0);
}

// ---- shutdown vs spawns -------------------------------------------------------------------

std::atomic<std::uint64_t> g_built{0};
std::atomic<std::uint64_t> g_freed{0};
std::atomic<std::uint64_t> g_chirps{0};

struct Chirp {};
struct Kid : troupe::actor<Kid, Chirp> {
  Kid() { g_built.fetch_add(1, std::memory_order_relaxed); }
  ~Kid() override { g_freed.fetch_add(1, std::memory_order_relaxed); }
  void on(Chirp) { g_chirps.fetch_add(1, std::memory_order_relaxed); }
};

TEST_P(ShutdownRace, SpawnsFromOutsideEitherThrowTroupeErrorOrYieldAnActorShutdownStops) {
  g_built.store(0);
  g_freed.store(0);
  constexpr int spawners = 4;
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    std::atomic<int> ready{0};
    std::atomic<int> wrong_exceptions{0};
    std::atomic<int> spawn_after_refusal{0};
    std::atomic<std::uint64_t> spawned_ok{0};
    std::vector<std::vector<Kid::handle>> kept(spawners);
    {
      troupe::runtime rt(config());
      std::vector<std::thread> ts;
      for (int s = 0; s < spawners; ++s) {
        ts.emplace_back([&, s] {
          auto& mine = kept[static_cast<std::size_t>(s)];
          for (int i = 0;; ++i) {
            if (i == 50) ready.fetch_add(1, std::memory_order_release);
            try {
              Kid::handle k = rt.spawn<Kid>();
              spawned_ok.fetch_add(1, std::memory_order_relaxed);
              k.send(Chirp{});
              if (i % 3 == 0) k.close();
              mine.push_back(std::move(k));
            } catch (const troupe::error&) {
              // Shutdown has begun: it must stay refused.
              try {
                (void)rt.spawn<Kid>();
                spawn_after_refusal.fetch_add(1);
              } catch (const troupe::error&) {
              } catch (...) {
                wrong_exceptions.fetch_add(1);
              }
              if (i < 50) ready.fetch_add(1, std::memory_order_release);
              return;
            } catch (...) {
              wrong_exceptions.fetch_add(1);
              if (i < 50) ready.fetch_add(1, std::memory_order_release);
              return;
            }
          }
        });
      }
      wait_until(ready, spawners);
      rt.shutdown();
      for (auto& t : ts) t.join();
      EXPECT_EQ(wrong_exceptions.load(), 0);
      EXPECT_EQ(spawn_after_refusal.load(), 0) << "a spawn succeeded after one was refused";
      const auto st = rt.stats();
      expect_identity(st);
      EXPECT_EQ(st.spawned, spawned_ok.load());
      std::size_t not_stopped = 0;
      for (const auto& v : kept) {
        for (const auto& k : v) not_stopped += k.stopped() ? 0 : 1;
      }
      EXPECT_EQ(not_stopped, 0u) << "an actor spawned before shutdown was not stopped by it";
    }
    kept.clear();
    EXPECT_EQ(g_built.load(), g_freed.load()) << "refused and stopped actors must all be freed";
  }
  EXPECT_EQ(failures_.load(), 0);
}

struct Grow {};
struct GrowerOut {
  std::atomic<int> refused{0};
  std::atomic<int> wrong{0};
  std::atomic<int> spawned{0};
};
struct Grower : troupe::actor<Grower, Grow> {
  Grower(GrowerOut* out, int cap) : out_(out), cap_(cap) {}
  void on(Grow) {
    try {
      Kid::handle k = spawn<Kid>();  // dropped at once: shutdown closes it
      k.send(Chirp{});
      out_->spawned.fetch_add(1, std::memory_order_release);
    } catch (const troupe::error&) {
      out_->refused.fetch_add(1);
      return;  // stop growing
    } catch (...) {
      out_->wrong.fetch_add(1);
      return;
    }
    if (++grown_ < cap_) self().send(Grow{});  // becomes a dead letter once we are closed
  }

 private:
  GrowerOut* out_;
  int cap_;
  int grown_ = 0;
};

TEST_P(ShutdownRace, SpawnsFromHandlersRacingShutdownOnlyEverThrowTroupeError) {
  constexpr int growers = 4;
  const int cap = 20'000 * kScale;  // a bound in case shutdown never stopped them
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    g_built.store(0);
    g_freed.store(0);
    g_chirps.store(0);
    GrowerOut out;
    std::atomic<std::uint64_t> dead_chirps{0};
    {
      troupe::runtime_config c = config();
      c.on_dead_letter = [&dead_chirps](const troupe::dead_letter& d) {
        if (d.message_type == typeid(Chirp)) dead_chirps.fetch_add(1);
      };
      troupe::runtime rt(std::move(c));
      for (int i = 0; i < growers; ++i) rt.spawn<Grower>(&out, cap).send(Grow{});
      wait_until(out.spawned, 200 * growers);
      rt.shutdown();
      EXPECT_EQ(out.wrong.load(), 0);
      const auto st = rt.stats();
      expect_identity(st);
      EXPECT_EQ(st.spawned, static_cast<std::uint64_t>(growers + out.spawned.load()));
      // Each kid got one chirp: handled, or dead-lettered when shutdown's close reached the
      // kid between its spawn and the send.
      EXPECT_EQ(g_chirps.load() + dead_chirps.load(),
                static_cast<std::uint64_t>(out.spawned.load()));
    }
    EXPECT_EQ(g_built.load(), g_freed.load());
  }
  EXPECT_EQ(failures_.load(), 0);
}

// ---- close vs sends -----------------------------------------------------------------------

TEST_P(ShutdownRace, CloseRacingWithSendsHandlesAPrefixOfEachSenderAndDeadLettersTheRest) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int senders = 4;
  constexpr int receivers = 8;
  const int per_sender = 1'000 * kScale;
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    Ledger l(receivers, senders);
    troupe::runtime_config c = config();
    l.install(c);
    troupe::runtime rt(std::move(c));
    const std::vector<SinkRef> sinks = spawn_sinks(rt, l);
    // Each receiver is closed by two senders at random points of their streams.
    std::mt19937_64 plan(mix(seed + static_cast<std::uint64_t>(round)));
    std::vector<std::vector<std::pair<int, int>>> closes(senders);  // (at message, receiver)
    for (int r = 0; r < receivers; ++r) {
      for (int k = 0; k < 2; ++k) {
        closes[plan() % senders].emplace_back(static_cast<int>(plan() % per_sender), r);
      }
    }
    for (auto& v : closes) std::sort(v.begin(), v.end());
    std::vector<std::thread> ts;
    for (int s = 0; s < senders; ++s) {
      ts.emplace_back([&, s] {
        std::mt19937_64 rng(mix(seed ^ (0x5000u + static_cast<std::uint64_t>(round * 64 + s))));
        Sender me(l, static_cast<std::uint32_t>(s));
        const auto& mine = closes[static_cast<std::size_t>(s)];
        std::size_t next = 0;
        for (int i = 0; i < per_sender; ++i) {
          while (next < mine.size() && mine[next].first == i) {
            sinks[static_cast<std::size_t>(mine[next++].second)].close();
          }
          me.send(sinks, rng() % receivers);
        }
      });
    }
    for (auto& t : ts) t.join();
    for (int r = 0; r < receivers; ++r) {
      sinks[static_cast<std::size_t>(r)].join();
      EXPECT_EQ(l.r[r].stop_calls.load(), 1);
      // on_stop() saw everything this receiver will ever handle.
      EXPECT_EQ(l.r[r].handled_at_stop, l.r[r].handled_by.load());
    }
    shutdown_and_expect_accounting(rt);
    l.expect_balanced();
    EXPECT_EQ(rt.stats().sent, l.total_sent());
  }
  EXPECT_EQ(failures_.load(), 0);
}

// ---- join from many threads ------------------------------------------------------------------

TEST_P(ShutdownRace, ManyThreadsJoiningAtOnceAllReturnAfterOnStop) {
  constexpr int joiners = 6;
  constexpr int receivers = 3;
  const int messages = 200 * kScale;
  for (int round = 0; round < 2 * kRounds && !HasFailure(); ++round) {
    Ledger l(receivers, 1);
    troupe::runtime_config c = config();
    l.install(c);
    troupe::runtime rt(std::move(c));
    const std::vector<SinkRef> sinks = spawn_sinks(rt, l);
    std::atomic<int> bad{0};
    std::atomic<int> started{0};
    std::vector<std::thread> ts;
    for (int j = 0; j < joiners; ++j) {
      ts.emplace_back([&, j] {
        started.fetch_add(1);
        const std::size_t r = static_cast<std::size_t>(j % receivers);
        sinks[r].join();
        // join() happens-after on_stop(): the plain field is safe to read (TSan checks).
        if (!sinks[r].stopped() || l.r[r].stop_calls.load() != 1 ||
            l.r[r].handled_at_stop != static_cast<std::uint64_t>(messages)) {
          bad.fetch_add(1);
        }
        sinks[r].join();  // again: returns at once
      });
    }
    wait_until(started, joiners);
    Sender me(l, 0);
    for (int i = 0; i < messages; ++i) {
      for (std::size_t r = 0; r < receivers; ++r) me.send(sinks, r);
    }
    for (const auto& s : sinks) s.close();
    for (auto& t : ts) t.join();
    EXPECT_EQ(bad.load(), 0);
    shutdown_and_expect_accounting(rt);
    l.expect_balanced();
  }
  EXPECT_EQ(failures_.load(), 0);
}

// ---- the runtime goes away while refs remain ------------------------------------------------

TEST_P(ShutdownRace, DestroyingTheRuntimeWhileOtherThreadsKeepSendingIsSafe) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr int senders = 3;
  constexpr int receivers = 6;
  const int before = 300 * kScale;
  const int after = 1'000 * kScale;
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    g_sinks_freed.store(0);
    Ledger l(receivers, senders + 1);  // outlives the runtime and every ref
    std::vector<SinkRef> sinks;
    std::atomic<int> ready{0};
    std::vector<std::thread> ts;
    {
      troupe::runtime_config c = config();
      l.install(c);
      auto rt = std::make_unique<troupe::runtime>(std::move(c));
      sinks = spawn_sinks(*rt, l);
      for (int s = 0; s < senders; ++s) {
        ts.emplace_back([&, s, mine = sinks] {
          std::mt19937_64 rng(mix(seed ^ (0x7000u + static_cast<std::uint64_t>(round * 64 + s))));
          Sender me(l, static_cast<std::uint32_t>(s));
          for (int i = 0; i < before + after; ++i) {
            if (i == before) ready.fetch_add(1, std::memory_order_release);
            me.send(mine, rng() % receivers);
            if (i % 97 == 0) (void)mine[rng() % receivers].stopped();
          }
          // `mine` (refs) is dropped here, possibly after the runtime is gone.
        });
      }
      wait_until(ready, senders);
      rt.reset();  // ~runtime: shuts down while the senders go on
      for (const auto& s : sinks) EXPECT_TRUE(s.stopped());
    }
    for (auto& t : ts) t.join();
    Sender late(l, senders);
    for (std::size_t r = 0; r < sinks.size(); ++r) {
      sinks[r].close();     // harmless
      sinks[r].join();      // returns at once
      late.send(sinks, r);  // a dead letter, with no runtime left
    }
    // Dead letters still reach the sink callback after the runtime object is gone.
    l.expect_balanced();
    EXPECT_EQ(g_sinks_freed.load(), 0u) << "`sinks` still holds every actor";
    sinks.clear();
    EXPECT_EQ(g_sinks_freed.load(), static_cast<std::uint64_t>(receivers))
        << "each actor must be freed when its last ref goes";
  }
  EXPECT_EQ(failures_.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, ShutdownRace, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
