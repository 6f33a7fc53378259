// The recipe's generator actor as a troupe coroutine actor: `msg = yield` becomes
// `co_await recv()`, GeneratorExit becomes troupe::actor_exit. Expected output:
// generator_actor.expected.
#include <cstdio>
#include <string>
#include <troupe/troupe.hpp>

struct PrintActor : troupe::coro_actor<PrintActor, std::string> {
  task run() {
    try {
      for (;;) {
        std::string msg = co_await recv();  // suspends (stackless) until a message arrives
        std::printf("Got: %s\n", msg.c_str());
      }
    } catch (const troupe::actor_exit&) {  // close() reached: everything before it was printed
      std::printf("Actor terminating\n");
    }
  }
};

int main() {
  troupe::runtime rt;
  auto p = rt.spawn<PrintActor>();  // run() starts right away, on a worker
  p.send(std::string("Hello"));
  p.send(std::string("World"));
  p.close();
  p.join();
}
