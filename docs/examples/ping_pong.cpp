// Two actors hit a ball back and forth N times; refs travel in messages. Each player holds a
// ref to the other, so each lets go of it in on_stop() — a cycle of refs would otherwise keep
// both actors' memory alive. Expected output: ping_pong.expected.
#include <cstdio>
#include <string>
#include <troupe/troupe.hpp>
#include <utility>

constexpr int kRally = 10'000;

struct Ball {
  int hits;
};
struct Meet;
using PlayerRef = troupe::ref<Meet, Ball>;
struct Meet {
  PlayerRef opponent;
};

class Player : public troupe::actor<Player, Meet, Ball> {
 public:
  Player(std::string name, int* hits_out) : name_(std::move(name)), hits_out_(hits_out) {}

  void on(Meet m) { opponent_ = std::move(m.opponent); }
  void on(Ball b) {
    ++returned_;
    if (b.hits == kRally) {
      std::printf("%s: rally over after %d hits\n", name_.c_str(), b.hits);
      opponent_.close();
      self().close();
    } else {
      opponent_.send(Ball{b.hits + 1});
    }
  }
  void on_stop() {
    *hits_out_ = returned_;  // read by main after join()
    opponent_ = {};          // break the ref cycle
  }

 private:
  std::string name_;
  int* hits_out_;
  PlayerRef opponent_;
  int returned_ = 0;
};

int main() {
  troupe::runtime rt;
  int ping_hits = 0;
  int pong_hits = 0;
  PlayerRef ping = rt.spawn<Player>("ping", &ping_hits);
  PlayerRef pong = rt.spawn<Player>("pong", &pong_hits);
  ping.send(Meet{pong});
  pong.send(Meet{ping});
  ping.send(Ball{0});
  ping.join();
  pong.join();
  std::printf("ping hit the ball %d times, pong %d times\n", ping_hits, pong_hits);
  rt.shutdown();
  const troupe::runtime_stats s = rt.stats();
  std::printf("messages: sent %llu, handled %llu, dead-lettered %llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered));
}
