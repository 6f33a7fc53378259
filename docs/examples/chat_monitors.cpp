// A chat room that monitors its sessions and sessions that hold only a weak_ref to their
// room: the room learns of every session that goes — closed or crashed — from a
// troupe::down and forgets it; nothing holds anything in a cycle, so a room nobody refers to
// any more is freed, and its sessions see that through their weak_ref.
//
// Expected output: chat_monitors.expected.
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

struct Deliver {
  std::string text;
};
struct Crash {};
using room_alive = troupe::request<int, bool>;  // "is my room still there?"

struct Session : troupe::actor<Session, Deliver, Crash, room_alive> {
  Session(std::string name, troupe::weak_ref<Deliver> room) : name_(std::move(name)), room_(room) {}
  void on(Deliver d) { last_ = d.text; }
  void on(Crash) { throw std::runtime_error(name_ + "'s connection reset"); }
  void on(room_alive r) { r.reply(static_cast<bool>(room_.lock())); }
  std::string name_, last_;
  troupe::weak_ref<Deliver> room_;  // the room owns its sessions, not the other way round
};

struct Join {
  std::string name;
  troupe::ref<Deliver, Crash, room_alive> session;
};
using who = troupe::request<int, std::string>;

struct Room : troupe::actor<Room, Join, Deliver, troupe::down, who> {
  void on(Join j) {
    (void)monitor(j.session);
    names_[j.session.id()] = j.name;
    members_.emplace(j.session.id(), troupe::ref<Deliver>(j.session));
  }
  void on(Deliver d) {
    for (auto& [id, m] : members_) m.send(d);
  }
  void on(troupe::down d) {  // a session stopped: forget it, and say why
    left_.push_back(names_[d.id] + " (" + troupe::to_string(d.reason.what) + ")");
    members_.erase(d.id);
  }
  void on(who r) {
    std::string s;
    for (auto& [id, m] : members_) s += names_[id] + " ";
    s += "| left: ";
    for (auto& l : left_) s += l + " ";
    r.reply(s);
  }
  std::map<troupe::actor_id, troupe::ref<Deliver>> members_;
  std::map<troupe::actor_id, std::string> names_;
  std::vector<std::string> left_;
};

int main() {
  troupe::runtime_config cfg;
  cfg.on_failure = [](const troupe::failure& f) {
    std::printf("failure: %s threw %s\n", f.actor_type.c_str(), f.error_type().c_str());
  };
  troupe::runtime rt(cfg);
  auto room = rt.spawn<Room>();
  std::vector<Session::handle> sessions;
  for (const char* name : {"alice", "bob", "carol"}) {
    sessions.push_back(rt.spawn<Session>(name, troupe::weak_ref<Deliver>(room)));
    room.send(Join{name, sessions.back()});
  }
  room.send(Deliver{"hello, everyone"});
  std::printf("in the room: %s\n", troupe::ask(room, 0, 10s).get().c_str());

  // Asks the room who is in it until `name` has left.
  auto once_left = [&](const std::string& name) {
    std::string now = troupe::ask(room, 0, 10s).get();
    while (now.find("left: ") == std::string::npos ||
           now.substr(now.find("left: ")).find(name) == std::string::npos) {
      std::this_thread::sleep_for(1ms);
      now = troupe::ask(room, 0, 10s).get();
    }
    return now;
  };
  sessions[1].send(Crash{});  // bob's connection breaks
  std::printf("in the room: %s\n", once_left("bob").c_str());
  sessions[2].close();  // carol leaves
  std::printf("in the room: %s\n", once_left("carol").c_str());

  std::printf("alice's room is there: %s\n", troupe::ask(sessions[0], 0, 10s).get() ? "yes" : "no");
  room.close();
  room.join();
  room = {};  // the last ref: the room is freed (its sessions held only weak_refs)
  std::printf("alice's room is there: %s\n", troupe::ask(sessions[0], 0, 10s).get() ? "yes" : "no");
  rt.shutdown();
}
