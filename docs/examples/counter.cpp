// The README example: a Counter actor that adds up what it is sent and prints the total when
// it stops. Expected output: counter.expected.
#include <cstdio>
#include <troupe/troupe.hpp>

struct Add {
  long n;
};

struct Counter : troupe::actor<Counter, Add> {
  long total = 0;
  void on(Add a) { total += a.n; }
  void on_stop() { std::printf("total = %ld\n", total); }  // runs once, after the last Add
};

int main() {
  troupe::runtime rt;            // one worker per hardware thread
  auto c = rt.spawn<Counter>();  // typed handle: only Add compiles
  for (long i = 1; i <= 100; ++i) c.send(Add{i});
  c.close();      // sentinel behind everything already sent
  c.join();       // returns once it has handled all of it and stopped
  rt.shutdown();  // closes every live actor, drains, joins the workers
  const troupe::runtime_stats s = rt.stats();
  std::printf("sent %llu, handled %llu, dead-lettered %llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered));
}
