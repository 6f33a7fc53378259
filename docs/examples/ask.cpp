// Request/response between actors with troupe::ask: the reply to a message, as a
// troupe::result — awaited with get() outside the runtime, handed to a continuation in an
// event actor, co_awaited in a coroutine actor, or await()ed in a blocking actor. Never
// blocks a worker thread.
//
//   responder:   struct Squarer : troupe::actor<Squarer, troupe::request<int, long>> {
//                  void on(troupe::request<int, long> r) { r.reply(...); }
//                };
//   outside:     long v = troupe::ask(squarer, 7).get();
//   event actor: troupe::ask(squarer, 7, 1s).then(*this, [this](troupe::result<long> r) {...});
//   coroutine:   long v = co_await troupe::ask(squarer, 7, 1s);
//   blocking:    long v = await(troupe::ask(squarer, 7, 1s));
//
// Expected output: ask.expected.
#include <chrono>
#include <cstdio>
#include <future>
#include <stdexcept>
#include <troupe/troupe.hpp>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using square = troupe::request<int, long>;

// Answers each request with the square of its value, or fails it for a negative one.
struct Squarer : troupe::actor<Squarer, square> {
  void on(square r) {
    if (r.value() < 0) {
      r.fail(std::make_exception_ptr(std::domain_error("cannot square a negative number here")));
      return;
    }
    r.reply(long{r.value()} * r.value());
  }
};

// Keeps every request and never answers: its askers time out.
struct Sleepy : troupe::actor<Sleepy, square> {
  void on(square r) { kept_.push_back(std::move(r)); }
  void on_stop() { kept_.clear(); }  // dropped unanswered (their askers gave up already)
  std::vector<square> kept_;
};

// An event actor: asks for the squares of 1..n and adds them up in continuations, which run
// in this actor's turns like handlers, one at a time.
struct SumOfSquares : troupe::actor<SumOfSquares, int> {
  SumOfSquares(Squarer::handle sq, std::promise<long>* done) : sq_(std::move(sq)), done_(done) {}

  void on(int n) {
    pending_ = n;
    for (int i = 1; i <= n; ++i) {
      troupe::ask(sq_, i, 1s).then(*this, [this](troupe::result<long> r) {
        total_ += r.get();  // ready: get() does not block here
        if (--pending_ == 0) done_->set_value(total_);
      });
    }
  }

  Squarer::handle sq_;
  std::promise<long>* done_;
  int pending_ = 0;
  long total_ = 0;
};

// A coroutine actor: asks inline; co_await suspends the coroutine, not the worker. It does
// one job and returns from run(), which stops it: a close() sent right behind the job could
// arrive while it awaits a reply, and would end that await with troupe::actor_exit.
struct Pythagoras : troupe::coro_actor<Pythagoras, std::pair<int, int>> {
  explicit Pythagoras(Squarer::handle sq) : sq_(std::move(sq)) {}

  task run() {
    const auto [a, b] = co_await recv();
    const long a2 = co_await troupe::ask(sq_, a, 1s);
    const long b2 = co_await troupe::ask(sq_, b, 1s);
    std::printf("coroutine: %d^2 + %d^2 = %ld\n", a, b, a2 + b2);
  }

  Squarer::handle sq_;
};

// A blocking actor: await() parks the fiber, not the worker. One job, as above.
struct Hypotenuse : troupe::blocking_actor<Hypotenuse, std::pair<int, int>> {
  explicit Hypotenuse(Squarer::handle sq) : sq_(std::move(sq)) {}

  void run() {
    const auto [a, b] = recv();
    const long c2 = await(troupe::ask(sq_, a, 1s)) + await(troupe::ask(sq_, b, 1s));
    std::printf("blocking: %d^2 + %d^2 = %ld\n", a, b, c2);
  }

  Squarer::handle sq_;
};

int main() {
  troupe::runtime rt;
  auto sq = rt.spawn<Squarer>();

  // From outside the runtime, get() blocks until the reply is in.
  std::printf("outside: 7^2 = %ld\n", troupe::ask(sq, 7).get());

  // fail() reaches the asker as troupe::ask_failed, carrying the responder's exception.
  try {
    troupe::ask(sq, -1).get();
  } catch (const troupe::ask_failed& e) {
    std::printf("outside: ask(-1) failed: %s\n", e.cause_text().c_str());
  }

  // No reply in time: troupe::ask_timeout.
  auto sleepy = rt.spawn<Sleepy>();
  try {
    troupe::ask(sleepy, 3, 50ms).get();
  } catch (const troupe::ask_timeout& e) {
    std::printf("outside: %s\n", e.what());
  }

  // An event actor with continuations.
  std::promise<long> sum;
  auto summer = rt.spawn<SumOfSquares>(sq, &sum);
  summer.send(5);
  std::printf("event actor: 1^2 + ... + 5^2 = %ld\n", sum.get_future().get());

  // A coroutine actor with co_await.
  auto pythagoras = rt.spawn<Pythagoras>(sq);
  pythagoras.send(std::pair{3, 4});
  pythagoras.join();  // run() returns after its job

  // A blocking actor with await().
  auto hypotenuse = rt.spawn<Hypotenuse>(sq);
  hypotenuse.send(std::pair{5, 12});
  hypotenuse.join();

  rt.shutdown();
  // Replies delivered to actors count as messages too: sent == handled + dead-lettered.
  const troupe::runtime_stats s = rt.stats();
  std::printf("sent %llu, handled %llu, dead-lettered %llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered));
}
