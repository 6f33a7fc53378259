// The recipe's Worker + Result: a worker actor runs submitted functions and hands each one's
// outcome back through a result whose get() blocks the calling (non-worker) thread.
//
//   Python                                  troupe
//   worker = Worker(); worker.start()       auto worker = rt.spawn<troupe::task_worker>();
//   r = worker.submit(pow, 2, 3)            auto r = troupe::submit(worker, ipow, 2, 3);
//   print(r.result())                       r.get()
//
// Beyond the recipe: exceptions travel through the result, and a task sent to a worker that
// has stopped is never run — its result is a "broken promise" whose get() throws
// troupe::error instead of waiting forever. Expected output: worker_results.expected.
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <troupe/troupe.hpp>
#include <vector>

// std::pow is an overload set, which cannot be passed as one function: name one.
long ipow(long base, int exp) {
  long r = 1;
  while (exp-- > 0) r *= base;
  return r;
}

int main() {
  troupe::runtime rt;
  auto worker = rt.spawn<troupe::task_worker>();

  // The recipe: submit, then wait for the result.
  troupe::result<long> r = troupe::submit(worker, ipow, 2, 3);
  std::printf("pow(2, 3) = %ld\n", r.get());

  // Several tasks in flight at once; the worker runs them in the order they were submitted.
  std::vector<troupe::result<long>> powers;
  for (int e = 0; e <= 10; e += 2) powers.push_back(troupe::submit(worker, ipow, 2, e));
  for (std::size_t i = 0; i < powers.size(); ++i) {
    std::printf("2^%zu = %ld\n", 2 * i, powers[i].get());
  }

  // Any callable; arguments are copied into the task, like std::async.
  auto greeting = troupe::submit(
      worker, [](const std::string& name) { return "hello, " + name; }, "worker");
  std::printf("%s\n", greeting.get().c_str());

  // An exception thrown by the function is rethrown by get(); the worker keeps running.
  auto bad = troupe::submit(
      worker,
      [](double x) {
        if (x < 0) throw std::domain_error("square root of a negative number");
        return std::sqrt(x);
      },
      -1.0);
  try {
    std::printf("sqrt(-1) = %f\n", bad.get());
  } catch (const std::domain_error& e) {
    std::printf("sqrt(-1) threw: %s\n", e.what());
  }

  // A function returning void gives a result<void>: get() just waits (and rethrows).
  int side_effect = 0;
  troupe::submit(
      worker, [](int& out) { out = 99; }, std::ref(side_effect))
      .get();
  std::printf("void task done, side effect = %d\n", side_effect);

  // Close the worker; a task submitted afterwards becomes a dead letter and its result is a
  // broken promise: get() throws troupe::error rather than hanging.
  worker.close();
  worker.join();
  auto late = troupe::submit(worker, ipow, 2, 1);
  try {
    std::printf("late = %ld\n", late.get());
  } catch (const troupe::error& e) {
    std::printf("late submit: %s\n", e.what());
  }

  rt.shutdown();
  const troupe::runtime_stats s = rt.stats();
  std::printf("sent %llu, handled %llu, dead-lettered %llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered));
}
