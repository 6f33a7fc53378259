// Narrowing a troupe::ref (ref.hpp, "Narrowing"): a ref<A, B, C> converts to a ref of any
// subset of its types in any order, and the narrowed ref sends, asks, times and compares like
// any other — for event, coroutine and blocking actors, and through a narrowed ref of a
// narrowed ref. Compile-time rejection of a type the source lacks: tests/compile_fail/ref_*.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <typeindex>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

struct Add {
  long n;
};
struct Sub {
  long n;
};
struct Mul {
  long n;
};
struct Done {};  // ends a test actor's record (coroutine and blocking: its run())

// Every actor below records the messages it handles, in order, as text.
struct record {
  std::mutex mu;
  std::vector<std::string> got;
  std::promise<void> done;
  void add(std::string s) {
    std::lock_guard lock(mu);
    got.push_back(std::move(s));
  }
};

std::string text(const Add& a) { return "add " + std::to_string(a.n); }
std::string text(const Sub& s) { return "sub " + std::to_string(s.n); }
std::string text(const Mul& m) { return "mul " + std::to_string(m.n); }

using Full = troupe::ref<Add, Sub, Mul, Done>;

struct EventCalc : troupe::actor<EventCalc, Add, Sub, Mul, Done> {
  explicit EventCalc(record* r) : r_(r) {}
  void on(Add a) { r_->add(text(a)); }
  void on(Sub s) { r_->add(text(s)); }
  void on(Mul m) { r_->add(text(m)); }
  void on(Done) { r_->done.set_value(); }
  record* r_;
};

struct CoroCalc : troupe::coro_actor<CoroCalc, Add, Sub, Mul, Done> {
  explicit CoroCalc(record* r) : r_(r) {}
  task run() {
    for (;;) {
      auto m = co_await recv();
      if (std::holds_alternative<Done>(m)) break;
      std::visit(
          [this](const auto& x) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(x)>, Done>) r_->add(text(x));
          },
          m);
    }
    r_->done.set_value();
  }
  record* r_;
};

struct BlockingCalc : troupe::blocking_actor<BlockingCalc, Add, Sub, Mul, Done> {
  explicit BlockingCalc(record* r) : r_(r) {}
  void run() {
    for (;;) {
      auto m = recv();
      if (std::holds_alternative<Done>(m)) break;
      std::visit(
          [this](const auto& x) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(x)>, Done>) r_->add(text(x));
          },
          m);
    }
    r_->done.set_value();
  }
  record* r_;
};

// ---- types ------------------------------------------------------------------------------------

static_assert(std::is_convertible_v<Full, troupe::ref<Mul, Add>>, "a subset, in another order");
static_assert(std::is_convertible_v<Full, troupe::ref<Sub>>);
static_assert(std::is_convertible_v<troupe::ref<Mul, Add>, troupe::ref<Add>>,
              "a narrowed ref narrows again");
static_assert(std::is_nothrow_constructible_v<troupe::ref<Add>, const Full&>);
static_assert(std::is_nothrow_constructible_v<troupe::ref<Add>, Full&&>);
static_assert(sizeof(troupe::ref<Mul, Add>) == sizeof(void*), "a narrowed ref is one word too");
// send() through a narrowed ref accepts exactly the narrowed list (the rest is a
// static_assert with a readable message, tests/compile_fail/send_type_narrowed_away.cpp).
static_assert(requires(const troupe::ref<Mul, Add> r, const Add a) {
  r.send(a);
  r.send(Mul{2});
});

// Sends through the full ref, a narrowed ref and a narrowed ref of that, interleaved from one
// thread: every message arrives, in the order sent (one sender, one mailbox).
template <class Calc>
void sends_through_narrowed_refs(unsigned workers) {
  troupe::runtime rt(with_workers(workers));
  record r;
  Full full = rt.spawn<Calc>(&r);
  troupe::ref<Mul, Add> narrow = full;
  troupe::ref<Add> narrower = narrow;
  troupe::ref<Sub> sub_only = full;
  full.send(Add{1});
  narrow.send(Mul{2});
  narrower.send(Add{3});
  const Add lvalue{4};
  narrower.send(lvalue);  // copied
  sub_only.send(Sub{5});
  narrow.send(Add{6});
  troupe::ref<Done> done = full;
  done.send(Done{});
  ASSERT_EQ(r.done.get_future().wait_for(60s), std::future_status::ready);
  if constexpr (Calc::starts_at_spawn) full.join();  // its run() returned after Done
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.got,
            (std::vector<std::string>{"add 1", "mul 2", "add 3", "add 4", "sub 5", "add 6"}));
  EXPECT_EQ(narrower.id(), full.id());
  EXPECT_EQ(sub_only.id(), full.id());
  shutdown_and_expect_accounting(rt);
  EXPECT_EQ(rt.stats().sent, 7u);
  EXPECT_EQ(rt.stats().dead_lettered, 0u);
}

class RefNarrowing : public ::testing::TestWithParam<unsigned> {};

TEST_P(RefNarrowing, AnEventActorGetsEverythingSentThroughNarrowedRefsInOrder) {
  sends_through_narrowed_refs<EventCalc>(GetParam());
}
TEST_P(RefNarrowing, ACoroutineActorGetsEverythingSentThroughNarrowedRefsInOrder) {
  sends_through_narrowed_refs<CoroCalc>(GetParam());
}
TEST_P(RefNarrowing, ABlockingActorGetsEverythingSentThroughNarrowedRefsInOrder) {
  sends_through_narrowed_refs<BlockingCalc>(GetParam());
}

// ---- identity, ownership, empty refs ------------------------------------------------------

std::atomic<int> g_alive{0};
struct Counted : troupe::actor<Counted, Add, Sub> {
  Counted() { g_alive.fetch_add(1); }
  ~Counted() override { g_alive.fetch_sub(1); }
  void on(Add) {}
  void on(Sub) {}
};

TEST(RefNarrowing, RefsToOneActorCompareEqualWhateverListTheyCameThrough) {
  troupe::runtime rt(with_workers(1));
  troupe::ref<Add, Sub> exact = rt.spawn<Counted>();
  troupe::ref<Sub, Add> swapped = exact;
  troupe::ref<Add, Sub> back = swapped;  // narrowed (the same list as exact, reached by a detour)
  EXPECT_EQ(back, exact);
  EXPECT_EQ(back <=> exact, std::strong_ordering::equal);
  using hash = std::hash<troupe::ref<Add, Sub>>;
  EXPECT_EQ(hash{}(back), hash{}(exact));
  std::unordered_set<troupe::ref<Add, Sub>> set{exact, back};
  EXPECT_EQ(set.size(), 1u);
  troupe::ref<Add, Sub> other = rt.spawn<Counted>();
  EXPECT_NE(back, other);
  EXPECT_NE(troupe::ref<Add>(back), troupe::ref<Add>(other));
  shutdown_and_expect_accounting(rt);
}

TEST(RefNarrowing, NarrowedRefsCountAsReferencesAndAMoveTransfersOne) {
  g_alive.store(0);
  {
    troupe::runtime rt(with_workers(1));
    troupe::ref<Sub> kept;
    {
      troupe::ref<Add, Sub> exact = rt.spawn<Counted>();
      troupe::ref<Add> copied = exact;
      kept = std::move(exact);                 // moved and narrowed: exact gives up its reference
      EXPECT_FALSE(static_cast<bool>(exact));  // NOLINT(bugprone-use-after-move): by design
      EXPECT_TRUE(static_cast<bool>(copied));
    }
    rt.shutdown();
    EXPECT_EQ(g_alive.load(), 1) << "the narrowed ref `kept` keeps the stopped actor's memory";
    kept = {};
    EXPECT_EQ(g_alive.load(), 0) << "the last (narrowed) ref freed it";
  }
  EXPECT_EQ(g_alive.load(), 0);
}

TEST(RefNarrowing, AnEmptyRefNarrowsToAnEmptyRef) {
  troupe::ref<Add, Sub> empty;
  troupe::ref<Sub> narrowed = empty;
  EXPECT_FALSE(static_cast<bool>(narrowed));
  EXPECT_EQ(narrowed.id(), 0u);
  EXPECT_THROW(narrowed.send(Sub{1}), troupe::error);
  EXPECT_THROW(narrowed.close(), troupe::error);
}

// ---- move-only messages, dead letters ---------------------------------------------------------

struct Box {
  std::unique_ptr<int> v;
};
struct BoxSink : troupe::actor<BoxSink, Add, Box> {
  explicit BoxSink(std::atomic<long>* sum) : sum_(sum) {}
  void on(Add a) { sum_->fetch_add(a.n); }
  void on(Box b) { sum_->fetch_add(*b.v); }
  std::atomic<long>* sum_;
};

TEST(RefNarrowing, AMoveOnlyMessageIsMovedThroughANarrowedRef) {
  std::atomic<long> sum{0};
  troupe::runtime rt(with_workers(1));
  troupe::ref<Add, Box> full = rt.spawn<BoxSink>(&sum);
  troupe::ref<Box> boxes = full;
  boxes.send(Box{std::make_unique<int>(40)});
  Box b{std::make_unique<int>(2)};
  boxes.send(std::move(b));
  EXPECT_EQ(b.v, nullptr) << "moved from";  // NOLINT(bugprone-use-after-move)
  full.close();
  full.join();
  EXPECT_EQ(sum.load(), 42);
  shutdown_and_expect_accounting(rt);
}

TEST(RefNarrowing, ASendToAStoppedActorThroughANarrowedRefIsADeadLetterOfItsOwnType) {
  std::mutex mu;
  std::vector<std::type_index> types;
  troupe::runtime_config c = with_workers(1);
  c.on_dead_letter = [&](const troupe::dead_letter& d) {
    std::lock_guard lock(mu);
    types.emplace_back(d.message_type);
  };
  troupe::runtime rt(std::move(c));
  std::atomic<long> sum{0};
  troupe::ref<Add, Box> full = rt.spawn<BoxSink>(&sum);
  troupe::ref<Box> boxes = full;
  full.close();
  full.join();
  boxes.send(Box{std::make_unique<int>(1)});
  shutdown_and_expect_accounting(rt);
  std::lock_guard lock(mu);
  EXPECT_EQ(types, (std::vector<std::type_index>{typeid(Box)}));
  EXPECT_EQ(rt.stats().dead_lettered, 1u);
}

// ---- ask and timers through a narrowed ref --------------------------------------------------

using square_request = troupe::request<int, long>;
struct Squarer : troupe::actor<Squarer, Add, square_request> {
  void on(Add) {}
  void on(square_request r) { r.reply(long{r.value()} * r.value()); }
};

TEST_P(RefNarrowing, AskWorksThroughANarrowedRef) {
  troupe::runtime rt(with_workers(GetParam()));
  troupe::ref<Add, square_request> full = rt.spawn<Squarer>();
  troupe::ref<square_request> asks_only = full;
  EXPECT_EQ(troupe::ask(asks_only, 7).get(), 49);
  EXPECT_EQ(troupe::ask(asks_only, 8, 60s).get(), 64);
  shutdown_and_expect_accounting(rt);
}

TEST_P(RefNarrowing, TimersSendThroughANarrowedRef) {
  troupe::runtime rt(with_workers(GetParam()));
  record r;
  Full full = rt.spawn<EventCalc>(&r);
  troupe::ref<Done, Mul> narrow = full;
  troupe::send_after(narrow, 1ms, Mul{3});
  troupe::send_after(troupe::ref<Done>(narrow), 20ms, Done{});
  ASSERT_EQ(r.done.get_future().wait_for(60s), std::future_status::ready);
  {
    std::lock_guard lock(r.mu);
    EXPECT_EQ(r.got, (std::vector<std::string>{"mul 3"}));
  }
  shutdown_and_expect_accounting(rt);
}

INSTANTIATE_TEST_SUITE_P(Workers, RefNarrowing, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& p) {
                           return std::to_string(p.param) + "_workers";
                         });

}  // namespace
