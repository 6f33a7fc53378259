// Backpressure with a bounded mailbox: a blocking producer that sends 100,000 rows in one
// loop is paced by a slow writer whose mailbox holds at most 1,000 (its send parks while the
// writer is full), and an outside thread sheds load with try_send() instead of waiting.
// Expected output: backpressure.expected.
#include <atomic>
#include <cstdio>
#include <future>
#include <thread>
#include <troupe/troupe.hpp>

struct Row {
  long id;
};
struct Start {};

struct Writer : troupe::actor<Writer, Row> {
  static constexpr std::size_t mailbox_capacity = 1000;  // every Writer is bounded
  Writer(long expected, std::promise<void>* done) : expected_(expected), done_(done) {}
  void on(Row r) {
    if (r.id != next_++) ordered_ = false;
    if (auto q = self().queue_length(); q && *q > largest_) largest_ = *q;
    for (int k = 0; k < 100; ++k) work_ = work_ + k;  // the slow part
    if (next_ == expected_) {
      std::printf("writer: %ld rows, in order: %s\n", next_, ordered_ ? "yes" : "no");
      std::printf("writer: largest backlog within its capacity: %s\n",
                  largest_ <= mailbox_capacity + 1 ? "yes" : "no");
      done_->set_value();
    }
  }
  long expected_;
  std::promise<void>* done_;
  long next_ = 0;
  bool ordered_ = true;
  std::size_t largest_ = 0;
  volatile long work_ = 0;
};

struct Producer : troupe::blocking_actor<Producer, Start> {
  Producer(troupe::ref<Row> to, long n) : to_(std::move(to)), n_(n) {}
  void run() {
    (void)recv();
    for (long i = 0; i < n_; ++i) to_.send(Row{i});  // parks while the writer is full
  }
  troupe::ref<Row> to_;
  long n_;
};

struct Gate {
  std::atomic<bool> open{false};
  std::atomic<bool> entered{false};
};

// A writer that is stuck for a while, to show try_send() from outside.
struct Stuck : troupe::actor<Stuck, Row> {
  explicit Stuck(Gate* g) : gate_(g) {}
  void on(Row) {
    gate_->entered = true;
    while (!gate_->open) std::this_thread::yield();
  }
  Gate* gate_;
};

int main() {
  troupe::runtime rt;
  std::promise<void> done;
  auto writer = rt.spawn<Writer>(100'000, &done);
  auto producer = rt.spawn<Producer>(writer, 100'000);
  producer.send(Start{});
  done.get_future().wait();
  std::printf("producer was muted: %s\n", rt.stats().muted > 0 ? "yes" : "no");

  Gate gate;
  auto stuck = rt.spawn<Stuck>(troupe::bounded{2}, &gate);
  stuck.send(Row{0});
  while (!gate.entered) std::this_thread::yield();
  int accepted = 0;
  for (long i = 1; i <= 5; ++i) accepted += stuck.try_send(Row{i}) ? 1 : 0;
  std::printf("try_send to a stuck writer of capacity 2: %d of 5 accepted\n", accepted);
  gate.open = true;
  rt.shutdown();
  const auto s = rt.stats();
  std::printf("dead letters: %llu\n", static_cast<unsigned long long>(s.dead_lettered));
}
