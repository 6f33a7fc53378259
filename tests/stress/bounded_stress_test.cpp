// Bounded mailboxes under load (run under ThreadSanitizer by the tsan presets, and under
// AddressSanitizer + LeakSanitizer by the asan preset):
//   * a graph of event, coroutine and blocking actors, some bounded (capacities 2–16) and
//     some not, wired so that tokens travel in cycles through bounded actors that fill each
//     other's mailboxes, fed by outside threads that block on full mailboxes: every token
//     arrives exactly once, each actor sees every sender's tokens in send order, and the run
//     ends (no deadlock of the runtime: INV-BOUND-3);
//   * the same with actors killed at random while others are muted on them: nothing hangs,
//     no token arrives twice, and handled + dead-lettered accounts for every message sent.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::base_seed;
using troupe::test::mix;
using troupe::test::returns_within;
using troupe::test::seed_trace;
using troupe::test::wait_until;
using troupe::test::with_workers;

constexpr std::size_t kNodes = 9;      // 3 of each kind
constexpr std::size_t kInjectors = 3;  // outside threads
constexpr std::uint32_t kHops = 12;

struct Token {
  std::uint32_t id;
  std::uint32_t hops_left;
  std::uint32_t from;  // sender index: a node, or kNodes + an injector
  std::uint64_t seq;   // per (sender, receiver) pair, from 1
};
struct Wire {
  std::vector<troupe::ref<Token>> nodes;
};

struct Shared {
  explicit Shared(std::size_t tokens) : arrived(tokens) {}
  std::vector<std::atomic<int>> arrived;  // per token: times it finished its hops
  std::atomic<std::uint64_t> finished{0};
  std::atomic<std::uint64_t> out_of_order{0};
};

// The routing and checking every node kind shares.
struct Router {
  Router(std::uint32_t me, std::shared_ptr<Shared> s)
      : index(me), shared(std::move(s)), last_from(kNodes + kInjectors, 0), seq_to(kNodes, 0) {}
  // Checks `t`; returns the node to forward it to and the token to send, or false when it
  // has finished its hops.
  bool route(const Token& t, std::size_t& next, Token& out) {
    if (t.seq <= last_from[t.from]) ++shared->out_of_order;
    last_from[t.from] = t.seq;
    if (t.hops_left == 0) {
      ++shared->arrived[t.id];
      ++shared->finished;
      return false;
    }
    // Mostly to the next node of the ring, sometimes back: cycles of every length.
    const std::uint64_t h = mix(t.id * 131u + t.hops_left);
    next = (h % 4 == 0) ? (index + kNodes - 1) % kNodes : (index + 1 + h % 2) % kNodes;
    out = Token{t.id, t.hops_left - 1, index, ++seq_to[next]};
    return true;
  }
  std::uint32_t index;
  std::shared_ptr<Shared> shared;
  std::vector<std::uint64_t> last_from;
  std::vector<std::uint64_t> seq_to;
  std::vector<troupe::ref<Token>> nodes;
};

struct EventNode : troupe::actor<EventNode, Token, Wire> {
  EventNode(std::uint32_t me, std::shared_ptr<Shared> s) : r(me, std::move(s)) {}
  void on(Wire w) { r.nodes = std::move(w.nodes); }
  void on(Token t) {
    std::size_t next = 0;
    Token out{};
    if (r.route(t, next, out)) r.nodes[next].send(out);
  }
  Router r;
};

struct CoroNode : troupe::coro_actor<CoroNode, Token, Wire> {
  CoroNode(std::uint32_t me, std::shared_ptr<Shared> s) : r(me, std::move(s)) {}
  task run() {
    for (;;) {
      auto m = co_await recv();
      if (auto* w = std::get_if<Wire>(&m)) {
        r.nodes = std::move(w->nodes);
        continue;
      }
      std::size_t next = 0;
      Token out{};
      if (r.route(std::get<Token>(m), next, out)) co_await send(r.nodes[next], out);
    }
  }
  Router r;
};

struct BlockingNode : troupe::blocking_actor<BlockingNode, Token, Wire> {
  BlockingNode(std::uint32_t me, std::shared_ptr<Shared> s) : r(me, std::move(s)) {}
  void run() {
    for (;;) {
      auto m = recv();
      if (auto* w = std::get_if<Wire>(&m)) {
        r.nodes = std::move(w->nodes);
        continue;
      }
      std::size_t next = 0;
      Token out{};
      if (r.route(std::get<Token>(m), next, out)) r.nodes[next].send(out);
    }
  }
  Router r;
};

// Node i: kind i % 3; bounded unless i % 4 == 3, with a capacity from 2 to 16.
std::vector<troupe::ref<Token, Wire>> spawn_graph(troupe::runtime& rt,
                                                  const std::shared_ptr<Shared>& shared,
                                                  std::uint64_t seed) {
  std::vector<troupe::ref<Token, Wire>> nodes;
  for (std::uint32_t i = 0; i < kNodes; ++i) {
    const bool bounded = i % 4 != 3;
    const troupe::bounded cap{2 + mix(seed + i) % 15};
    switch (i % 3) {
      case 0:
        nodes.push_back(bounded ? rt.spawn<EventNode>(cap, i, shared)
                                : rt.spawn<EventNode>(i, shared));
        break;
      case 1:
        nodes.push_back(bounded ? rt.spawn<CoroNode>(cap, i, shared)
                                : rt.spawn<CoroNode>(i, shared));
        break;
      default:
        nodes.push_back(bounded ? rt.spawn<BlockingNode>(cap, i, shared)
                                : rt.spawn<BlockingNode>(i, shared));
        break;
    }
  }
  std::vector<troupe::ref<Token>> wire(nodes.begin(), nodes.end());
  for (auto& n : nodes) n.send(Wire{wire});
  return nodes;
}

// Injector j sends its tokens to nodes in turn, blocking on full mailboxes.
void inject(const std::vector<troupe::ref<Token, Wire>>& nodes, std::uint32_t j,
            std::uint32_t tokens_each) {
  std::vector<std::uint64_t> seq(kNodes, 0);
  for (std::uint32_t k = 0; k < tokens_each; ++k) {
    const std::uint32_t id = j * tokens_each + k;
    const std::size_t to = mix(id) % kNodes;
    nodes[to].send(Token{id, kHops, static_cast<std::uint32_t>(kNodes + j), ++seq[to]});
  }
}

TEST(BoundedStress, TokensCirclingThroughBoundedAndUnboundedActorsArriveOnceAndInOrder) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr std::uint32_t tokens_each = 1'500;
  constexpr std::uint32_t tokens = tokens_each * kInjectors;
  for (int round = 0; round < 3; ++round) {
    troupe::runtime rt(with_workers(2 + round % 2));
    auto shared = std::make_shared<Shared>(tokens);
    auto nodes = spawn_graph(rt, shared, seed + round);
    returns_within(
        "the tokens to finish their hops",
        [&] {
          std::vector<std::thread> injectors;
          for (std::uint32_t j = 0; j < kInjectors; ++j) {
            injectors.emplace_back([&, j] { inject(nodes, j, tokens_each); });
          }
          for (auto& t : injectors) t.join();
          wait_until(
              "every token", [&] { return shared->finished.load() == tokens; }, 240s);
        },
        280s);
    for (auto& n : nodes) n.close();
    returns_within("shutdown", [&] { rt.shutdown(); });
    const auto s = rt.stats();
    EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
    EXPECT_EQ(s.dead_lettered, 0u);
    EXPECT_EQ(shared->out_of_order.load(), 0u) << "a sender's tokens arrived out of order";
    std::uint32_t wrong = 0;
    for (auto& a : shared->arrived) wrong += a.load() != 1;
    EXPECT_EQ(wrong, 0u) << "tokens that did not arrive exactly once";
    if (round == 0) {
      EXPECT_GT(s.muted, 0u) << "the bounded actors never filled: the test tests nothing";
    }
  }
}

TEST(BoundedStress, KillsWhileSendersAreMutedNeitherHangNorDuplicate) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE(seed_trace(seed));
  constexpr std::uint32_t tokens_each = 1'000;
  constexpr std::uint32_t tokens = tokens_each * kInjectors;
  for (int round = 0; round < 3; ++round) {
    troupe::runtime rt(with_workers(2));
    auto shared = std::make_shared<Shared>(tokens);
    auto nodes = spawn_graph(rt, shared, seed + 7 * round);
    returns_within(
        "injection and kills",
        [&] {
          std::vector<std::thread> threads;
          for (std::uint32_t j = 0; j < kInjectors; ++j) {
            threads.emplace_back([&, j] { inject(nodes, j, tokens_each); });
          }
          threads.emplace_back([&] {
            for (std::uint64_t k = 0; k < 3; ++k) {
              std::this_thread::sleep_for(std::chrono::microseconds(200 + mix(seed + k) % 2000));
              nodes[mix(seed + round + k) % kNodes].kill();
            }
          });
          for (auto& t : threads) t.join();
        },
        280s);
    for (auto& n : nodes) n.close();
    returns_within(
        "shutdown", [&] { rt.shutdown(); }, 280s);
    const auto s = rt.stats();
    EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
    std::uint32_t twice = 0;
    for (auto& a : shared->arrived) twice += a.load() > 1;
    EXPECT_EQ(twice, 0u);
    EXPECT_EQ(shared->out_of_order.load(), 0u);
  }
}

}  // namespace
