// Stress: many asks in flight at once, from outside threads (get()), event actors
// (then() continuations) and coroutine actors (co_await), to responders that reply, fail,
// drop, or hold a request and answer it later — with timeouts short enough to race with the
// replies, and some askers closed while their asks are in flight. Checks:
//   * every ask completes exactly once: each ask id is seen at most once, and the ids seen
//     plus the continuations dead-lettered (askers that stopped first) equal the asks made;
//   * a value is always the right one; fail() arrives as its exception; a held request
//     answered late is discarded (the timeout won) — never two outcomes, never a hang;
//   * accounting after shutdown: stats().sent == handled + dead_lettered.
//
// Every random choice derives from one seed, printed on failure (SCOPED_TRACE) and settable
// with TROUPE_TEST_SEED=<n>. Scaled down under TSan and ASan.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <utility>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using troupe::test::base_seed;

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__)
constexpr int kScale = 4;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 4;
#else
constexpr int kScale = 32;
#endif
constexpr int kOutsideThreads = 2;
constexpr int kOutsideAsks = 500 * kScale;  // per thread
constexpr int kEventAskers = 8;
constexpr int kEventAsks = 200 * kScale;  // per event asker
constexpr int kCoroAskers = 4;
constexpr int kCoroAsks = 100 * kScale;  // per coroutine asker
constexpr int kResponders = 3;
constexpr int kTotal =
    kOutsideThreads * kOutsideAsks + kEventAskers * kEventAsks + kCoroAskers * kCoroAsks;

// A request carries its ask id; what the responder does with it follows from the id.
struct Job {
  int id;
};
using job_request = troupe::request<Job, long>;

enum class behaviour { reply, fail, drop, hold };
behaviour behaviour_of(int id) {
  switch (id % 7) {
    case 1:
      return behaviour::fail;
    case 2:
      return behaviour::drop;
    case 3:
    case 4:
      return behaviour::hold;
    default:
      return behaviour::reply;
  }
}
long expected(int id) { return long{id} * 3 + 1; }

struct job_failed : std::runtime_error {
  job_failed() : std::runtime_error("job failed") {}
};

bool is_job_failed(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const job_failed&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Replies, fails or drops at once; a held request is answered at the next request (so it
// may be late), or dropped at stop.
struct Responder : troupe::actor<Responder, job_request> {
  void on(job_request r) {
    for (auto& h : held_) h.reply(expected(h.value().id));
    held_.clear();
    switch (behaviour_of(r.value().id)) {
      case behaviour::reply:
        r.reply(expected(r.value().id));
        break;
      case behaviour::fail:
        r.fail(std::make_exception_ptr(job_failed()));
        break;
      case behaviour::drop:
        break;
      case behaviour::hold:
        held_.push_back(std::move(r));
        break;
    }
  }
  void on_stop() { held_.clear(); }
  std::vector<job_request> held_;
};
using responder_ref = troupe::ref<job_request>;

struct Tally {
  std::vector<std::atomic<int>> seen = std::vector<std::atomic<int>>(kTotal);
  std::atomic<int> values{0}, failures{0}, broken{0}, timeouts{0}, wrong{0};
  std::atomic<int> dead_results{0};  // continuations to stopped askers (on_dead_letter)

  // What one ask ended with; `r` is ready (a continuation's, or outside the pool).
  void record(int id, troupe::result<long>& r) {
    long v = 0;
    try {
      v = r.get();
    } catch (...) {
      record_error(id, std::current_exception());
      return;
    }
    record_value(id, v);
  }
  void record_value(int id, long v) {
    seen[static_cast<std::size_t>(id)].fetch_add(1, std::memory_order_relaxed);
    values.fetch_add(1, std::memory_order_relaxed);
    if (v != expected(id)) wrong.fetch_add(1, std::memory_order_relaxed);
  }
  void record_error(int id, std::exception_ptr e) {
    seen[static_cast<std::size_t>(id)].fetch_add(1, std::memory_order_relaxed);
    try {
      std::rethrow_exception(e);
    } catch (const troupe::ask_failed& f) {
      failures.fetch_add(1, std::memory_order_relaxed);
      if (behaviour_of(id) != behaviour::fail || !is_job_failed(f.cause())) {
        wrong.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (const troupe::ask_timeout&) {
      timeouts.fetch_add(1, std::memory_order_relaxed);
    } catch (const troupe::ask_error&) {
      broken.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

// A timeout for ask `id`: none for requests answered at once (they always complete), short
// for the others, racing with their late answer.
std::chrono::microseconds timeout_for(int id, std::mt19937_64& rng) {
  if (behaviour_of(id) == behaviour::hold || rng() % 4 == 0) {
    return std::chrono::microseconds(rng() % 300);
  }
  return std::chrono::microseconds::max();  // no timeout
}

troupe::result<long> ask_job(const responder_ref& to, int id, std::chrono::microseconds t) {
  if (t == std::chrono::microseconds::max()) return troupe::ask(to, Job{id});
  return troupe::ask(to, Job{id}, t);
}

struct Burst {
  int first_id;
  int count;
  std::uint64_t seed;
};

struct EventAsker : troupe::actor<EventAsker, Burst> {
  EventAsker(std::vector<responder_ref> to, Tally* tally) : to_(std::move(to)), tally_(tally) {}
  void on(Burst b) {
    std::mt19937_64 rng(b.seed);
    for (int id = b.first_id; id < b.first_id + b.count; ++id) {
      const auto t = timeout_for(id, rng);
      ask_job(to_[rng() % to_.size()], id, t).then(*this, [this, id](troupe::result<long> r) {
        tally_->record(id, r);
      });
    }
  }
  std::vector<responder_ref> to_;
  Tally* tally_;
};

struct CoroAsker : troupe::coro_actor<CoroAsker, Burst> {
  CoroAsker(std::vector<responder_ref> to, Tally* tally, std::atomic<int>* answered)
      : to_(std::move(to)), tally_(tally), answered_(answered) {}
  task run() {
    for (;;) {
      const Burst b = co_await recv();
      std::mt19937_64 rng(b.seed);
      for (int id = b.first_id; id < b.first_id + b.count; ++id) {
        const auto t = timeout_for(id, rng);
        std::exception_ptr error;
        long v = 0;
        try {
          v = co_await ask_job(to_[rng() % to_.size()], id, t);
        } catch (...) {
          error = std::current_exception();
        }
        if (error) {
          tally_->record_error(id, error);
        } else {
          tally_->record_value(id, v);
        }
        answered_->fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  std::vector<responder_ref> to_;
  Tally* tally_;
  std::atomic<int>* answered_;
};

TEST(AskStress, EveryAskCompletesExactlyOnceWhateverWinsTheRace) {
  const std::uint64_t seed = base_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed) +
               " (rerun with TROUPE_TEST_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  Tally tally;
  troupe::runtime_config cfg = troupe::test::with_workers(2);
  cfg.on_dead_letter = [&tally](const troupe::dead_letter& d) {
    if (d.message_type == typeid(troupe::result<long>)) tally.dead_results.fetch_add(1);
  };
  troupe::runtime rt(cfg);

  std::vector<responder_ref> responders;
  for (int i = 0; i < kResponders; ++i) responders.push_back(rt.spawn<Responder>());

  int next_id = 0;
  std::vector<EventAsker::handle> event_askers;
  for (int i = 0; i < kEventAskers; ++i) {
    event_askers.push_back(rt.spawn<EventAsker>(responders, &tally));
  }
  std::vector<CoroAsker::handle> coro_askers;
  std::atomic<int> coro_answered{0};
  for (int i = 0; i < kCoroAskers; ++i) {
    coro_askers.push_back(rt.spawn<CoroAsker>(responders, &tally, &coro_answered));
  }
  // Bursts of 1..50 asks each; every event asker's last message is its close, sent right
  // behind its bursts for half of them (closed with continuations still pending).
  for (auto& a : event_askers) {
    for (int left = kEventAsks; left > 0;) {
      const int n = std::min(left, 1 + static_cast<int>(rng() % 50));
      a.send(Burst{next_id, n, rng()});
      next_id += n;
      left -= n;
    }
  }
  for (auto& a : coro_askers) {
    for (int left = kCoroAsks; left > 0;) {
      const int n = std::min(left, 1 + static_cast<int>(rng() % 50));
      a.send(Burst{next_id, n, rng()});
      next_id += n;
      left -= n;
    }
  }
  for (std::size_t i = 0; i < event_askers.size(); i += 2) event_askers[i].close();

  std::vector<std::thread> outside;
  for (int t = 0; t < kOutsideThreads; ++t) {
    const int first = next_id + t * kOutsideAsks;
    const std::uint64_t s = rng();
    outside.emplace_back([&, first, s] {
      std::mt19937_64 r(s);
      std::vector<std::pair<int, troupe::result<long>>> in_flight;
      for (int id = first; id < first + kOutsideAsks; ++id) {
        // Outside, no timeout on a held request could wait for a request that never comes.
        const auto t = behaviour_of(id) == behaviour::hold ? std::chrono::microseconds(r() % 300)
                                                           : timeout_for(id, r);
        in_flight.emplace_back(id, ask_job(responders[r() % responders.size()], id, t));
        if (in_flight.size() == 32 || id + 1 == first + kOutsideAsks) {
          for (auto& [i, res] : in_flight) tally.record(i, res);
          in_flight.clear();
        }
      }
    });
  }
  for (auto& t : outside) t.join();
  next_id += kOutsideThreads * kOutsideAsks;
  ASSERT_EQ(next_id, kTotal);

  // A coroutine asker stops making asks when a close ends its co_await (then the rest of
  // its bursts are never asked), so shutdown waits until each has asked everything. Every
  // coroutine ask completes soon: held requests always have a timeout.
  troupe::test::wait_until("the coroutine askers' asks to complete", [&] {
    // relaxed: a progress count only; the tally is read after shutdown, which orders it.
    return coro_answered.load(std::memory_order_relaxed) == kCoroAskers * kCoroAsks;
  });
  // Everything settles by shutdown: held requests are answered or dropped at the latest
  // when their responder stops, and a continuation to a stopped asker is a dead letter.
  troupe::test::shutdown_and_expect_accounting(rt);

  int seen_once = 0, seen_more = 0;
  for (auto& s : tally.seen) {
    const int n = s.load();
    seen_once += n == 1 ? 1 : 0;
    seen_more += n > 1 ? 1 : 0;
  }
  EXPECT_EQ(seen_more, 0) << "an ask completed twice";
  EXPECT_EQ(seen_once + tally.dead_results.load(), kTotal) << "an ask never completed";
  EXPECT_EQ(tally.wrong.load(), 0);
  EXPECT_EQ(tally.values + tally.failures + tally.broken + tally.timeouts, seen_once);
  // Each kind of outcome happened (the mix makes that near certain for any seed).
  EXPECT_GT(tally.values.load(), 0);
  EXPECT_GT(tally.failures.load(), 0);
  EXPECT_GT(tally.broken.load(), 0);
  EXPECT_GT(tally.timeouts.load(), 0);
  std::printf("asks %d: values %d, failures %d, broken %d, timeouts %d, dead continuations %d\n",
              kTotal, tally.values.load(), tally.failures.load(), tally.broken.load(),
              tally.timeouts.load(), tally.dead_results.load());
}

}  // namespace
