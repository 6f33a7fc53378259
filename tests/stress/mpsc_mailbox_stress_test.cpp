// Concurrent stress test of the actor mailbox (include/troupe/detail/mpsc_mailbox.hpp) with
// the ownership protocol run for real, exactly as the runtime runs it:
//
//   * every producer pushes sequence-numbered messages (producer id, seq);
//   * whoever gets `true` from push() becomes the consumer (INV-MAILBOX-2): it drains with
//     pop() until nullptr, then calls try_mark_idle(); if that fails it still owns the
//     mailbox and keeps draining (a message arrived or a push is half done);
//   * nobody else ever calls pop() or try_mark_idle().
//
// With signallers (a second test): threads that post an item (a counter increment) and call
// signal(), as actor_base::post() does. A signal() that claims the idle mailbox makes the
// signaller the consumer; the consumer serves signals (clear_signal(), then take the
// items) whenever try_mark_idle() fails with signalled() set. Checked in addition: no item
// is left unserved at the end (INV-MAILBOX-6: a consumer never goes idle with a signal
// unseen, even while pushes overwrite the signalled head).
//
// Checked: every message consumed exactly once, per-producer FIFO (INV-MAILBOX-5), never two
// consumers at once (INV-MAILBOX-3), each node retired exactly once and only as the dummy
// its successor replaced (INV-MAILBOX-4: retired nodes are freed at once, so ASan catches a
// producer linking onto freed memory), and that the mailbox ends idle (INV-MAILBOX-2).
//
// The consumer-side bookkeeping (next expected seq per producer, the last node taken) is
// deliberately plain, non-atomic memory handed from one consumer to the next only by the
// mailbox's own release (try_mark_idle) / acquire (push) pair: under TSan a missing
// happens-before in that hand-off is reported as a data race.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "troupe/detail/mpsc_mailbox.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr std::uint32_t messages_per_producer = 100'000;
constexpr std::uint32_t signals_per_signaller = 50'000;
constexpr int rounds = 2;
#else
constexpr std::uint32_t messages_per_producer = 200'000;
constexpr std::uint32_t signals_per_signaller = 100'000;
constexpr int rounds = 4;
#endif

// Every random choice comes from one seed, printed on failure; TROUPE_TEST_SEED replays it.
std::uint32_t test_seed() {
  if (const char* env = std::getenv("TROUPE_TEST_SEED")) {
    return static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10));
  }
  return std::random_device{}();
}

struct msg : mailbox_node {
  std::uint32_t producer;
  std::uint32_t seq;
};

class harness {
 public:
  harness(int producers, std::uint32_t seed, int signallers = 0)
      : producers_(producers),
        signallers_(signallers),
        seed_(seed),
        next_seq_(static_cast<std::size_t>(producers), 0) {}

  void run() {
    std::vector<std::thread> threads;
    for (int p = 0; p < producers_; ++p) threads.emplace_back([this, p] { produce(p); });
    for (int s = 0; s < signallers_; ++s) threads.emplace_back([this, s] { signal_loop(s); });
    for (std::thread& t : threads) t.join();
  }

  // After run(): the checks that need the whole picture. Runs on the test thread, which
  // joined every producer (and so every consumer turn).
  void check_final_state() {
    for (int p = 0; p < producers_; ++p) {
      EXPECT_EQ(next_seq_[static_cast<std::size_t>(p)], messages_per_producer)
          << "producer " << p << ": messages lost (each one must be consumed exactly once)";
    }
    EXPECT_EQ(consumed_, static_cast<std::uint64_t>(producers_) * messages_per_producer);
    EXPECT_EQ(true_pushes_.load(), turns_) << "each true push or signal starts exactly one turn";
    EXPECT_EQ(pending_.load(), 0u) << "a signalled item was never served (INV-MAILBOX-6)";
    EXPECT_EQ(served_, std::uint64_t{signals_per_signaller} * static_cast<unsigned>(signallers_));
    EXPECT_GE(turns_, 1u);

    // Nothing is left, and the mailbox is idle: the next push is the idle→non-empty
    // transition and returns true (INV-MAILBOX-2). Had a consumer given up without marking
    // idle, or marked idle while a message was queued, this fails.
    EXPECT_EQ(mb_.pop().node, nullptr) << "a message is still queued";
    EXPECT_TRUE(mb_.is_stub(mb_.dummy())) << "an idle mailbox must rest on its stub";
    EXPECT_EQ(last_taken_, nullptr);
    // Already idle: giving up ownership again must fail (bit 0 already set).
    mailbox_node* retired = nullptr;
    EXPECT_FALSE(mb_.try_mark_idle(retired)) << "the mailbox was left owned but not idle";
    auto* probe = new msg{};
    probe->producer = static_cast<std::uint32_t>(producers_);
    probe->seq = 0;
    EXPECT_TRUE(mb_.push(probe)) << "the mailbox did not end idle";
    const mpsc_mailbox::taken t = mb_.pop();
    EXPECT_EQ(t.node, probe);
    EXPECT_EQ(t.retired, nullptr) << "the dummy before the probe was the stub";
    EXPECT_TRUE(mb_.try_mark_idle(retired));
    EXPECT_EQ(retired, probe);
    delete probe;
  }

  bool failed() const { return failed_.load(); }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(error_mutex_);
    return first_error_;
  }
  std::uint64_t turns() const { return turns_; }
  std::uint64_t failed_idle_marks() const { return failed_idle_marks_; }

 private:
  void fail(const std::string& what) {
    // Only on the failure path: this mutex adds no synchronisation to a passing run.
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!failed_.exchange(true)) first_error_ = what;
  }

  void produce(int p) {
    std::mt19937 rng(seed_ ^ (0x9e3779b9u * static_cast<std::uint32_t>(p + 1)));
    for (std::uint32_t seq = 0; seq < messages_per_producer; ++seq) {
      auto* m = new msg{};
      m->producer = static_cast<std::uint32_t>(p);
      m->seq = seq;
      jitter(rng);
      if (mb_.push(m)) {
        true_pushes_.fetch_add(1, std::memory_order_relaxed);
        consume(rng);
      }
      if (failed()) return;
    }
  }

  void signal_loop(int s) {
    std::mt19937 rng(seed_ ^ (0x85ebca6bu * static_cast<std::uint32_t>(s + 1)));
    for (std::uint32_t k = 0; k < signals_per_signaller; ++k) {
      jitter(rng);
      // relaxed: published by signal()'s release CAS, as actor_base::post's item is.
      pending_.fetch_add(1, std::memory_order_relaxed);
      if (mb_.signal()) {
        true_pushes_.fetch_add(1, std::memory_order_relaxed);
        consume(rng);
      }
      if (failed()) return;
    }
  }

  // The consumer's side of a signal, as actor_base::serve_side(): the bit, then the items.
  void serve_signals() {
    // relaxed: clear_signal()'s acquire made every item signalled so far visible.
    if (mb_.clear_signal()) served_ += pending_.exchange(0, std::memory_order_relaxed);
  }

  // One consumer turn, entered because our push() or signal() returned true.
  void consume(std::mt19937& rng) {
    enter();
    ++turns_;
    if (mb_.signalled()) serve_signals();
    for (;;) {
      // Drain in batches of random size, pausing between batches (the runtime's batch
      // budget: the actor stays owned while it is requeued).
      const unsigned budget = 1 + rng() % 64;
      unsigned handled = 0;
      while (handled < budget) {
        const mpsc_mailbox::taken t = mb_.pop();
        if (t.node == nullptr) break;
        take(t);
        ++handled;
        if (failed()) return;
      }
      if (handled == budget) {
        if (rng() % 4 == 0) std::this_thread::yield();
        continue;
      }
      // pop() returned nullptr. Sometimes linger (the worker finishing its turn), which
      // widens the window for a message to arrive before try_mark_idle().
      if (rng() % 4 == 0) {
        for (std::uint32_t i = rng() % 256; i > 0; --i) cpu_relax();
      }
      // Try to give up ownership. Clear our flag first: the moment try_mark_idle()
      // succeeds, another producer may become the consumer.
      leave();
      // The node try_mark_idle() retires is the last one taken (INV-MAILBOX-4). Clear
      // last_taken_ first: after a successful mark the next consumer reads it.
      mailbox_node* const expected_retired = std::exchange(last_taken_, nullptr);
      mailbox_node* retired = nullptr;
      if (mb_.try_mark_idle(retired)) {
        if (retired != expected_retired) {
          std::ostringstream os;
          os << "try_mark_idle retired " << retired << ", expected the last node taken "
             << expected_retired;
          fail(os.str());
        }
        delete static_cast<msg*>(retired);  // freed at once: ASan sees any later link onto it
        return;
      }
      last_taken_ = expected_retired;
      // A message arrived, a push is half done, or a signal came: we still own the mailbox.
      enter();
      if (mb_.signalled()) serve_signals();
      ++failed_idle_marks_;
      if (rng() % 2 == 0) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
      if (failed()) return;
    }
  }

  // The flag is relaxed on purpose: it must add no synchronisation of its own, so that
  // TSan judges the mailbox's hand-off between consumers alone.
  void enter() {
    // INV-MAILBOX-3: exactly one party owns consumption.
    if (consumer_active_.exchange(1, std::memory_order_relaxed) != 0) {
      fail("two consumers at once (INV-MAILBOX-3)");
    }
  }
  void leave() { consumer_active_.store(0, std::memory_order_relaxed); }

  void take(const mpsc_mailbox::taken& t) {
    auto* m = static_cast<msg*>(t.node);
    // INV-MAILBOX-4: the node retired is exactly the previous dummy (the node taken last,
    // or nothing while the stub is the dummy): each node is retired once, after its
    // successor is taken.
    if (t.retired != last_taken_) {
      std::ostringstream os;
      os << "pop retired " << t.retired << ", expected the previous dummy " << last_taken_;
      fail(os.str());
      return;
    }
    delete static_cast<msg*>(t.retired);  // freed at once: ASan sees any later link onto it
    last_taken_ = m;

    if (m->producer >= static_cast<std::uint32_t>(producers_)) {
      fail("garbage node taken");
      return;
    }
    // INV-MAILBOX-5: per producer, in push order; together with the final count this is
    // "every message consumed exactly once".
    std::uint32_t& expected = next_seq_[m->producer];
    if (m->seq != expected) {
      std::ostringstream os;
      os << "producer " << m->producer << ": took seq " << m->seq << ", expected " << expected
         << " (duplicate, loss or reordering)";
      fail(os.str());
    }
    expected = m->seq + 1;
    ++consumed_;
  }

  static void jitter(std::mt19937& rng) {
    const std::uint32_t r = rng();
    if (r % 64 == 0) {
      std::this_thread::yield();
    } else if (r % 8 == 0) {
      for (std::uint32_t i = (r >> 8) % 128; i > 0; --i) cpu_relax();
    }
  }

  const int producers_;
  const int signallers_;
  const std::uint32_t seed_;
  mpsc_mailbox mb_;

  // Consumer-only state, handed between consumers by the mailbox protocol (see top).
  std::vector<std::uint32_t> next_seq_;
  mailbox_node* last_taken_ = nullptr;
  std::uint64_t consumed_ = 0;
  std::uint64_t turns_ = 0;
  std::uint64_t failed_idle_marks_ = 0;
  std::uint64_t served_ = 0;               // signalled items the consumers took
  std::atomic<std::uint64_t> pending_{0};  // signalled items not yet taken

  std::atomic<int> consumer_active_{0};
  std::atomic<std::uint64_t> true_pushes_{0};
  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::string first_error_;
};

class MpscMailboxStress : public testing::TestWithParam<int> {};

TEST_P(MpscMailboxStress, EveryMessageIsConsumedOnceInProducerOrderByOneConsumerAtATime) {
  const int producers = GetParam();
  const std::uint32_t base_seed = test_seed();
  SCOPED_TRACE(testing::Message() << "seed=" << base_seed
                                  << " (replay: TROUPE_TEST_SEED=" << base_seed << ")");
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(testing::Message() << "round=" << round);
    auto h = std::make_unique<harness>(producers, base_seed + static_cast<std::uint32_t>(round));
    h->run();
    ASSERT_FALSE(h->failed()) << h->first_error();
    h->check_final_state();
    // How often ownership changed hands (idle→non-empty transitions) and how often a
    // consumer found a late message at try_mark_idle(); for the XML report.
    RecordProperty("turns_round_" + std::to_string(round), std::to_string(h->turns()));
    RecordProperty("failed_idle_marks_round_" + std::to_string(round),
                   std::to_string(h->failed_idle_marks()));
    if (HasFailure()) return;
  }
}

TEST(MpscMailboxSignalStress, SignalsRacingWithPushesAreNeverLeftUnserved) {
  const std::uint32_t base_seed = test_seed();
  SCOPED_TRACE(testing::Message() << "seed=" << base_seed
                                  << " (replay: TROUPE_TEST_SEED=" << base_seed << ")");
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(testing::Message() << "round=" << round);
    auto h = std::make_unique<harness>(2, base_seed + static_cast<std::uint32_t>(round), 2);
    h->run();
    ASSERT_FALSE(h->failed()) << h->first_error();
    h->check_final_state();
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Producers, MpscMailboxStress, testing::Values(2, 3, 8),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "Producers";
                         });

}  // namespace
}  // namespace troupe::detail
