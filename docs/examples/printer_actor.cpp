// The recipe's first actor — a class with run() looping on recv() — as a troupe blocking
// actor. run() is plain blocking code on its own fiber; recv() on an empty mailbox parks
// the fiber, not a thread. close() posts the sentinel: recv() throws troupe::actor_exit
// (the recipe's ActorExit), which ends run() normally. Expected output: printer_actor.expected.
#include <cstdio>
#include <string>
#include <troupe/troupe.hpp>

struct PrintActor : troupe::blocking_actor<PrintActor, std::string> {
  void run() {
    for (;;) {
      std::string msg = recv();  // suspends this actor's fiber until a message arrives
      std::printf("Got: %s\n", msg.c_str());
    }
  }
  void on_stop() { std::printf("Actor terminating\n"); }
};

// A blocking actor with two message types, a selective receive and a timeout.
struct Greeting {
  std::string who;
};
struct Flush {};

struct Batcher : troupe::blocking_actor<Batcher, Greeting, Flush> {
  void run() {
    recv<Flush>();  // wait for the first Flush; greetings sent before it stay queued, in order
    using namespace std::chrono_literals;
    while (auto m = recv_for(50ms)) {  // everything queued, then quiet for 50 ms: done
      if (auto* g = std::get_if<Greeting>(&*m)) std::printf("Hello, %s\n", g->who.c_str());
    }
    std::printf("Quiet for 50 ms; batcher done\n");
  }  // returning from run() stops the actor
};

int main() {
  troupe::runtime rt;
  auto p = rt.spawn<PrintActor>();  // run() starts right away, on a worker
  p.send(std::string("Hello"));
  p.send(std::string("World"));
  p.close();
  p.join();

  auto b = rt.spawn<Batcher>();
  b.send(Greeting{"Ada"});
  b.send(Greeting{"Grace"});
  b.send(Flush{});
  b.join();
}
