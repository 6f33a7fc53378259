// Waiting with a deadline in a coroutine actor: co_await recv_for() to act on silence, and
// co_await sleep_for() to pause between attempts, without holding a thread. (Blocking
// actors have the same two calls, without co_await.) Expected output: coro_timeouts.expected.
//
//   recv_for(timeout)   the next message, or std::nullopt once `timeout` passes without one
//   sleep_for(d)        pauses run(); messages that arrive meanwhile wait, in order
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <vector>

using namespace std::chrono_literals;

// Collects items and writes them out as one batch once no new item has come for 200 ms.
struct Batcher : troupe::coro_actor<Batcher, int> {
  task run() {
    std::vector<int> batch;
    try {
      for (;;) {
        std::optional<int> item = co_await recv_for(200ms);
        if (item) {
          batch.push_back(*item);
        } else if (!batch.empty()) {  // 200 ms of silence: flush
          flush(batch);
        }
      }
    } catch (const troupe::actor_exit&) {  // close(): flush what is left, then stop
      if (!batch.empty()) flush(batch);
    }
  }
  static void flush(std::vector<int>& batch) {
    std::string line = "batch:";
    for (int i : batch) line += " " + std::to_string(i);
    std::printf("%s\n", line.c_str());
    batch.clear();
  }
};

// Runs each job, retrying a failed attempt after a pause that doubles each time.
struct Job {
  std::string name;
  int failures;  // how many attempts fail before one succeeds
};
struct Retrier : troupe::coro_actor<Retrier, Job> {
  task run() {
    for (;;) {
      Job job = co_await recv();
      auto pause = 10ms;
      for (int attempt = 1;; ++attempt) {
        if (attempt > job.failures) {
          std::printf("%s: attempt %d succeeded\n", job.name.c_str(), attempt);
          break;
        }
        std::printf("%s: attempt %d failed, retrying in %lld ms\n", job.name.c_str(), attempt,
                    static_cast<long long>(pause.count()));
        co_await sleep_for(pause);  // the next job, if it comes now, waits in the mailbox
        pause *= 2;
      }
    }
  }
};

int main() {
  troupe::runtime rt;
  auto batcher = rt.spawn<Batcher>();
  for (int i = 1; i <= 3; ++i) batcher.send(i);
  std::this_thread::sleep_for(1s);  // silence: the batcher flushes 1 2 3
  batcher.send(4);
  batcher.send(5);
  batcher.close();  // 4 and 5 are flushed at the close
  batcher.join();

  auto retrier = rt.spawn<Retrier>();
  retrier.send(Job{"upload", 2});
  retrier.send(Job{"report", 0});  // queued behind the upload's pauses, in order
  // Let both jobs finish (30 ms of pauses; 1 s is a wide margin): a close, which shutdown()
  // sends, ends a pause in progress with actor_exit, as it ends a wait for a result.
  std::this_thread::sleep_for(1s);
  rt.shutdown();
}
