// Uses troupe through its installed package only: spawn an actor, send to it, close it,
// join it, and check what it computed and what the runtime counted. Exit status 0 = pass.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <troupe/troupe.hpp>

namespace {

struct Add {
  long n;
};

struct Summer : troupe::actor<Summer, Add> {
  explicit Summer(std::atomic<long>* result) : result_(result) {}
  void on(Add a) { total_ += a.n; }
  void on_stop() { result_->store(total_); }

 private:
  long total_ = 0;
  std::atomic<long>* result_;
};

}  // namespace

int main() {
  constexpr long kMessages = 1000;
  constexpr long kExpected = kMessages * (kMessages + 1) / 2;
  std::atomic<long> result{-1};

  troupe::runtime_config config;
  config.workers = 2;
  troupe::runtime rt(config);
  troupe::ref<Add> summer = rt.spawn<Summer>(&result);
  for (long i = 1; i <= kMessages; ++i) summer.send(Add{i});
  summer.close();
  summer.join();
  rt.shutdown();

  const troupe::runtime_stats stats = rt.stats();
  int failures = 0;
  if (result.load() != kExpected) {
    std::fprintf(stderr, "wrong sum: got %ld, want %ld\n", result.load(), kExpected);
    ++failures;
  }
  if (!summer.stopped()) {
    std::fprintf(stderr, "actor not stopped after join()\n");
    ++failures;
  }
  if (stats.sent != static_cast<std::uint64_t>(kMessages) || stats.handled != stats.sent ||
      stats.dead_lettered != 0) {
    std::fprintf(stderr, "wrong stats: sent %llu handled %llu dead-lettered %llu\n",
                 static_cast<unsigned long long>(stats.sent),
                 static_cast<unsigned long long>(stats.handled),
                 static_cast<unsigned long long>(stats.dead_lettered));
    ++failures;
  }
  if (failures != 0) return 1;
  std::printf("install consumer: sum %ld, %llu messages handled\n", result.load(),
              static_cast<unsigned long long>(stats.handled));
  return 0;
}
