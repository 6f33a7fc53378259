// Stress: several producer threads and a mesh of actors that forward messages to each other,
// with some actors closed at random points mid-stream (by a producer directly, or by another
// actor on a producer's request). Checks, per receiver:
//   * exactly once:   handled-by-r + dead-lettered-to-r == sent-to-r   (and the global identity)
//   * per-sender FIFO: for every (sender, receiver) pair the handled sequence numbers are
//     exactly 0, 1, 2, ... (strictly increasing without gaps: a receiver handles a prefix of
//     each sender's stream and dead-letters the rest once it has stopped).
// A second test spawns actors from handlers under load and checks every one is reclaimed.
//
// Every random choice derives from one seed, printed on failure (SCOPED_TRACE) and settable
// with TROUPE_TEST_SEED=<n>. Worker counts 1, 2 and 4; scaled down under TSan.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

#if defined(__SANITIZE_THREAD__)
constexpr int kProducers = 3;
constexpr int kMsgsPerProducer = 10'000;
constexpr int kRounds = 20;
constexpr int kBreedsPerProducer = 4'000;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kProducers = 4;
constexpr int kMsgsPerProducer = 30'000;
constexpr int kRounds = 8;
constexpr int kBreedsPerProducer = 20'000;
#else
constexpr int kProducers = 4;
constexpr int kMsgsPerProducer = 50'000;
constexpr int kRounds = 40;
constexpr int kBreedsPerProducer = 50'000;
#endif
constexpr int kNodes = 16;
constexpr int kClosedNodes = 5;  // closed at random points while traffic flows
constexpr std::uint32_t kMaxTtl = 3;

// ---- the forwarding mesh ---------------------------------------------------------------------

// Senders are numbered: producers 0..kProducers-1, then nodes kProducers..kProducers+kNodes-1.
struct Msg {
  std::uint32_t sender;
  std::uint32_t seq;  // per (sender, receiver)
  std::uint32_t ttl;  // forwards left
};
struct CloseOther {
  std::uint32_t sender;
  std::uint32_t seq;  // shares the (sender, receiver) sequence with Msg
  std::uint32_t target;
};

using NodeRef = troupe::ref<Msg, CloseOther>;

struct Counters {
  std::atomic<std::uint64_t> sent_to{0};
  std::atomic<std::uint64_t> handled_by{0};
  std::atomic<std::uint64_t> dead_to{0};
};

struct World {
  std::uint64_t seed = 0;
  std::vector<NodeRef> nodes;                       // filled before the first send
  std::unordered_map<troupe::actor_id, int> index;  // likewise; read-only afterwards
  std::unique_ptr<Counters[]> c = std::make_unique<Counters[]>(kNodes);
  std::atomic<std::uint64_t> fifo_violations{0};
  std::atomic<std::uint64_t> unknown_dead_letters{0};
  std::mutex mu;
  std::string first_violation;  // under mu

  void violation(const std::string& what) {
    if (fifo_violations.fetch_add(1) == 0) {
      std::lock_guard lock(mu);
      first_violation = what;
    }
  }
};

class Node : public troupe::actor<Node, Msg, CloseOther> {
 public:
  Node(World* w, int index)
      : w_(w),
        index_(index),
        rng_(mix(w->seed ^ (0x1000u + static_cast<std::uint64_t>(index)))),
        expected_(kProducers + kNodes, 0),
        next_seq_(kNodes, 0) {}

  void on(Msg m) {
    accept(m.sender, m.seq);
    if (m.ttl > 0) {
      const int target = static_cast<int>(rng_() % kNodes);
      send_to(target, [&](std::uint32_t seq) {
        return Msg{static_cast<std::uint32_t>(kProducers + index_), seq, m.ttl - 1};
      });
    }
  }
  void on(CloseOther c) {
    accept(c.sender, c.seq);
    w_->nodes[c.target].close();
  }

 private:
  void accept(std::uint32_t sender, std::uint32_t seq) {
    w_->c[index_].handled_by.fetch_add(1, std::memory_order_relaxed);
    std::uint32_t& expected = expected_[sender];
    if (seq != expected) {
      w_->violation("receiver " + std::to_string(index_) + " got seq " + std::to_string(seq) +
                    " from sender " + std::to_string(sender) + ", expected " +
                    std::to_string(expected));
    }
    expected = seq + 1;
  }
  template <class Make>
  void send_to(int target, Make make) {
    const std::uint32_t seq = next_seq_[static_cast<std::size_t>(target)]++;
    w_->c[target].sent_to.fetch_add(1, std::memory_order_relaxed);
    w_->nodes[static_cast<std::size_t>(target)].send(make(seq));
  }

  World* w_;
  int index_;
  std::mt19937_64 rng_;
  std::vector<std::uint32_t> expected_;  // per sender: next seq this receiver must see
  std::vector<std::uint32_t> next_seq_;  // per target: next seq this sender sends
};

struct CloseEvent {
  int at_message;  // before the producer's message number at_message
  int node;        // node to close
  bool via_actor;  // ask a random node to close it (a close from a worker thread)
};

troupe::runtime_stats run_mesh_round(unsigned workers, std::uint64_t seed) {
  SCOPED_TRACE(seed_trace(seed));
  SCOPED_TRACE("workers=" + std::to_string(workers));
  World w;  // outlives the runtime (declared first): the callbacks point into it
  w.seed = seed;
  troupe::runtime_config config;
  config.workers = workers;
  config.on_dead_letter = [&w](const troupe::dead_letter& d) {
    const auto it = w.index.find(d.receiver);
    if (it == w.index.end()) {
      w.unknown_dead_letters.fetch_add(1);
    } else {
      w.c[it->second].dead_to.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::atomic<int> failures{0};
  config.on_failure = [&failures](const troupe::failure&) { failures.fetch_add(1); };
  troupe::runtime rt(std::move(config));
  for (int i = 0; i < kNodes; ++i) {
    w.nodes.push_back(rt.spawn<Node>(&w, i));
    w.index.emplace(w.nodes.back().id(), i);
  }

  // The close schedule: kClosedNodes distinct nodes, each at a random point of a random
  // producer's stream, closed directly or through another actor.
  std::mt19937_64 plan(mix(seed));
  std::vector<int> order(kNodes);
  for (int i = 0; i < kNodes; ++i) order[static_cast<std::size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), plan);
  std::vector<std::vector<CloseEvent>> closes(kProducers);
  for (int k = 0; k < kClosedNodes; ++k) {
    const int producer = static_cast<int>(plan() % kProducers);
    closes[static_cast<std::size_t>(producer)].push_back(
        CloseEvent{static_cast<int>(plan() % kMsgsPerProducer), order[static_cast<std::size_t>(k)],
                   plan() % 2 == 0});
  }
  for (auto& c : closes) {
    std::sort(c.begin(), c.end(),
              [](const CloseEvent& a, const CloseEvent& b) { return a.at_message < b.at_message; });
  }

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&w, &closes, p, seed] {
      std::mt19937_64 rng(mix(seed ^ (0x2000u + static_cast<std::uint64_t>(p))));
      std::vector<std::uint32_t> next_seq(kNodes, 0);
      const auto sender = static_cast<std::uint32_t>(p);
      const std::vector<CloseEvent>& my_closes = closes[static_cast<std::size_t>(p)];
      std::size_t next_close = 0;
      for (int i = 0; i < kMsgsPerProducer; ++i) {
        while (next_close < my_closes.size() && my_closes[next_close].at_message == i) {
          const CloseEvent& e = my_closes[next_close++];
          if (e.via_actor) {
            const auto via = static_cast<std::size_t>(rng() % kNodes);
            w.c[via].sent_to.fetch_add(1, std::memory_order_relaxed);
            w.nodes[via].send(
                CloseOther{sender, next_seq[via]++, static_cast<std::uint32_t>(e.node)});
          } else {
            w.nodes[static_cast<std::size_t>(e.node)].close();
          }
        }
        const auto target = static_cast<std::size_t>(rng() % kNodes);
        const auto ttl = static_cast<std::uint32_t>(rng() % (kMaxTtl + 1));
        w.c[target].sent_to.fetch_add(1, std::memory_order_relaxed);
        w.nodes[target].send(Msg{sender, next_seq[target]++, ttl});
      }
    });
  }
  for (auto& t : producers) t.join();
  shutdown_and_expect_accounting(rt);

  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(w.fifo_violations.load(), 0u) << w.first_violation;
  EXPECT_EQ(w.unknown_dead_letters.load(), 0u);
  EXPECT_EQ(failures.load(), 0);
  std::uint64_t sent = 0;
  std::uint64_t handled = 0;
  std::uint64_t dead = 0;
  for (int r = 0; r < kNodes; ++r) {
    const Counters& c = w.c[r];
    EXPECT_EQ(c.handled_by.load() + c.dead_to.load(), c.sent_to.load())
        << "receiver " << r << ": handled " << c.handled_by.load() << " + dead-lettered "
        << c.dead_to.load() << " != sent " << c.sent_to.load();
    sent += c.sent_to.load();
    handled += c.handled_by.load();
    dead += c.dead_to.load();
  }
  EXPECT_EQ(s.sent, sent);
  EXPECT_EQ(s.handled, handled);
  EXPECT_EQ(s.dead_lettered, dead);
  EXPECT_GE(sent, std::uint64_t{kProducers} * kMsgsPerProducer);
  EXPECT_EQ(s.spawned, static_cast<std::uint64_t>(kNodes));
  EXPECT_EQ(s.failed, 0u);
  for (const auto& n : w.nodes) EXPECT_TRUE(n.stopped());
  if (::testing::Test::HasFailure()) {
    std::printf("actor_stress: failure with %s\n", seed_trace(seed).c_str());
  }
  return s;
}

class ActorStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(ActorStress, ForwardingMeshWithRandomClosesDeliversExactlyOnceInSenderOrder) {
  const std::uint64_t seed = base_seed();
  troupe::runtime_stats total{};
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    const troupe::runtime_stats s =
        run_mesh_round(GetParam(), mix(seed + static_cast<std::uint64_t>(round)));
    total.sent += s.sent;
    total.handled += s.handled;
    total.dead_lettered += s.dead_lettered;
    total.steals += s.steals;
  }
  std::printf(
      "[actor_stress] %d rounds, %u workers: sent %llu, handled %llu, dead-lettered %llu, "
      "steals %llu\n",
      kRounds, GetParam(), static_cast<unsigned long long>(total.sent),
      static_cast<unsigned long long>(total.handled),
      static_cast<unsigned long long>(total.dead_lettered),
      static_cast<unsigned long long>(total.steals));
}

// ---- spawning from handlers under load ---------------------------------------------------------

std::atomic<std::uint64_t> g_children_built{0};
std::atomic<std::uint64_t> g_children_freed{0};
std::atomic<std::uint64_t> g_child_msgs{0};
std::atomic<int> g_kid_violations{0};

struct Chirp {
  std::uint32_t seq;
};
struct Kid : troupe::actor<Kid, Chirp> {
  Kid() { g_children_built.fetch_add(1, std::memory_order_relaxed); }
  ~Kid() override { g_children_freed.fetch_add(1, std::memory_order_relaxed); }
  void on(Chirp c) {
    if (c.seq != next_++) g_kid_violations.fetch_add(1);
    g_child_msgs.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::uint32_t next_ = 0;
};

struct Breed {
  std::uint32_t chirps;
  bool keep;  // keep the child open (shutdown closes it) instead of closing it at once
};
struct Breeder : troupe::actor<Breeder, Breed> {
  void on(Breed b) {
    Kid::handle k = spawn<Kid>();
    for (std::uint32_t i = 0; i < b.chirps; ++i) k.send(Chirp{i});
    if (b.keep) {
      kept_.push_back(std::move(k));
    } else {
      k.close();  // the handle goes at the end of this scope: freed once it stops
    }
  }
  void on_stop() { kept_.clear(); }

 private:
  std::vector<Kid::handle> kept_;
};

TEST_P(ActorStress, ActorsSpawnedFromHandlersUnderLoadAreAllReclaimed) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  g_children_built.store(0);
  g_children_freed.store(0);
  g_child_msgs.store(0);
  g_kid_violations.store(0);
  constexpr int per_producer = kBreedsPerProducer;
  constexpr int breeders = 8;
  std::atomic<std::uint64_t> expected_chirps{0};
  {
    troupe::runtime_config config;
    config.workers = GetParam();
    troupe::runtime rt(std::move(config));
    std::vector<Breeder::handle> bs;
    for (int i = 0; i < breeders; ++i) bs.push_back(rt.spawn<Breeder>());
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        std::mt19937_64 rng(mix(seed ^ (0x3000u + static_cast<std::uint64_t>(p))));
        for (int i = 0; i < per_producer; ++i) {
          const auto chirps = static_cast<std::uint32_t>(rng() % 4);
          expected_chirps.fetch_add(chirps, std::memory_order_relaxed);
          bs[rng() % breeders].send(Breed{chirps, rng() % 8 == 0});
        }
      });
    }
    for (auto& t : producers) t.join();
    // Let the breeders finish first: a spawn inside a handler after shutdown() began would
    // (correctly) throw troupe::error and fail the breeder.
    for (auto& b : bs) b.close();
    for (auto& b : bs) b.join();
    shutdown_and_expect_accounting(rt);
    const auto s = rt.stats();
    EXPECT_EQ(s.failed, 0u);
    EXPECT_EQ(s.spawned, std::uint64_t{breeders} + std::uint64_t{kProducers} * per_producer);
    EXPECT_EQ(s.dead_lettered, 0u) << "every child was closed after its chirps were sent";
    EXPECT_EQ(g_child_msgs.load(), expected_chirps.load());
    EXPECT_EQ(g_kid_violations.load(), 0);
  }
  EXPECT_EQ(g_children_built.load(), std::uint64_t{kProducers} * per_producer);
  EXPECT_EQ(g_children_freed.load(), g_children_built.load())
      << "every child must be freed once stopped and unreferenced";
}

// ---- no lost wake-up ---------------------------------------------------------------------------

// Round trips through actors that go idle after every message: each external thread sends one
// message and waits for its echo before sending the next, and the threads share the echo
// actors, so a send keeps landing while an actor is finishing its turn and marking itself
// idle. A lost wake-up leaves a message unhandled forever; the watchdog turns that hang into
// a failure with a diagnosis (it is a liveness check, not a timing assertion: 60 s for one
// round trip).
struct Echo {
  std::atomic<std::uint64_t>* done;
  std::uint64_t n;
};
struct Echoer : troupe::actor<Echoer, Echo> {
  void on(Echo e) { e.done->store(e.n, std::memory_order_release); }
};

TEST_P(ActorStress, EveryWakeUpOfAnIdleActorIsDelivered) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
#if defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t round_trips = 5'000;
#else
  constexpr std::uint64_t round_trips = 50'000;
#endif
  constexpr int threads = 3;
  constexpr std::size_t echoers = 2;
  troupe::runtime_config config;
  config.workers = GetParam();
  troupe::runtime rt(std::move(config));
  std::vector<Echoer::handle> es;
  for (std::size_t i = 0; i < echoers; ++i) es.push_back(rt.spawn<Echoer>());
  std::atomic<int> stuck{0};
  std::mutex mu;
  std::string stuck_at;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(mix(seed ^ (0x4000u + static_cast<std::uint64_t>(t))));
      std::atomic<std::uint64_t> done{0};
      for (std::uint64_t n = 1; n <= round_trips; ++n) {
        const std::size_t to = rng() % echoers;
        es[to].send(Echo{&done, n});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (done.load(std::memory_order_acquire) != n) {
          std::this_thread::yield();
          if (std::chrono::steady_clock::now() > deadline) {
            std::lock_guard lock(mu);
            stuck_at = "thread " + std::to_string(t) + ": message " + std::to_string(n) +
                       " to echoer " + std::to_string(to) + " never handled (lost wake-up?)";
            stuck.fetch_add(1);
            return;  // the runtime cannot shut down cleanly now; report rather than hang
          }
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  if (stuck.load() != 0) {
    // Shutting down would hang on the stuck actor; fail loudly and leave the process.
    std::lock_guard lock(mu);
    std::printf("actor_stress: %s; %s\n", stuck_at.c_str(), seed_trace(seed).c_str());
    std::fflush(stdout);
    std::_Exit(1);
  }
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().handled, round_trips * threads);
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
}

INSTANTIATE_TEST_SUITE_P(Workers, ActorStress, ::testing::Values(1u, 2u, 4u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
