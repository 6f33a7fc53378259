// A server's sessions with idle timeouts, a periodic stats tick, and a shutdown that loses
// nothing: the timer, start-up and shutdown patterns of docs/guide.md in one program.
//
//   on_start()            a session arms its idle timeout when it starts, before any message
//   send_after/cancel()   each activity cancels the pending timeout and arms a new one
//   send_every()          the server counts its sessions every 20 ms (fixed rate)
//   close() from inside   a session that timed out tells the server and closes itself
//   rt.shutdown()         drains first: activity still in flight is handled, not dropped
//
// Expected output: session_timeout.expected.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <vector>

using namespace std::chrono_literals;

struct Activity {};
struct IdleTimeout {
  unsigned generation;  // which arming of the timeout this is (a stale one is ignored)
};
struct Ended {
  std::string name;
};
struct Tick {};

// What each actor reports when it stops; main prints it after shutdown (actors stop on
// different workers, in no fixed order).
struct Report {
  int activities = -1;
  std::vector<std::string> timed_out;
  int still_open = -1;
  bool ticked = false;
};

// Counts the sessions still open, ticks every 20 ms, and records who timed out.
struct Server : troupe::actor<Server, Ended, Tick> {
  Server(int sessions, Report* report) : open_(sessions), report_(report) {}
  void on_start() { ticker_ = troupe::send_every(self(), 20ms, Tick{}); }
  void on(Ended e) {
    --open_;
    report_->timed_out.push_back(e.name);
  }
  void on(Tick) { ++ticks_; }
  void on_stop() {
    ticker_.cancel();  // no Tick is sent after this returns
    report_->still_open = open_;
    report_->ticked = ticks_ >= 2;
  }
  int open_;
  int ticks_ = 0;
  Report* report_;
  troupe::timer ticker_;
};

// Times out after `idle` without activity.
struct Session : troupe::actor<Session, Activity, IdleTimeout> {
  Session(std::string name, std::chrono::milliseconds idle, troupe::ref<Ended, Tick> server,
          Report* report)
      : name_(std::move(name)), idle_(idle), server_(std::move(server)), report_(report) {}
  void on_start() { arm(); }  // self() works here, unlike in the constructor
  void on(Activity) {
    ++activities_;
    arm();
  }
  void on(IdleTimeout t) {
    if (t.generation != generation_) return;  // fired while being re-armed: stale
    server_.send(Ended{name_});
    self().close();  // handles what is already queued, then stops
  }
  void on_stop() {
    timeout_.cancel();
    report_->activities = activities_;
  }
  void arm() {
    timeout_.cancel();  // after it returns, the old timeout is never delivered...
    // ...except one already queued: the generation tells it apart.
    timeout_ = troupe::send_after(self(), idle_, IdleTimeout{++generation_});
  }
  std::string name_;
  std::chrono::milliseconds idle_;
  troupe::ref<Ended, Tick> server_;
  Report* report_;
  troupe::timer timeout_;
  unsigned generation_ = 0;
  int activities_ = 0;
};

int main() {
  troupe::runtime rt;
  Report server_report, busy_report, quiet_report;
  auto server = rt.spawn<Server>(2, &server_report);
  // "busy" is active every 10 ms and times out after 1 s idle (a wide margin: a loaded
  // machine keeps the output the same); "quiet" is never active and times out after 300 ms.
  auto busy = rt.spawn<Session>("busy", 1000ms, server, &busy_report);
  auto quiet = rt.spawn<Session>("quiet", 300ms, server, &quiet_report);
  for (int i = 0; i < 60; ++i) {  // about 600 ms: "quiet" times out meanwhile
    busy.send(Activity{});
    std::this_thread::sleep_for(10ms);
  }
  quiet.join();
  for (int i = 0; i < 1000; ++i) busy.send(Activity{});  // a burst right before shutdown
  rt.shutdown();  // drains: every activity is handled before anyone is closed
  for (const auto& n : server_report.timed_out) std::printf("server: %s timed out\n", n.c_str());
  std::printf("server: %d session(s) open at shutdown, ticked: %s\n", server_report.still_open,
              server_report.ticked ? "yes" : "no");
  std::printf("busy: %d activities handled\n", busy_report.activities);
  std::printf("quiet: %d activities handled\n", quiet_report.activities);
}
