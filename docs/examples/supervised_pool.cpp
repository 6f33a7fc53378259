// A pool of workers under a supervisor, answering asks while workers crash: each crash is
// restarted in place (the pool keeps the same refs), the request that crashed a worker is
// answered with troupe::ask_dropped, every other request with its result. Nothing is lost:
// every ask ends one way or the other.
//
// Expected output: supervised_pool.expected.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <troupe/troupe.hpp>
#include <vector>

using namespace std::chrono_literals;
using square = troupe::request<int, long>;

std::atomic<int> starts{0};

// Squares numbers; crashes on some of them (a bug that depends on its input, as real ones do).
struct Worker : troupe::actor<Worker, square> {
  void on_start() { starts.fetch_add(1); }
  void on(square r) {
    std::uint32_t h = static_cast<std::uint32_t>(r.value()) * 2654435761u;
    if (h % 10 == 0) throw std::runtime_error("corrupt input " + std::to_string(r.value()));
    ++handled_;
    r.reply(long{r.value()} * r.value());
  }
  int handled_ = 0;  // this incarnation's count: fresh after a restart
};

int main() {
  troupe::runtime_config cfg;
  cfg.on_failure = [](const troupe::failure&) {};  // counted below instead of logged
  troupe::runtime rt(cfg);
  auto sup = rt.spawn<troupe::supervisor>(troupe::supervisor_options{
      .strategy = troupe::restart_strategy::one_for_one, .max_restarts = 1000, .within = 1s});
  std::vector<Worker::handle> pool;
  for (int i = 0; i < 4; ++i) pool.push_back(troupe::start_child<Worker>(sup, {}));

  std::vector<troupe::result<long>> replies;
  for (int v = 0; v < 1000; ++v) replies.push_back(troupe::ask(pool[v % 4], v, 10s));
  int answered = 0, dropped = 0, other = 0;
  long sum = 0;
  for (auto& r : replies) {
    try {
      sum += r.get();
      ++answered;
    } catch (const troupe::ask_dropped&) {
      ++dropped;  // the worker crashed on this request
    } catch (const troupe::ask_error&) {
      ++other;
    }
  }
  std::printf("1000 requests: %d answered, %d dropped by a crash, %d other errors\n", answered,
              dropped, other);
  std::printf("sum of the answers: %ld\n", sum);
  // One more (good) request per worker: answered after any restart still under way.
  for (auto& w : pool) (void)troupe::ask(w, 1, 10s).get();
  std::printf("restarts: %d\n", starts.load() - 4);
  bool all_alive = true;
  for (auto& w : pool) all_alive = all_alive && !w.stopped();
  std::printf("the pool's refs still reach live workers: %s\n", all_alive ? "yes" : "no");
  rt.shutdown();
}
