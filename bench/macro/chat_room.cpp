// BM_ChatRoom — guards a chat server's shape: many small actors that are mostly idle, a few
// hub actors that fan each message out to a hundred of them, and a periodic timer that
// must keep its beat while the workers are saturated by that fan-out. What it exercises:
// waking a hundred idle actors per hub turn (the LIFO slot displacing into the deque,
// stealing between the workers), the hub's sends to many distinct mailboxes (no outbox
// chain applies), and a timer tick arriving from outside the pool through the injection
// queue while the local queues are full.
//
// Workload: `sessions` session actors (10,000 at scale 1; --scale=10 gives 100,000, the
// size of a real server) in `sessions / 100` rooms of 100, session i in room i % rooms.
// Setup (untimed): the benchmark thread spawns the rooms and the sessions, and joins each
// session to its room (a Join carrying the session's ref). Timed: the benchmark thread
// sends every session a Start; a session then publishes its 10 messages to its room in one
// loop of that handler; a room forwards each Post as a Deliver to every member (the sender
// included). A session that has received all it expects (members of its room × 10) tells
// the monitor. The monitor is a stats actor driven by send_every(10 ms): for each tick it
// records how long after the tick's due time its handler ran; when every session is done it
// cancels its timer and signals the benchmark thread. items = deliveries (10,000,000 at
// scale 1).
//
// Verified: every session received exactly its expected count of deliveries and their
// sequence numbers sum to the expected total (none lost or duplicated); after shutdown,
// stats show every message sent handled (joins, starts, posts, deliveries, done reports,
// ticks), sent == handled and no dead letters — every publish was delivered to a connected
// session before shutdown began. Reported: deliveries/s (items_per_second), `delivered`
// and `dead_letters` per iteration, and the lateness of the monitor's ticks over all
// iterations (`tick_p50_ms`, `tick_p99_ms`, `tick_max_ms`; targets as for BM_TimerLateness
// in the micro benchmarks: p99 ≤ 5 ms, max ≤ 20 ms).
//
// Lateness: the n-th tick handled is taken to be the tick due at start + n × 10 ms
// (send_every is fixed-rate). Should the timer thread itself fall more than a period
// behind, a tick is skipped (timer.hpp) and the later ticks' lateness is overstated, never
// understated.
//
// Baseline: BM_FanIn and BM_ThreadRing in the same binary (the same send and turn path,
// without the fan-out to idle actors).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench_options.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t kRoomSize = 100;
constexpr std::uint32_t kPostsPerSession = 10;
constexpr auto kTickPeriod = 10ms;

// Session messages.
struct Start {};
struct Deliver {
  std::uint32_t sender;  // session index
  std::uint32_t seq;     // 1..kPostsPerSession per sender
};
using session_ref = troupe::ref<Start, Deliver>;

// Room messages.
struct Join {
  session_ref member;
};
struct Post {
  std::uint32_t sender;
  std::uint32_t seq;
};
using room_ref = troupe::ref<Join, Post>;

// Monitor messages.
struct Tick {};
struct SessionDone {
  bool ok;  // count and sequence sum as expected
};

/// What the actors leave for the benchmark thread to read after shutdown.
struct report {
  std::vector<double> lateness_ms;  // the monitor's: one per tick handled
  std::uint64_t sessions_done = 0;  // the monitor's
  std::uint64_t sessions_wrong = 0;
  std::atomic<std::uint64_t> delivered{0};  // every session adds its count when it stops
};

struct Monitor : troupe::actor<Monitor, Tick, SessionDone> {
  Monitor(std::uint64_t sessions, report* out, bench::completion<bool>* done)
      : sessions_(sessions), out_(out), done_(done) {}

  void on_start() {
    start_ = clock_type::now();
    ticker_ = troupe::send_every(self(), kTickPeriod, Tick{});
  }

  void on(Tick) {
    ++ticks_;
    const auto due = start_ + ticks_ * kTickPeriod;
    out_->lateness_ms.push_back(
        std::chrono::duration<double, std::milli>(clock_type::now() - due).count());
  }

  void on(SessionDone d) {
    if (!d.ok) ++out_->sessions_wrong;
    if (++out_->sessions_done == sessions_) {
      ticker_.cancel();  // a tick already queued is still handled (and counted)
      done_->set(true);
    }
  }

  std::uint64_t sessions_;
  report* out_;
  bench::completion<bool>* done_;
  troupe::timer ticker_;
  clock_type::time_point start_;
  long ticks_ = 0;
};

struct Room : troupe::actor<Room, Join, Post> {
  void on(Join j) { members_.push_back(std::move(j.member)); }

  void on(Post p) {
    for (const session_ref& m : members_) m.send(Deliver{p.sender, p.seq});
  }

  // A room and its sessions hold each other's refs: let go, or the cycle keeps every
  // session's memory after shutdown (docs/guide.md, "Reference cycles between actors").
  void on_stop() { members_.clear(); }

  std::vector<session_ref> members_;
};

struct Session : troupe::actor<Session, Start, Deliver> {
  Session(std::uint32_t id, room_ref room, std::uint64_t room_members,
          troupe::ref<Tick, SessionDone> monitor, report* out)
      : id_(id),
        room_(std::move(room)),
        monitor_(std::move(monitor)),
        out_(out),
        expected_(room_members * kPostsPerSession) {}

  void on(Start) {
    for (std::uint32_t seq = 1; seq <= kPostsPerSession; ++seq) room_.send(Post{id_, seq});
  }

  void on(Deliver d) {
    seq_sum_ += d.seq;
    if (++received_ == expected_) {
      constexpr std::uint64_t per_sender = kPostsPerSession * (kPostsPerSession + 1) / 2;
      monitor_.send(SessionDone{seq_sum_ == expected_ / kPostsPerSession * per_sender});
    }
  }

  void on_stop() {
    // relaxed: read by the benchmark thread after shutdown(), which returns only after
    // every actor has stopped (the join orders this add before that read).
    out_->delivered.fetch_add(received_, std::memory_order_relaxed);
  }

  std::uint32_t id_;
  room_ref room_;
  troupe::ref<Tick, SessionDone> monitor_;
  report* out_;
  std::uint64_t expected_;
  std::uint64_t received_ = 0;
  std::uint64_t seq_sum_ = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

void BM_ChatRoom(benchmark::State& state) {
  const std::uint64_t sessions = bench::scaled(10'000);
  const std::uint64_t rooms = std::max<std::uint64_t>(1, sessions / kRoomSize);
  // Session i is in room i % rooms: the first sessions % rooms rooms have one more member.
  auto members_of = [&](std::uint64_t room) {
    return sessions / rooms + (room < sessions % rooms ? 1 : 0);
  };
  std::uint64_t deliveries = 0;
  for (std::uint64_t r = 0; r < rooms; ++r) {
    deliveries += members_of(r) * members_of(r) * kPostsPerSession;
  }
  const std::uint64_t posts = sessions * kPostsPerSession;

  std::vector<double> lateness_ms;
  std::uint64_t delivered = 0;
  std::uint64_t dead_letters = 0;
  for (auto _ : state) {
    troupe::runtime rt(bench::config());
    bench::completion<bool> done;
    report rep;
    rep.lateness_ms.reserve(4096);
    auto monitor = rt.spawn<Monitor>(sessions, &rep, &done);

    std::vector<room_ref> room_refs;
    room_refs.reserve(rooms);
    for (std::uint64_t r = 0; r < rooms; ++r) room_refs.push_back(rt.spawn<Room>());
    std::vector<session_ref> session_refs;
    session_refs.reserve(sessions);
    for (std::uint64_t i = 0; i < sessions; ++i) {
      const std::uint64_t r = i % rooms;
      session_refs.push_back(rt.spawn<Session>(static_cast<std::uint32_t>(i), room_refs[r],
                                               members_of(r), monitor, &rep));
      room_refs[r].send(Join{session_refs.back()});
    }
    // Each Join is in its room's mailbox before the Start below is sent, so before any
    // Post the Start causes: a room knows all its members before its first Post.

    const auto t0 = bench::steady::now();
    for (const session_ref& s : session_refs) s.send(Start{});
    done.wait("BM_ChatRoom");
    state.SetIterationTime(bench::seconds_since(t0));

    rt.shutdown();  // every actor has stopped: `rep` is ours to read
    const troupe::runtime_stats s = rt.stats();
    delivered = rep.delivered.load(std::memory_order_relaxed);  // relaxed: see on_stop()
    dead_letters = s.dead_lettered;
    lateness_ms.insert(lateness_ms.end(), rep.lateness_ms.begin(), rep.lateness_ms.end());
    const std::uint64_t ticks = rep.lateness_ms.size();
    if (!bench::check(state, rep.sessions_done == sessions && rep.sessions_wrong == 0,
                      "BM_ChatRoom: " + std::to_string(rep.sessions_done) + " of " +
                          std::to_string(sessions) + " sessions done, " +
                          std::to_string(rep.sessions_wrong) +
                          " with a wrong sum of sequence numbers") ||
        !bench::check(state, delivered == deliveries,
                      "BM_ChatRoom: delivered " + std::to_string(delivered) + ", expected " +
                          std::to_string(deliveries)) ||
        // joins, starts, posts, deliveries, done reports, ticks
        !bench::check_stats(state, s, 2 * sessions + posts + deliveries + sessions + ticks,
                            "BM_ChatRoom")) {
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * deliveries));
  state.counters["sessions"] = static_cast<double>(sessions);
  state.counters["rooms"] = static_cast<double>(rooms);
  state.counters["delivered"] = static_cast<double>(delivered);  // per iteration
  state.counters["dead_letters"] = static_cast<double>(dead_letters);
  state.counters["ticks"] = static_cast<double>(lateness_ms.size());
  state.counters["tick_p50_ms"] = percentile(lateness_ms, 0.50);
  state.counters["tick_p99_ms"] = percentile(lateness_ms, 0.99);
  state.counters["tick_max_ms"] =
      lateness_ms.empty() ? 0 : *std::max_element(lateness_ms.begin(), lateness_ms.end());
}

}  // namespace

BENCHMARK(BM_ChatRoom)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
