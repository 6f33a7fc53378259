// troupe::tagged_actor (the recipe's TaggedActor): dispatch by string tag to registered
// handlers of several arities (0..3), lambdas, functions and member functions, parameters by
// value / const& / & / &&, string literals arriving as std::string, hand-built tagged
// messages; and the failures: an unknown tag, a payload of the wrong types or arity — each
// stops the actor through on_failure with a troupe::error naming the tag and the types, and
// what follows becomes dead letters — plus a duplicate registration refused at spawn.
#include <gtest/gtest.h>

#include <any>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

struct Hooks {
  std::mutex mu;
  std::vector<troupe::failure> failures;
  int dead = 0;
  troupe::runtime_config config() {
    troupe::runtime_config c;
    c.workers = 2;
    c.on_failure = [this](const troupe::failure& f) {
      std::lock_guard lock(mu);
      failures.push_back(f);
    };
    c.on_dead_letter = [this](const troupe::dead_letter&) {
      std::lock_guard lock(mu);
      ++dead;
    };
    return c;
  }
};

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const troupe::error& x) {
    return std::string("troupe::error: ") + x.what();
  } catch (const std::exception& x) {
    return std::string("other: ") + x.what();
  }
}

// Records every call as a line of text; read by the test thread after join().
struct Recorder : troupe::tagged_actor<Recorder> {
  std::vector<std::string>* log;
  explicit Recorder(std::vector<std::string>* l) : log(l) {
    on_tag("A", [this](int x) { log->push_back("A " + std::to_string(x)); });
    on_tag("B", [this](int x, int y) {
      log->push_back("B " + std::to_string(x) + " " + std::to_string(y));
    });
    on_tag("none", [this] { log->push_back("none"); });
    on_tag("three", [this](const std::string& s, double d, long n) {
      log->push_back("three " + s + " " + std::to_string(d) + " " + std::to_string(n));
    });
    on_tag("member", &Recorder::member);
    on_tag("free", &free_handler);
    on_tag("refs", [this](std::string& s, std::vector<int>&& v) {
      s += "!";  // a non-const & binds to the payload's element
      log->push_back("refs " + s + " " + std::to_string(v.size()));
    });
  }
  void member(std::string s) { log->push_back("member " + s); }
  static void free_handler(char c) { (void)c; }
};

TEST(TaggedActor, DispatchesByTagWithSeveralArities) {
  Hooks hooks;
  troupe::runtime rt(hooks.config());
  std::vector<std::string> log;
  auto r = rt.spawn<Recorder>(&log);
  troupe::send_tagged(r, "A", 1);
  troupe::send_tagged(r, "B", 2, 3);
  troupe::send_tagged(r, "none");
  troupe::send_tagged(r, "three", "str", 1.5, 7L);
  troupe::send_tagged(r, "member", "m");
  troupe::send_tagged(r, "free", 'c');
  troupe::send_tagged(r, "refs", std::string("s"), std::vector<int>{1, 2});
  r.send(troupe::tagged{"A", std::tuple<int>{10}});  // built by hand
  r.send(troupe::tagged{"none", std::any{}});        // no payload at all, for no parameters
  r.send(troupe::tagged{"none", std::tuple<>{}});
  r.close();
  r.join();
  EXPECT_EQ(log, (std::vector<std::string>{"A 1", "B 2 3", "none", "three str 1.500000 7",
                                           "member m", "refs s! 2", "A 10", "none", "none"}));
  EXPECT_TRUE(hooks.failures.empty());
  rt.shutdown();
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
  EXPECT_EQ(s.handled, 10u);
}

// Runs one bad message through a fresh Recorder and returns the failure text.
std::string failure_for(troupe::tagged bad, int* dead_after = nullptr) {
  Hooks hooks;
  troupe::runtime rt(hooks.config());
  std::vector<std::string> log;
  auto r = rt.spawn<Recorder>(&log);
  troupe::send_tagged(r, "A", 1);
  r.send(std::move(bad));
  troupe::send_tagged(r, "A", 2);  // behind the failure: a dead letter
  r.join();                        // the failure stops it; no close() needed
  EXPECT_EQ(log, (std::vector<std::string>{"A 1"}));
  rt.shutdown();
  const troupe::runtime_stats s = rt.stats();
  EXPECT_EQ(s.sent, s.handled + s.dead_lettered);
  EXPECT_EQ(s.failed, 1u);
  if (dead_after != nullptr) *dead_after = hooks.dead;
  if (hooks.failures.size() != 1) {
    ADD_FAILURE() << "expected exactly one failure, got " << hooks.failures.size();
    return {};
  }
  EXPECT_NE(hooks.failures[0].actor_type.find("Recorder"), std::string::npos);
  return what_of(hooks.failures[0].error);
}

TEST(TaggedActor, UnknownTagStopsTheActorAsAFailureNamingTheTag) {
  int dead = 0;
  const std::string w = failure_for(troupe::tagged{"C", std::tuple<int>{1}}, &dead);
  EXPECT_EQ(w.rfind("troupe::error: ", 0), 0u) << w;
  EXPECT_NE(w.find("no handler for tag \"C\""), std::string::npos) << w;
  EXPECT_NE(w.find("\"A\", \"B\""), std::string::npos) << "lists the registered tags: " << w;
  EXPECT_EQ(dead, 1) << "the message behind the failure is a dead letter";
}

TEST(TaggedActor, WrongPayloadTypesStopTheActorNamingTheTypes) {
  const std::string w = failure_for(troupe::tagged{"B", std::tuple<int, long>{1, 2}});
  EXPECT_EQ(w.rfind("troupe::error: ", 0), 0u) << w;
  EXPECT_NE(w.find("tag \"B\""), std::string::npos) << w;
  EXPECT_NE(w.find("expects payload std::tuple<int, int>"), std::string::npos) << w;
  EXPECT_NE(w.find("holds std::tuple<int, long>"), std::string::npos) << w;
}

TEST(TaggedActor, WrongArityStopsTheActor) {
  const std::string w = failure_for(troupe::tagged{"A", std::tuple<int, int>{1, 2}});
  EXPECT_NE(w.find("tag \"A\" expects payload std::tuple<int>"), std::string::npos) << w;
  EXPECT_NE(w.find("holds std::tuple<int, int>"), std::string::npos) << w;
}

TEST(TaggedActor, PayloadThatIsNotATupleOrMissing) {
  const std::string w1 = failure_for(troupe::tagged{"A", 5});
  EXPECT_NE(w1.find("holds int "), std::string::npos) << w1;
  const std::string w2 = failure_for(troupe::tagged{"A", {}});
  EXPECT_NE(w2.find("holds nothing"), std::string::npos) << w2;
}

TEST(TaggedActor, NoConversionsAtRunTime) {
  // send_tagged(r, "three", "s", 1.5f, 7) sends (std::string, float, int): not (.., double, long).
  Hooks hooks;
  troupe::runtime rt(hooks.config());
  std::vector<std::string> log;
  auto r = rt.spawn<Recorder>(&log);
  troupe::send_tagged(r, "three", "s", 1.5f, 7);
  r.join();
  rt.shutdown();
  ASSERT_EQ(hooks.failures.size(), 1u);
  const std::string w = what_of(hooks.failures[0].error);
  EXPECT_NE(w.find("float, int>"), std::string::npos) << w;
  EXPECT_TRUE(log.empty());
}

struct Duplicate : troupe::tagged_actor<Duplicate> {
  Duplicate() {
    on_tag("x", [] {});
    on_tag("x", [](int) {});
  }
};

TEST(TaggedActor, DuplicateTagIsRefusedAtSpawn) {
  Hooks hooks;
  troupe::runtime rt(hooks.config());
  try {
    (void)rt.spawn<Duplicate>();
    ADD_FAILURE() << "registering a tag twice should throw";
  } catch (const troupe::error& e) {
    EXPECT_NE(std::string(e.what()).find("tag \"x\" already has a handler"), std::string::npos)
        << e.what();
  }
}

// Handlers may register more handlers (only from the actor itself); handles_tag() reports.
struct Learner : troupe::tagged_actor<Learner> {
  int* total;
  explicit Learner(int* t) : total(t) {
    on_tag("learn", [this] {
      if (!handles_tag("add")) on_tag("add", [this](int n) { *total += n; });
    });
  }
};

TEST(TaggedActor, HandlersCanBeAddedByTheActorItself) {
  Hooks hooks;
  troupe::runtime rt(hooks.config());
  int total = 0;
  auto r = rt.spawn<Learner>(&total);
  troupe::send_tagged(r, "learn");
  troupe::send_tagged(r, "add", 5);
  troupe::send_tagged(r, "learn");
  troupe::send_tagged(r, "add", 6);
  r.close();
  r.join();
  EXPECT_EQ(total, 11);
  EXPECT_TRUE(hooks.failures.empty());
  rt.shutdown();
}

}  // namespace
