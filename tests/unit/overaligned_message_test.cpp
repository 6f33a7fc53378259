// Over-aligned messages (alignas(16) to alignas(128)) reach every kind of actor at an address
// aligned for their type: an event actor's handler parameter, a blocking actor's recv() on
// its fiber, and a coroutine actor's co_await recv() — whose value lives in the coroutine
// frame, so the frame itself must be allocated with the alignment it was laid out for (see
// coro_actor.hpp, "Alignment"). Each receive path is covered: straight from the mailbox, and
// through the stash (messages set aside while awaiting a result, or skipped by a selective
// receive), for a message type alone and inside std::variant. The mailbox node and the stash
// are also checked directly, and so is a coroutine actor that declares frame_alignment for an
// over-aligned local of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <troupe/troupe.hpp>
#include <utility>
#include <variant>
#include <vector>

#include "support/troupe_test_support.hpp"
#include "troupe/detail/message_node.hpp"
#include "troupe/detail/message_stash.hpp"

namespace {

using troupe::test::shutdown_and_expect_accounting;
using troupe::test::with_workers;

template <class T>
bool aligned_for(const T& x) {
  return reinterpret_cast<std::uintptr_t>(&x) % alignof(T) == 0;
}

// True on the test's own thread, the one that sends: moves made elsewhere are the runtime's
// (a message copied into an actor's stash, or handed to the receiver).
thread_local bool on_sending_thread = false;
std::atomic<int> runtime_moves{0};

// A message of alignment A that can tell if its bytes were damaged on the way.
template <std::size_t A>
struct alignas(A) Msg {
  std::uint64_t seq;
  std::uint64_t check;  // ~seq
  explicit Msg(std::uint64_t s) noexcept : seq(s), check(~s) {}
  Msg(const Msg&) = default;
  Msg(Msg&& o) noexcept : seq(o.seq), check(o.check) {
    if (!on_sending_thread) runtime_moves.fetch_add(1, std::memory_order_relaxed);
  }
  Msg& operator=(const Msg&) = default;
  Msg& operator=(Msg&&) = default;
  ~Msg() = default;
  bool intact() const noexcept { return check == ~seq; }
};
static_assert(alignof(Msg<128>) == 128 && sizeof(Msg<128>) == 128);

struct tally {
  std::atomic<int> received{0};
  std::atomic<int> misaligned{0};
  std::atomic<int> damaged{0};

  template <class M>
  void record(const M& m) {
    received.fetch_add(1);
    if (!aligned_for(m)) misaligned.fetch_add(1);
    if (!m.intact()) damaged.fetch_add(1);
  }
  // A variant is checked as a whole and at its over-aligned alternative.
  template <class M, class... Ts>
  void record(const std::variant<Ts...>& v) {
    if (!aligned_for(v)) misaligned.fetch_add(1);
    if (const M* m = std::get_if<M>(&v)) {
      record(*m);
    } else {
      damaged.fetch_add(1);  // the tests send only M
    }
  }
};

// Each test spawns kActors actors, Actor<M, 0> to Actor<M, kActors - 1>. A coroutine frame
// is aligned or not as a whole, and where it lands depends on its size and on what was
// allocated before it; so each coroutine actor keeps 16 * Pad bytes more in its frame than
// the one before, so that their frames start at many different offsets.
constexpr std::size_t kActors = 8;
constexpr int kMessages = 20;

template <std::size_t Pad>
struct frame_padding {
  unsigned char bytes[16 * Pad + 1] = {};
  void touch() noexcept { bytes[Pad] ^= 1; }  // used after a co_await: kept in the frame
};

template <template <class, std::size_t> class Actor, class M, class... Args, std::size_t... Pads>
auto spawn_all(troupe::runtime& rt, std::index_sequence<Pads...>, Args... args) {
  return std::vector<typename Actor<M, 0>::handle>{rt.spawn<Actor<M, Pads>>(args...)...};
}

// Spawns the actors, sends each kMessages messages of type M, closes and joins them, and
// expects every message received aligned and intact.
template <template <class, std::size_t> class Actor, class M>
void expect_aligned_receipt(unsigned workers) {
  on_sending_thread = true;
  troupe::runtime rt(with_workers(workers));
  tally t;
  auto actors = spawn_all<Actor, M>(rt, std::make_index_sequence<kActors>{}, &t);
  for (int i = 0; i < kMessages; ++i) {
    for (auto& a : actors) a.send(M(static_cast<std::uint64_t>(i)));
  }
  for (auto& a : actors) a.close();
  for (auto& a : actors) a.join();
  EXPECT_EQ(t.received.load(), int{kActors} * kMessages);
  EXPECT_EQ(t.misaligned.load(), 0)
      << "messages received at an address not aligned to " << alignof(M) << " bytes";
  EXPECT_EQ(t.damaged.load(), 0);
  shutdown_and_expect_accounting(rt);
}

// As spawn_all, for actors that are given a result to await first.
template <template <class, std::size_t> class Actor, class M, std::size_t... Pads>
auto spawn_awaiting(troupe::runtime& rt, std::index_sequence<Pads...>, tally* t,
                    std::vector<troupe::result<int>>& results) {
  return std::vector<typename Actor<M, 0>::handle>{
      rt.spawn<Actor<M, Pads>>(t, std::move(results[Pads]))...};
}

// As expect_aligned_receipt, for actors whose run() first awaits a result: the messages are
// all set aside in the actor's stash before the result is ready, then received from there.
template <template <class, std::size_t> class Actor, class M>
void expect_aligned_receipt_from_the_stash(unsigned workers) {
  on_sending_thread = true;
  troupe::runtime rt(with_workers(workers));
  tally t;
  std::vector<troupe::promise<int>> promises(kActors);
  std::vector<troupe::result<int>> results;
  for (auto& p : promises) results.push_back(p.get_result());
  auto actors = spawn_awaiting<Actor, M>(rt, std::make_index_sequence<kActors>{}, &t, results);
  runtime_moves.store(0);
  for (int i = 0; i < kMessages; ++i) {
    for (auto& a : actors) a.send(M(static_cast<std::uint64_t>(i)));
  }
  // Each message moved into a stash is one move by a worker; nothing else moves a message
  // until a result is set.
  while (runtime_moves.load() < int{kActors} * kMessages) std::this_thread::yield();
  EXPECT_EQ(runtime_moves.load(), int{kActors} * kMessages);
  for (auto& p : promises) p.set_value(1);
  for (auto& a : actors) a.close();
  for (auto& a : actors) a.join();
  EXPECT_EQ(t.received.load(), int{kActors} * kMessages);
  EXPECT_EQ(t.misaligned.load(), 0)
      << "messages received at an address not aligned to " << alignof(M) << " bytes";
  EXPECT_EQ(t.damaged.load(), 0);
  shutdown_and_expect_accounting(rt);
}

// ---- coroutine actors -----------------------------------------------------------------

// The message bound to a local (which lives in the coroutine frame).
template <class M, std::size_t Pad>
struct CoroLocal : troupe::coro_actor<CoroLocal<M, Pad>, M> {
  explicit CoroLocal(tally* t) : t_(t) {}
  typename CoroLocal::task run() {
    frame_padding<Pad> pad;
    for (;;) {
      M m = co_await this->recv();
      pad.touch();
      t_->record(m);
    }
  }
  tally* t_;
};

// The message bound to a reference: the temporary co_await yields, kept in the frame.
template <class M, std::size_t Pad>
struct CoroTemporary : troupe::coro_actor<CoroTemporary<M, Pad>, M> {
  explicit CoroTemporary(tally* t) : t_(t) {}
  typename CoroTemporary::task run() {
    frame_padding<Pad> pad;
    for (;;) {
      auto&& m = co_await this->recv();
      pad.touch();
      t_->record(m);
    }
  }
  tally* t_;
};

// Several message types: recv() yields a std::variant as over-aligned as its widest member.
template <class M, std::size_t Pad>
struct CoroVariant : troupe::coro_actor<CoroVariant<M, Pad>, int, M, std::string> {
  explicit CoroVariant(tally* t) : t_(t) {}
  typename CoroVariant::task run() {
    frame_padding<Pad> pad;
    for (;;) {
      auto v = co_await this->recv();
      pad.touch();
      t_->template record<M>(v);
    }
  }
  tally* t_;
};

// Awaits a result first: every message meanwhile goes through the stash.
template <class M, std::size_t Pad>
struct CoroAwaitsFirst : troupe::coro_actor<CoroAwaitsFirst<M, Pad>, M> {
  CoroAwaitsFirst(tally* t, troupe::result<int> r) : t_(t), r_(std::move(r)) {}
  typename CoroAwaitsFirst::task run() {
    frame_padding<Pad> pad;
    (void)co_await std::move(r_);
    for (;;) {
      M m = co_await this->recv();
      pad.touch();
      t_->record(m);
    }
  }
  tally* t_;
  troupe::result<int> r_;
};

// ---- event actors ---------------------------------------------------------------------

template <class M, std::size_t Pad>
struct EventByValue : troupe::actor<EventByValue<M, Pad>, M> {
  explicit EventByValue(tally* t) : t_(t) {}
  void on(M m) { t_->record(m); }
  tally* t_;
};

// By reference: the handler sees the message where it sits in the mailbox node.
template <class M, std::size_t Pad>
struct EventByReference : troupe::actor<EventByReference<M, Pad>, M> {
  explicit EventByReference(tally* t) : t_(t) {}
  void on(const M& m) { t_->record(m); }
  tally* t_;
};

template <class M, std::size_t Pad>
struct EventVariant : troupe::actor<EventVariant<M, Pad>, int, M, std::string> {
  explicit EventVariant(tally* t) : t_(t) {}
  void on(int) { t_->damaged.fetch_add(1); }
  void on(const M& m) { t_->record(m); }
  void on(const std::string&) { t_->damaged.fetch_add(1); }
  tally* t_;
};

// ---- blocking actors ------------------------------------------------------------------

template <class M, std::size_t Pad>
struct BlockingRecv : troupe::blocking_actor<BlockingRecv<M, Pad>, M> {
  explicit BlockingRecv(tally* t) : t_(t) {}
  void run() {
    for (;;) {
      M m = this->recv();
      t_->record(m);
    }
  }
  tally* t_;
};

template <class M, std::size_t Pad>
struct BlockingVariant : troupe::blocking_actor<BlockingVariant<M, Pad>, int, M, std::string> {
  explicit BlockingVariant(tally* t) : t_(t) {}
  void run() {
    for (;;) {
      auto v = this->recv();
      t_->template record<M>(v);
    }
  }
  tally* t_;
};

// Selective: recv<M>() from a list of several types (the skipped-message path is covered by
// BlockingSkipsUntilGo below).
template <class M, std::size_t Pad>
struct BlockingSelective : troupe::blocking_actor<BlockingSelective<M, Pad>, int, M> {
  explicit BlockingSelective(tally* t) : t_(t) {}
  void run() {
    for (;;) {
      M m = this->template recv<M>();
      t_->record(m);
    }
  }
  tally* t_;
};

template <class M, std::size_t Pad>
struct BlockingAwaitsFirst : troupe::blocking_actor<BlockingAwaitsFirst<M, Pad>, M> {
  BlockingAwaitsFirst(tally* t, troupe::result<int> r) : t_(t), r_(std::move(r)) {}
  void run() {
    (void)this->await(std::move(r_));
    for (;;) {
      M m = this->recv();
      t_->record(m);
    }
  }
  tally* t_;
  troupe::result<int> r_;
};

// ---- the typed suites -----------------------------------------------------------------

template <class M>
class OverAlignedMessage : public ::testing::Test {};
using Alignments = ::testing::Types<Msg<16>, Msg<32>, Msg<64>, Msg<128>>;
struct AlignmentName {
  template <class M>
  static std::string GetName(int) {
    return "alignas" + std::to_string(alignof(M));
  }
};
TYPED_TEST_SUITE(OverAlignedMessage, Alignments, AlignmentName);

TYPED_TEST(OverAlignedMessage, ACoroutineActorReceivesItAlignedInALocal) {
  expect_aligned_receipt<CoroLocal, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ACoroutineActorReceivesItAlignedAsATemporary) {
  expect_aligned_receipt<CoroTemporary, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ACoroutineActorReceivesItAlignedInAVariant) {
  expect_aligned_receipt<CoroVariant, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ACoroutineActorReceivesItAlignedFromItsStash) {
  expect_aligned_receipt_from_the_stash<CoroAwaitsFirst, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, AnEventActorReceivesItAlignedByValue) {
  expect_aligned_receipt<EventByValue, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, AnEventActorReceivesItAlignedByReference) {
  expect_aligned_receipt<EventByReference, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, AnEventActorReceivesItAlignedFromAVariantList) {
  expect_aligned_receipt<EventVariant, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ABlockingActorReceivesItAligned) {
  expect_aligned_receipt<BlockingRecv, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ABlockingActorReceivesItAlignedInAVariant) {
  expect_aligned_receipt<BlockingVariant, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ABlockingActorReceivesItAlignedBySelectiveReceive) {
  expect_aligned_receipt<BlockingSelective, TypeParam>(2);
}

TYPED_TEST(OverAlignedMessage, ABlockingActorReceivesItAlignedFromItsStashAfterAnAwait) {
  expect_aligned_receipt_from_the_stash<BlockingAwaitsFirst, TypeParam>(2);
}

// Skipped messages move to the stash (a copy in a node of the same type), then recv() hands
// them out from there.
struct Go {};
template <class M, std::size_t Pad>
struct BlockingSkipsUntilGo : troupe::blocking_actor<BlockingSkipsUntilGo<M, Pad>, M, Go> {
  explicit BlockingSkipsUntilGo(tally* t) : t_(t) {}
  void run() {
    this->template recv<Go>();
    for (;;) {
      auto v = this->recv();
      t_->template record<M>(v);
    }
  }
  tally* t_;
};

TYPED_TEST(OverAlignedMessage, ABlockingActorReceivesItAlignedAfterASelectiveReceiveSkippedIt) {
  on_sending_thread = true;
  troupe::runtime rt(with_workers(2));
  tally t;
  auto actors =
      spawn_all<BlockingSkipsUntilGo, TypeParam>(rt, std::make_index_sequence<kActors>{}, &t);
  for (int i = 0; i < kMessages; ++i) {
    for (auto& a : actors) a.send(TypeParam(static_cast<std::uint64_t>(i)));
  }
  for (auto& a : actors) a.send(Go{});  // everything before it is skipped into the stash
  for (auto& a : actors) a.close();
  for (auto& a : actors) a.join();
  EXPECT_EQ(t.received.load(), int{kActors} * kMessages);
  EXPECT_EQ(t.misaligned.load(), 0);
  EXPECT_EQ(t.damaged.load(), 0);
  shutdown_and_expect_accounting(rt);
}

// A local of alignment alignof(M) kept in run()'s frame across co_await: the actor declares
// frame_alignment, since troupe cannot see the locals of run().
template <class M, std::size_t Pad>
struct CoroAlignedLocal : troupe::coro_actor<CoroAlignedLocal<M, Pad>, int> {
  static constexpr std::size_t frame_alignment = alignof(M);
  explicit CoroAlignedLocal(tally* t) : t_(t) {}
  typename CoroAlignedLocal::task run() {
    frame_padding<Pad> pad;
    M local(0);
    for (;;) {
      const int n = co_await this->recv();
      pad.touch();
      local = M(local.seq + static_cast<std::uint64_t>(n));
      t_->record(local);
    }
  }
  tally* t_;
};

TYPED_TEST(OverAlignedMessage, ACoroutineActorThatDeclaresFrameAlignmentKeepsAnAlignedLocal) {
  on_sending_thread = true;
  troupe::runtime rt(with_workers(2));
  tally t;
  auto actors = spawn_all<CoroAlignedLocal, TypeParam>(rt, std::make_index_sequence<kActors>{}, &t);
  for (int i = 0; i < kMessages; ++i) {
    for (auto& a : actors) a.send(1);
  }
  for (auto& a : actors) a.close();
  for (auto& a : actors) a.join();
  EXPECT_EQ(t.received.load(), int{kActors} * kMessages);
  EXPECT_EQ(t.misaligned.load(), 0);
  EXPECT_EQ(t.damaged.load(), 0);
  shutdown_and_expect_accounting(rt);
}

// The node a message travels in, and the stash's copy of it, directly.
TYPED_TEST(OverAlignedMessage, TheMailboxNodeAndTheStashHoldItAligned) {
  using node = troupe::detail::message_node<TypeParam>;
  using variant_node = troupe::detail::message_node<int, TypeParam>;
  troupe::detail::message_stash<node> stash;
  troupe::detail::message_stash<variant_node> variant_stash;
  for (int i = 0; i < kMessages; ++i) {
    node* n = node::make(TypeParam(static_cast<std::uint64_t>(i)));
    EXPECT_TRUE(aligned_for(n->payload()));
    stash.push_moved(n);  // n's payload is moved out and destroyed
    node::deallocate(n);
    variant_node* v = variant_node::make(TypeParam(static_cast<std::uint64_t>(i)));
    EXPECT_TRUE(aligned_for(v->payload()));
    variant_stash.push_moved(v);
    variant_node::deallocate(v);
  }
  for (int i = 0; i < kMessages; ++i) {
    node* n = stash.pop_front();
    ASSERT_NE(n, nullptr);
    EXPECT_TRUE(aligned_for(n->payload()));
    EXPECT_EQ(n->payload().seq, static_cast<std::uint64_t>(i));
    EXPECT_TRUE(n->payload().intact());
    n->destroy_payload();
    node::deallocate(n);
    variant_node* v = variant_stash.pop_front();
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(aligned_for(v->payload()));
    EXPECT_TRUE(aligned_for(std::get<TypeParam>(v->payload())));
    v->destroy_payload();
    variant_node::deallocate(v);
  }
  EXPECT_TRUE(stash.empty());
}

// ---- an over-aligned reply to ask() ---------------------------------------------------------

// Records whether every Reply object the runtime holds (in the ask's shared state) sits at
// an address aligned for its type: its constructors check `this`.
std::atomic<int> replies_misplaced{0};
struct alignas(64) Reply64 {
  std::uint64_t v = 0;
  explicit Reply64(std::uint64_t x) noexcept : v(x) { note(); }
  Reply64(const Reply64& o) noexcept : v(o.v) { note(); }
  Reply64(Reply64&& o) noexcept : v(o.v) { note(); }
  Reply64& operator=(const Reply64&) = default;
  Reply64& operator=(Reply64&&) = default;
  ~Reply64() = default;
  void note() const noexcept {
    if (!aligned_for(*this)) replies_misplaced.fetch_add(1, std::memory_order_relaxed);
  }
};
using ask64 = troupe::request<int, Reply64>;
struct Answers64 : troupe::actor<Answers64, ask64> {
  void on(ask64 r) { r.reply(Reply64(static_cast<std::uint64_t>(r.value()) * 2)); }
};

TEST(OveralignedReply, AnAskReplyOfAlignment64IsKeptAlignedInTheSharedState) {
  replies_misplaced.store(0);
  troupe::runtime rt(with_workers(2));
  auto a = rt.spawn<Answers64>();
  // Many asks pending at once, so that their states occupy different blocks.
  std::vector<troupe::result<Reply64>> pending;
  for (int i = 0; i < 64; ++i) pending.push_back(troupe::ask(a, i));
  for (int i = 0; i < 64; ++i) {
    const Reply64 r = pending[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(r.v, static_cast<std::uint64_t>(i) * 2);
  }
  EXPECT_EQ(replies_misplaced.load(), 0);
  shutdown_and_expect_accounting(rt);
}

}  // namespace
