// bench/micro/lockfree_bench.cpp — micro benchmarks of troupe's lock-free building blocks,
// each next to its baseline in the same binary and the same run, so that a regression shows
// as a ratio that moved, not as an absolute number that depends on the machine.
//
//   BM_Floor_AtomicExchange        the hardware floor every push pays (one locked RMW on one
//                                  core; design brief: about 2.3 ns on this machine class).
//   BM_MailboxPushPop              mpsc_mailbox push + pop on one thread.
//   BM_MailboxTurn                 one full idle→busy→idle cycle: push (returns true), pop,
//                                  empty pop, try_mark_idle — one message per actor turn.
//   BM_MoodycamelEnqueueDequeue    baseline for the two above: ConcurrentQueue<void*>
//   BM_MoodycamelEnqueueDequeueTokens  enqueue + try_dequeue on one thread, without and
//                                  with producer/consumer tokens.
//   BM_Mailbox2P1C                 2 producer threads + 1 consumer thread through one
//   BM_Moodycamel2P1C              mailbox, and the same through a ConcurrentQueue (tokens,
//                                  its fastest mode) as the baseline. items_per_second.
//   BM_WsDequePushTake/n           ws_deque owner push n then take n; n = 1 always takes
//                                  the last item (the CAS path), n = 64 the fence-only path.
//   BM_WsDequePushSteal/n          push n then steal n on the same thread (a thief's cost
//                                  without contention). Baseline: BM_Floor_AtomicExchange.
//   BM_PoolAllocateRelease         node_pool fast path (a 32-byte message node), against
//   BM_MallocFree                  its baseline malloc + free of 32 bytes (design brief:
//                                  about 10 ns).
//
// Every benchmark checks what it got back and fails with SkipWithError on a wrong result.
#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "lockfree/ws_deque.hpp"
#include "troupe/detail/mpsc_mailbox.hpp"
#include "troupe/detail/node_pool.hpp"

namespace troupe::detail {
namespace {

struct bench_node : mailbox_node {
  std::uint64_t value = 0;
};

// ---- floor ------------------------------------------------------------------------------

// Guards nothing in troupe: it is the yardstick. One uncontended exchange, the single
// atomic RMW that mpsc_mailbox::push() performs.
void BM_Floor_AtomicExchange(benchmark::State& state) {
  std::atomic<std::uintptr_t> word{0};
  std::uintptr_t v = 1;
  for (auto _ : state) {
    v = word.exchange(v + 1, std::memory_order_acq_rel);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Floor_AtomicExchange);

// ---- (a) one thread: mailbox vs ConcurrentQueue -----------------------------------------

// Guards the cost of a send's queue operation plus the consumer's take when the actor is
// already running (no scheduling): one exchange + one release store, one acquire load.
// Two nodes alternate, since a node is reusable only after the next pop retired it.
// Baseline: BM_MoodycamelEnqueueDequeue (same run); floor: BM_Floor_AtomicExchange.
// Design brief: a Vyukov MPSC push+pop on one thread is about 5 ns on this machine class.
void BM_MailboxPushPop(benchmark::State& state) {
  mpsc_mailbox mb;
  bench_node nodes[2];
  std::size_t i = 0;
  for (auto _ : state) {
    bench_node* n = &nodes[i & 1];
    n->value = i;
    mb.push(n);
    const mpsc_mailbox::taken t = mb.pop();
    if (t.node != n) {
      state.SkipWithError("pop did not return the node just pushed");
      break;
    }
    benchmark::DoNotOptimize(t.retired);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxPushPop);

// Guards the whole per-turn mailbox protocol for an actor that receives one message at a
// time (the common request/reply case): the push that makes it runnable, the pop, the pop
// that finds it empty and the CAS that marks it idle again. Baseline: BM_MailboxPushPop
// (the difference is the cost of the idle bookkeeping, about one more locked RMW).
void BM_MailboxTurn(benchmark::State& state) {
  mpsc_mailbox mb;
  bench_node nodes[2];
  std::size_t i = 0;
  for (auto _ : state) {
    bench_node* n = &nodes[i & 1];
    const bool became_runnable = mb.push(n);
    const mpsc_mailbox::taken t = mb.pop();
    const bool empty = mb.pop().node == nullptr;
    mailbox_node* retired = nullptr;  // n: the mailbox rests on its stub when idle
    if (!became_runnable || t.node != n || !empty || !mb.try_mark_idle(retired) || retired != n) {
      state.SkipWithError("mailbox turn protocol broken");
      break;
    }
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxTurn);

// Baseline for BM_MailboxPushPop: moodycamel's general-purpose MPMC queue, one enqueue and
// one try_dequeue of a pointer on one thread, implicit producer (a thread-local lookup per
// call), as a sender outside the pool would use it.
void BM_MoodycamelEnqueueDequeue(benchmark::State& state) {
  moodycamel::ConcurrentQueue<void*> q;
  bench_node node;
  void* out = nullptr;
  for (auto _ : state) {
    q.enqueue(&node);
    if (!q.try_dequeue(out) || out != &node) {
      state.SkipWithError("try_dequeue did not return the item just enqueued");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MoodycamelEnqueueDequeue);

// The same with explicit producer and consumer tokens (moodycamel's fastest mode).
void BM_MoodycamelEnqueueDequeueTokens(benchmark::State& state) {
  moodycamel::ConcurrentQueue<void*> q;
  moodycamel::ProducerToken ptok(q);
  moodycamel::ConsumerToken ctok(q);
  bench_node node;
  void* out = nullptr;
  for (auto _ : state) {
    q.enqueue(ptok, &node);
    if (!q.try_dequeue(ctok, out) || out != &node) {
      state.SkipWithError("try_dequeue did not return the item just enqueued");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MoodycamelEnqueueDequeueTokens);

// ---- (b) 2 producers + 1 consumer -------------------------------------------------------

constexpr std::size_t kPerProducer = 200'000;
constexpr int kProducers = 2;

// Guards the mailbox under producer contention: two threads exchange on the same head_
// cache line while a third pops. This is fan-in to one actor. Workload per iteration: a
// fresh mailbox, 2 × 200,000 preallocated nodes pushed by 2 new threads, popped by the
// benchmark thread; thread start-up (~0.1 ms) is inside the timing, under 2 % of it.
// items = messages. On a 2-core machine the three threads share two cores, exactly as
// they would in the runtime. Baseline: BM_Moodycamel2P1C (same run).
void BM_Mailbox2P1C(benchmark::State& state) {
  std::vector<std::unique_ptr<bench_node[]>> nodes;
  for (int p = 0; p < kProducers; ++p) {
    nodes.push_back(std::make_unique<bench_node[]>(kPerProducer));
  }
  for (auto _ : state) {
    // A fresh mailbox each iteration: every node of the previous one is free again,
    // including its last dummy.
    auto mb = std::make_unique<mpsc_mailbox>();
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&mb, arr = nodes[static_cast<std::size_t>(p)].get(), p] {
        for (std::size_t i = 0; i < kPerProducer; ++i) {
          arr[i].value = (static_cast<std::uint64_t>(p) << 32) | i;
          mb->push(&arr[i]);
        }
      });
    }
    std::uint64_t next[kProducers] = {};
    std::size_t received = 0;
    bool ok = true;
    while (received < kProducers * kPerProducer) {
      const mpsc_mailbox::taken t = mb->pop();
      if (t.node == nullptr) continue;  // empty or a push half done: poll again
      const std::uint64_t v = static_cast<bench_node*>(t.node)->value;
      const auto p = static_cast<std::size_t>(v >> 32);
      ok = ok && p < kProducers && (v & 0xffffffffu) == next[p]++;  // per-producer FIFO
      ++received;
    }
    for (std::thread& t : producers) t.join();
    if (!ok) {
      state.SkipWithError("messages lost or out of order");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kProducers * kPerProducer);
}
BENCHMARK(BM_Mailbox2P1C)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline for BM_Mailbox2P1C: the same traffic through moodycamel::ConcurrentQueue<void*>
// with a producer token per producer and a consumer token (each producer then has its own
// sub-queue: no contention between producers, which the mailbox cannot avoid). The queue is
// created with room for everything outside the timing, so neither side allocates.
void BM_Moodycamel2P1C(benchmark::State& state) {
  std::vector<std::unique_ptr<bench_node[]>> nodes;
  for (int p = 0; p < kProducers; ++p) {
    nodes.push_back(std::make_unique<bench_node[]>(kPerProducer));
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto q = std::make_unique<moodycamel::ConcurrentQueue<void*>>(
        kProducers * kPerProducer +
        2 * kProducers * moodycamel::ConcurrentQueue<void*>::BLOCK_SIZE);
    state.ResumeTiming();
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&q, arr = nodes[static_cast<std::size_t>(p)].get(), p] {
        moodycamel::ProducerToken tok(*q);
        for (std::size_t i = 0; i < kPerProducer; ++i) {
          arr[i].value = (static_cast<std::uint64_t>(p) << 32) | i;
          q->enqueue(tok, &arr[i]);
        }
      });
    }
    moodycamel::ConsumerToken ctok(*q);
    std::uint64_t next[kProducers] = {};
    std::size_t received = 0;
    bool ok = true;
    void* out = nullptr;
    while (received < kProducers * kPerProducer) {
      if (!q->try_dequeue(ctok, out)) continue;
      const std::uint64_t v = static_cast<bench_node*>(out)->value;
      const auto p = static_cast<std::size_t>(v >> 32);
      ok = ok && p < kProducers && (v & 0xffffffffu) == next[p]++;
      ++received;
    }
    for (std::thread& t : producers) t.join();
    if (!ok) {
      state.SkipWithError("items lost or out of order");
      break;
    }
    state.PauseTiming();
    q.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kProducers * kPerProducer);
}
BENCHMARK(BM_Moodycamel2P1C)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- (c) work-stealing deque ------------------------------------------------------------

// Guards the owner's fast path: push = two loads + two stores (no RMW), take = one
// seq_cst store (an xchg on x86) + one seq_cst load, plus a CAS when it takes the last
// item. Arg = items pushed before taking them all: 1 exercises the last-item CAS every
// time (a worker running one actor after another), 64 the common non-last path.
// Baseline: BM_Floor_AtomicExchange (push+take costs about one locked RMW per item, two
// with the last-item CAS). items = push+take pairs.
void BM_WsDequePushTake(benchmark::State& state) {
  const auto batch = static_cast<std::uintptr_t>(state.range(0));
  ws_deque<std::uintptr_t> d(256);
  for (auto _ : state) {
    for (std::uintptr_t i = 0; i < batch; ++i) d.push(i + 1);
    for (std::uintptr_t i = batch; i > 0; --i) {
      std::uintptr_t x = 0;
      if (!d.take(x) || x != i) {
        state.SkipWithError("take returned the wrong item");
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_WsDequePushTake)->Arg(1)->Arg(64);

// Guards a thief's cost without contention: steal = two seq_cst loads + a seq_cst CAS on
// top_. Arg as above (batch pushed, then stolen oldest first). Baseline:
// BM_Floor_AtomicExchange (about one locked RMW per item). items = push+steal pairs.
void BM_WsDequePushSteal(benchmark::State& state) {
  const auto batch = static_cast<std::uintptr_t>(state.range(0));
  ws_deque<std::uintptr_t> d(256);
  for (auto _ : state) {
    for (std::uintptr_t i = 0; i < batch; ++i) d.push(i + 1);
    for (std::uintptr_t i = 1; i <= batch; ++i) {
      std::uintptr_t x = 0;
      if (!d.steal(x) || x != i) {
        state.SkipWithError("steal returned the wrong item");
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_WsDequePushSteal)->Arg(1)->Arg(64);

// ---- node pool --------------------------------------------------------------------------

// Guards the pool's fast path (the allocation every send makes): a thread-local list pop
// and push, no atomics. 32 bytes = a mailbox link plus a small message. Baseline:
// BM_MallocFree (same run; design brief: a 32-byte malloc+free is about 10 ns).
void BM_PoolAllocateRelease(benchmark::State& state) {
  pool_release(pool_allocate(32), 32);  // arm this thread's cache outside the timing
  for (auto _ : state) {
    void* p = pool_allocate(32);
    benchmark::DoNotOptimize(p);
    pool_release(p, 32);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PoolAllocateRelease);

void BM_MallocFree(benchmark::State& state) {
  for (auto _ : state) {
    void* p = std::malloc(32);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree);

}  // namespace
}  // namespace troupe::detail
