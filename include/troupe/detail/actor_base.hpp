// troupe/detail/actor_base.hpp — the part of every actor that the runtime sees: reference
// count, lifecycle state word, mailbox and close sentinel. Installed because actor<> derives
// from it; not API.
//
// State machine (state_, one fetch_or per transition, bits only ever set):
//
//     running ──close()──▶ running|close_posted ──sentinel taken──▶ … |stopped ──▶ … |terminated
//        │                                                              ▲
//        └──────────── exception escapes a handler ──▶ stopped|failed ──┘
//
//   close_posted  set once by the first close(); that call alone pushes close_node_, so the
//                 sentinel is queued at most once and never allocates.
//   stopped       set by the consumer in finish(), after on_stop(). From then on the
//                 actor is never scheduled again: a send that sees the bit dead-letters its
//                 own message without touching the mailbox, and whoever wins consumption of
//                 the mailbox (INV-MAILBOX-2) drains it to dead letters right away
//                 (drain_stopped()).
//   failed        set together with stopped when a handler threw.
//   terminated    set by finish() last, once the failure (if any) is reported and every
//                 message queued at stop time is dead-lettered. join() waits for it.
//   join_waiting  set by join() before it sleeps; finish() wakes waiters only if it is set,
//                 so stopping an actor nobody joins costs no syscall.
//   started       set by the consumer before an event actor's on_start() runs, in its
//                 first turn (only for actor types that define on_start()).
//   kill_requested set by the first kill(), which then signals the mailbox. The consumer
//                 checks it before each message (a relaxed load on the mailbox's cache
//                 line), and for certain after clear_signal() at its next turn boundary;
//                 then it stops without handling what is queued (coroutine and blocking
//                 actors: actor_exit at their next receive or await).
//   closed_by_shutdown set by shutdown's walk before it closes the actor. With `failed`,
//                 `killed_at_deadline` and `kill_requested` it names the reason given with
//                 a dead letter.
//   killed_at_deadline set by shutdown(deadline) before it kills an actor that has not
//                 stopped by the deadline (kill_for_deadline()).
//   weak_listed   set by the first weak_ref made from a ref (enable_weak()): the actor is in
//                 the process-wide weak table (runtime/actor/weak_table.cpp), and the final
//                 release() must unlist it before the delete.
//   named         set by the first register_name() of the actor, under the runtime's name
//                 table lock (runtime/actor/name_table.hpp): finish() then removes the
//                 actor's names from the table; for an actor never named that costs one
//                 bit test of the value finish()'s RMW returns anyway.
//   watched       set by the first monitor, link or trap_exits() that involves the actor,
//                 and by its failure (runtime/actor/watch_table.cpp): it has a record in the
//                 watch table; finish() and the final release() then visit it. Its RMWs are
//                 ordered against finish()'s `stopped` RMW (INV-WATCH-2).
//   supervised    set once, before the actor is registered, for a child started by a
//                 supervisor (runtime/supervision/): a failure or kill then suspends the actor
//                 (its mailbox kept, nobody runs it) and reports to the supervisor, which
//                 restarts it in place or gives up (docs/architecture.md, "Supervision").
//   final_stop    set by the supervisor: the next kill or failure stops the child for good.
//   suspend_requested  set by the supervisor for a group restart (one_for_all,
//                 rest_for_one), then the mailbox is signalled: at its next turn boundary the
//                 child runs on_stop(), suspends and reports.
//   restart_pending  set by the supervisor before it resumes a suspended child: its next
//                 turn restarts it in place (a fresh state; on_start() again).
//   bounded      set once, before the actor is registered, for an actor with a bounded
//                mailbox (bounded_actor<T>, detail/bounded_mailbox.hpp): its sends take the
//                bounded path and its consumer counts what it takes.
//   mute_requested  set by the consumer (an event actor's send in its own turn found a
//                bounded receiver over capacity): the turn ends after the message in hand
//                and the worker mutes the actor; cleared by the consumer when it sees it.
//   bits 18..31   not a state: the process-wide id of the registry shard the actor was
//                 added to, which also names its runtime (runtime/actor/shard_table.hpp);
//                 stored once by the registry before the actor is published, never
//                 changed; 0 if the actor was never registered.
//
// Side channel: notifications that must reach the actor's consumer without being messages
// (a recv_for() timeout, a reply to ask()) are side_nodes. post() pushes one onto side_ (a
// lock-free LIFO list) and then signals the mailbox (mpsc_mailbox::signal): if the actor was
// idle that schedules it, otherwise the mailbox cannot go idle before the consumer has
// called serve_side() (INV-MAILBOX-6). A stopped actor discards what is posted to it.
// A side node with a message_type stands for a message (a result delivered to a
// continuation, e.g. an ask() reply): post() counts it as sent, serving it counts it as
// handled, discarding it reports and counts a dead letter, so sent == handled +
// dead_lettered still holds. Other side nodes (a recv_for() timeout) are not counted.
//
// INV-STOP-1  A stopped actor's mailbox receives at most one more push per sending thread.
//             finish() sets `stopped`, then makes an RMW on the mailbox head
//             (publish_to_producers()); every push (an RMW too) that comes later in the
//             head's modification order synchronizes with it, so the pushing thread's next
//             send sees `stopped` and dead-letters its own message instead (enqueue(),
//             enqueue_chain(), post()). A drain of a stopped actor therefore takes at most
//             the messages queued at the stop plus one push per sending thread, whatever the
//             senders keep doing: join(), shutdown() and any single send() finish in bounded
//             time (tests/stress/sends_to_stopping_actor_test.cpp).
//
// Ownership (who may touch what):
//   refs_, state_    any thread, atomically.
//   side_            any thread (post, a CAS push); the consumer (serve_side, an exchange).
//   mailbox_ head    any thread (push); the consumer (try_mark_idle).
//   mailbox_ tail, close_node_ as dummy, the user's fields — the consumer only: the worker
//                    running the turn, or a sender draining a stopped actor.
//   reg_prev_/reg_next_  the runtime's registry, under the lock of the actor's shard.
//
// Identity: id_ is assigned once, in the constructor, from next_actor_id() (a per-thread
// block of ids taken from one process-wide counter, runtime/actor/actor_id.cpp), so an id is
// never reused even when the actor's memory is: a dead letter or a failure reported after
// the actor is gone still names it alone. It costs the actor 8 bytes.
//
// References: spawn gives the actor one "life" reference, released by finish() once the
// actor is stopped and its mailbox drained and idle. Each handle holds one more. A running
// or queued actor is never stopped, so its life reference keeps it alive while it sits in
// a run queue; a stopped actor is never queued.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <typeinfo>

#include "troupe/detail/bounded_mailbox.hpp"
#include "troupe/detail/mpsc_mailbox.hpp"
#include "troupe/detail/sync.hpp"
#include "troupe/detail/turn_record.hpp"
#include "troupe/stats.hpp"

namespace troupe::detail {

class runtime_core;
class worker;
struct child_link;

/// What a turn left behind, for the worker that ran it.
enum class turn_result {
  idle,      ///< mailbox empty and marked idle: the next send reschedules the actor
  runnable,  ///< messages remain (batch used up, or a push half done): queue it again
  stopped,   ///< the actor stopped and was drained; the worker must not touch it again
  /// a supervised child suspended (its mailbox kept, not idle): its supervisor resumes it;
  /// the worker must not touch it again
  suspended,
};

class actor_base;

/// What actor_base::supervision_request() did.
enum class request_outcome { none, restarted, turn_ends };

/// A fresh actor id: unique for the life of the process, never 0. Any thread; takes one
/// atomic RMW per 1024 ids (a per-thread block), none otherwise.
actor_id next_actor_id() noexcept;

/// While this thread destroys the payload of a dead letter (drop_message): the reason it
/// was reported with; nullptr otherwise. Lets a request destroyed that way tell its asker
/// why it got no reply (troupe::ask_stopped, ask.hpp).
const dead_letter_reason* dead_letter_in_progress() noexcept;

/// Marks this thread as destroying a dead letter's payload for its lifetime (nests).
class dead_letter_scope {
 public:
  explicit dead_letter_scope(dead_letter_reason reason) noexcept;
  ~dead_letter_scope();
  dead_letter_scope(const dead_letter_scope&) = delete;
  dead_letter_scope& operator=(const dead_letter_scope&) = delete;

 private:
  dead_letter_reason reason_;
  const dead_letter_reason* outer_;
};

/// Pushes the send outbox of the worker running on this thread, if any (worker.hpp).
void flush_thread_outbox() noexcept;
/// flush_thread_outbox(), before the running actor goes idle: true if the turn sent to a
/// full bounded mailbox and the actor must be muted instead (it then stays non-idle).
bool flush_thread_outbox_before_idle() noexcept;
/// The turn running on this thread sent to a full bounded mailbox and ends muted.
bool mute_pending_on_this_thread() noexcept;

/// A notification posted to an actor outside its mailbox (see "Side channel" above).
struct side_node {
  side_node* next = nullptr;
  /// Non-null: the notification stands for a message of this type and is counted like one
  /// (see "Side channel" above); reported as this type if it becomes a dead letter.
  const std::type_info* message_type = nullptr;
  /// Serves the notification (run == true: on the consumer, inside the actor's turn; may
  /// throw, which fails the actor like a throwing handler) or discards it (run == false:
  /// the actor has stopped; must not throw). Either way it frees the node.
  void (*handle)(side_node* self, actor_base& a, bool run) = nullptr;
};

class actor_base {
 public:
  actor_base(const actor_base&) = delete;
  virtual ~actor_base();

  // Actors live in exact-size blocks of the actor pool (runtime/mem/actor_pool.hpp:
  // no malloc header, no rounding to 16); the virtual destructor passes the most-derived
  // size to the sized delete. Over-aligned actor types use the global aligned forms.
  static void* operator new(std::size_t bytes);
  static void operator delete(void* p, std::size_t bytes) noexcept;
  static void* operator new(std::size_t bytes, std::align_val_t al) {
    return ::operator new(bytes, al);
  }
  static void operator delete(void* p, std::size_t bytes, std::align_val_t al) noexcept {
    ::operator delete(p, bytes, al);
  }

  // ---- handle side: any thread --------------------------------------------------------
  void add_ref() noexcept {
    // relaxed: the caller already holds a reference, so the object cannot die meanwhile;
    // nothing else is published by taking one.
    refs_.fetch_add(1, memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: release publishes this holder's last uses of the actor; the acquire side
    // of the final decrement makes all of them happen-before the delete.
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) destroy();
  }
  /// Lists the actor in the weak table (weak_ref.hpp), once; the caller holds a reference.
  /// Throws std::bad_alloc if the table cannot grow.
  void enable_weak();
  /// A new reference to the live actor listed under `id`, or nullptr if it is gone (its
  /// last reference was released) or was never listed. Takes the table shard's lock.
  static actor_base* lock_weak(actor_id id) noexcept;
  /// For a narrowed ref (ref.hpp), which does not know the actor's node type: a mailbox
  /// node of this actor holding the message of the type named by `key` (message_key<M>,
  /// one of the actor's types) at `msg`, moved from if `rvalue`, else copied. Throws what
  /// allocating or constructing it throws.
  virtual mailbox_node* make_node(const void* key, void* msg, bool rvalue) = 0;
  /// True if the actor handles the message type named by `key` (message_key<M>): the run-time
  /// check of a name lookup (runtime.hpp, "Names"). Any thread holding a reference.
  virtual bool accepts(const void* key) const noexcept = 0;
  /// Names the actor's message list in its order (message_list_key<Msgs...>): a ref whose
  /// list is this very one may be an exact ref (ref.hpp). Any thread holding a reference.
  virtual const void* message_list() const noexcept = 0;
  /// Appends a message node; schedules the actor, or drains it if stopped. Wait-free
  /// apart from waking a parked worker — except to a full bounded mailbox from a thread
  /// outside the pool, which waits for room (see troupe/bounded.hpp). Never throws.
  void enqueue(mailbox_node* n) noexcept;
  // ---- bounded mailboxes (detail/bounded_mailbox.hpp, runtime/actor/bounded_send.cpp) -----
  /// The count and waiters of a bounded mailbox; nullptr for an unbounded actor.
  virtual bounded_state* bound() noexcept { return nullptr; }
  /// Any thread, before try_send() or send_for() builds its message: takes a place in a
  /// bounded mailbox, waiting until `deadline` if there is none (nullptr: no wait). Always
  /// true for an unbounded or stopped actor. Throws troupe::error for a wait on a worker.
  bool reserve_room(const std::chrono::steady_clock::time_point* deadline);
  /// Gives back a place reserve_room() took, for a message that was never built.
  void release_room() noexcept;
  /// Sends a message whose place reserve_room() took (as enqueue(), without counting again).
  void enqueue_reserved(mailbox_node* n) noexcept;
  /// Messages queued and not yet taken, if the mailbox counts them (a bounded one).
  std::optional<std::size_t> queue_length() noexcept;
  /// Worker, after the turn of this actor, which sent to the full bounded mailbox of
  /// `receiver`: parks this actor (it stays non-idle, in no run queue) until the receiver
  /// has drained to its low-water mark or stopped. False if it must not wait (INV-BOUND-3,
  /// or no memory): the caller schedules it again.
  bool mute_on(actor_base& receiver) noexcept;
  /// Any thread: runs a muted actor again (its wait for room is over).
  void unmute() noexcept;
  /// Appends a chain of message nodes from worker `w` (its send outbox, see worker.hpp);
  /// schedules or drains like enqueue(). Counted when each node was sent.
  void enqueue_chain(mailbox_node* first, mailbox_node* last, worker& w) noexcept;
  /// Posts the close sentinel behind everything already sent (idempotent, never allocates).
  void close() noexcept;
  /// close(), marking the stop as shutdown's (the reason given with dead letters).
  void close_for_shutdown() noexcept;
  /// Stops the actor at its next turn boundary without handling what is queued (it becomes
  /// dead letters); idempotent, no-op on a stopped actor.
  void kill() noexcept;
  /// kill(), marking the stop as shutdown(deadline)'s (the reason given with dead letters).
  void kill_for_deadline() noexcept;
  /// kill() was called (a hint; the consumer reads it after clear_signal(), see kill()).
  bool kill_requested() const noexcept;
  // ---- supervision (runtime/supervision/child.cpp) --------------------------------------
  /// The link of a supervised child to its supervisor; nullptr for other actors.
  virtual child_link* supervision() noexcept { return nullptr; }
  /// Before registration: the actor is a supervised child (see the state machine).
  void mark_supervised() noexcept;
  bool is_supervised() const noexcept;
  /// Supervisor: the next kill or failure of this child stops it for good.
  void set_final_stop() noexcept;
  /// Supervisor: asks a running child to suspend at its next turn boundary.
  void request_suspend() noexcept;
  /// Supervisor: resumes a suspended child, to restart it in place (restart) or to stop it
  /// for good with the failure that suspended it (!restart). `in_order`: through the
  /// runtime's FIFO queue, so that children resumed one after another start in that order;
  /// otherwise on the calling worker, like a send.
  void resume_suspended(bool restart, bool in_order = false) noexcept;

  /// Before registration: the actor has a bounded mailbox (bounded_actor's constructor).
  void mark_bounded() noexcept;
  /// Consumer (the worker running its turn), whose send found a bounded receiver over
  /// capacity: the sender must wait after this send. Default: nothing (the worker mutes the
  /// actor once its turn ends); an event actor ends its turn early, a blocking actor parks
  /// its fiber here.
  virtual void throttled() noexcept {}

  /// Schedules a fresh actor without a message, for actors whose body starts running at
  /// spawn (coroutine and blocking actors). No-op if a send already scheduled it.
  void start_now() noexcept;
  /// Any thread holding a reference: posts `n` to the side channel; schedules the actor if
  /// it was idle. On a stopped actor `n` is discarded (handle(n, a, false)), maybe at once.
  void post(side_node* n) noexcept;
  /// Blocks a non-worker thread until the actor has stopped and finished stopping (its
  /// failure reported, its leftover messages dead-lettered).
  void join();
  bool is_stopped() const noexcept;
  /// Someone already called close() (a snapshot; for the registry's shutdown walk).
  bool close_posted() const noexcept;
  /// Unique for the life of the process (never reused, see "Identity" above); never 0.
  actor_id id() const noexcept { return id_; }
  /// spawn() has registered the actor with its runtime (false in its constructor, and for
  /// an actor whose spawn failed).
  bool registered() const noexcept;
  /// The actor's runtime (named by its registry shard id, see below); nullptr if the
  /// actor was never registered.
  runtime_core* core() const noexcept;

  // ---- consumer side: the worker that owns the actor's turn ----------------------------
  /// Handles up to `budget` messages, recording in `turn` (the worker's) each one it takes
  /// and what it is handling (turn_record.hpp).
  virtual turn_result run_turn(unsigned budget, turn_record& turn) noexcept = 0;

 protected:
  actor_base() noexcept : id_(next_actor_id()) {}
  // Restart in place (supervision): a supervised child is given a freshly constructed state
  // by assignment, `child = T(args...)`. The runtime's part (identity, mailbox, references,
  // state word) stays: these assign nothing.
  actor_base& operator=(const actor_base&) noexcept { return *this; }
  actor_base& operator=(actor_base&&) noexcept { return *this; }

  bool is_close_sentinel(const mailbox_node* n) const noexcept { return n == &close_node_; }
  /// Consumer: one message taken from the mailbox (not the sentinel). For a bounded actor,
  /// counts it, which may wake its waiting senders; a bit test otherwise.
  void message_taken() noexcept {
    // relaxed: `bounded` is set before registration (published with the actor).
    if ((state_.load(memory_order_relaxed) & bounded_bit) != 0) [[unlikely]]
      count_taken();
  }
  /// message_taken() for a bounded actor: bound()->taken_one(), out of line.
  void count_taken() noexcept;
  /// *bound(), for an actor known to be bounded (its `bounded` bit is set).
  bounded_state& bounds() noexcept {
    bounded_state* const b = bound();
    if (b == nullptr) __builtin_unreachable();  // tells the compiler; see the caller's test
    return *b;
  }
  /// Consumer, per message of an event actor: a kill, a supervisor's request, a bounded
  /// mailbox to count or a mute to act on (one relaxed load of the state word).
  bool needs_attention() const noexcept;
  /// Consumer: clears mute_requested; true if it was set and this turn's worker holds the
  /// receiver to mute on (else the request is stale: from a turn that ended otherwise).
  bool take_mute_request() noexcept;
  /// Event actors' throttled(): asks the turn to end after the message in hand.
  void request_mute() noexcept;
  /// Consumer only: true exactly once, in the actor's first turn that asks (sets `started`).
  bool first_start() noexcept;
  /// Frees a dummy that pop() retired (the close sentinel is part of the actor: kept).
  void free_retired(mailbox_node* n) noexcept {
    if (n != nullptr && n != &close_node_) free_node(n);
  }
  /// Consumer: if the mailbox is signalled, serves every side node posted so far, in post
  /// order. Returns what one of them threw (the rest are then discarded): the caller stops
  /// the actor with it, as for a throwing handler.
  std::exception_ptr serve_side() noexcept;
  /// Consumer only: mailbox_.try_mark_idle(), freeing the node it retires as a `Node`.
  /// After a true return the caller must not touch *this (another thread may own it, or
  /// have destroyed it): hence the static deallocator, not free_retired().
  template <class Node>
  bool try_go_idle() noexcept {
    // The sentinel can be the last node taken (a coroutine or blocking actor that caught
    // actor_exit and went on waiting): it is part of *this, never freed. Its address is
    // computed before the CAS, after which *this must not be touched.
    const mailbox_node* const sentinel = &close_node_;
    // Sends this turn left in the worker's outbox go out first: once idle, the actor's next
    // turn may start on another worker at once, and its sends must not overtake these
    // (per-sender order). A turn that must end muted does not go idle: the worker parks
    // the actor (bounded mailboxes).
    if (flush_thread_outbox_before_idle()) return false;
    mailbox_node* retired = nullptr;
    if (!mailbox_.try_mark_idle(retired)) return false;
    if (retired != nullptr && retired != sentinel) Node::deallocate(retired);
    return true;
  }
  /// Stops the actor (error == nullptr: by its close sentinel), drains what is left to dead
  /// letters and releases the life reference. The caller must not touch *this afterwards.
  /// A supervised child stopped after a suspension (given up) stops with the failure that
  /// suspended it, if any; that failure was reported and its on_stop() ran when it was
  /// suspended, so neither happens again.
  void finish(std::exception_ptr error) noexcept;
  /// Consumer, at a turn boundary (after serve_side()): a kill, or a supervisor's request,
  /// is pending (one relaxed load of the state word, on the mailbox's cache line).
  bool interrupted() const noexcept;
  /// Consumer, for an interrupted() actor: acts on a supervisor's request. A restart
  /// (restart_pending) assigns the fresh state and returns `restarted`: the caller runs
  /// on_start() and goes on. A suspension (suspend_requested, only at a turn boundary:
  /// `taken` == nullptr) returns `turn_ends` with `r` set. `none`: no such request (a kill
  /// alone; the caller stops through stop_for()). If the restart fails, `taken` (the message
  /// just popped, or nullptr) is dead-lettered and the child suspended again (`turn_ends`).
  request_outcome supervision_request(turn_result& r, mailbox_node* taken) noexcept;
  /// Consumer: the actor must stop — failed with `error`, or killed (nullptr). A supervised
  /// child is suspended and reported to its supervisor instead, unless it is stopping for
  /// good. Returns what the turn returns; the caller must not touch *this afterwards.
  turn_result stop_for(std::exception_ptr error) noexcept;
  /// Consumer: stop_for() would suspend this actor rather than stop it (a supervised child
  /// not stopping for good).
  bool suspends_on_stop() const noexcept;
  /// Consumer, at a turn boundary: a supervised child is asked to suspend for a group
  /// restart (and is not stopping for good).
  bool suspension_requested() const noexcept;
  /// Consumer: a supervised child resumed after a suspension to stop for good (given up).
  bool resumed_to_stop() noexcept;
  /// Consumer: the type of the message this actor's handler is handling on this thread's
  /// worker, or nullptr (in on_start(), on_stop(), between messages, not on a worker).
  const std::type_info* message_in_hand() const noexcept;
  /// Turns a message the actor took but never handled (a blocking actor's stash) into a
  /// dead letter: reports and counts it and destroys its payload (the node is not freed).
  void dead_letter(mailbox_node* n) noexcept;
  /// Reports one undeliverable message of `type`, sent by actor `sender` (0: not known), to
  /// the runtime's dead-letter callback; returns the reason it gave.
  dead_letter_reason report_dead_letter(const std::type_info& type, actor_id sender) const noexcept;

  // Implemented by actor<Derived, Msgs...>, which knows the payload and node types.
  /// Destroys n's payload and reports it as a dead letter sent by `sender` (0: not known).
  virtual void drop_message(mailbox_node* n, actor_id sender) noexcept = 0;
  virtual void free_node(mailbox_node* n) noexcept = 0;  // free a retired node
  virtual void on_stop_hook() = 0;                       // Derived::on_stop(), if any

 public:
  /// The actor's C++ type. Any thread holding a reference (or the registry's lock).
  virtual const std::type_info& actor_type() const noexcept = 0;

 protected:
  mpsc_mailbox mailbox_;

 private:
  friend class runtime_core;
  friend class worker;  // end_muted(): take_mute_request()
  friend class actor_registry;
  friend class name_table;

  void drain_stopped() noexcept;
  /// The actor has stopped: a send must dead-letter its own message (INV-STOP-1).
  bool refuses_sends() const noexcept;
  /// Dead-letters the sender's own chain first → … → last (one node: first == last),
  /// which never entered the mailbox: reports (naming `sender`, 0: not known), destroys and
  /// frees each node.
  void dead_letter_chain(mailbox_node* first, mailbox_node* last, actor_id sender) noexcept;
  /// Takes the side list, oldest first.
  side_node* take_side() noexcept;
  /// Discards `list` of a's side nodes; those standing for messages become dead letters
  /// naming `sender` (0: not known).
  static void discard_side(side_node* list, actor_base& a, actor_id sender) noexcept;
  /// After winning the idle→non-empty transition: drain if stopped, else schedule on `w`
  /// (this runtime's worker running the caller, or nullptr: the injection queue).
  void became_runnable(worker* w) noexcept;

  /// The last reference is gone: unlists the actor from the weak table if it was listed
  /// (after which no lock_weak() can reach it), then deletes it.
  void destroy() noexcept {
    // relaxed: `weak_listed` was set by enable_weak() on a thread that held a reference
    // and released it later (or is us): the acquire of our final decrement already made
    // the bit visible.
    // The same for `watched`, set by this thread or by one whose bit-setting RMW came
    // before a release of its reference.
    const std::uint32_t s = state_.load(memory_order_relaxed);
    if ((s & weak_listed_bit) != 0) unlist_weak();
    if ((s & watched_bit) != 0) unlist_watched();
    delete this;
  }
  void unlist_weak() noexcept;
  static constexpr std::uint32_t weak_listed_bit = 1u << 9;  // actor_state::weak_listed
  static constexpr std::uint32_t watched_bit = 1u << 11;     // actor_state::watched
  // The watch table's hooks (runtime/actor/watch_table.cpp), for watched actors only.
  void watched_failure(std::exception_ptr error) noexcept;  // before `stopped`
  void watched_stop() noexcept;                             // after `stopped`
  void unlist_watched() noexcept;                           // before the delete
  friend struct watch_ops;
  turn_result suspend(std::exception_ptr error, bool asked, bool run_on_stop) noexcept;
  void supervised_stopped(std::exception_ptr error, std::uint32_t state) noexcept;
  static constexpr std::uint32_t supervised_bit = 1u << 12;  // actor_state::supervised
  static constexpr std::uint32_t bounded_bit = 1u << 16;     // actor_state::bounded
  /// enqueue() for a bounded actor (`w`: this runtime's worker running the caller, if any).
  void enqueue_bounded(mailbox_node* n, worker* w) noexcept;
  /// Pushes a counted message and schedules or drains (the tail of every send path).
  void push_counted(mailbox_node* n, worker* w) noexcept;
  /// Outside thread: waits until a place is reserved, or `deadline` passes (false).
  bool wait_for_room(bounded_state& b,
                     const std::chrono::steady_clock::time_point* deadline) noexcept;
  /// Seq_cst read of `stopped`, for INV-BOUND-2's recheck.
  bool stopped_for_waiters() const noexcept;
  /// Sets `named` (see the state machine); true if the actor had not stopped yet. Only under
  /// the name table's lock (runtime/actor/name_table.cpp).
  bool mark_named() noexcept;

  atomic<std::uint32_t> refs_{1};  // the life reference
  atomic<std::uint32_t> state_{0};
  atomic<side_node*> side_{nullptr};  // posted, not yet served; newest first
  mailbox_node close_node_;
  actor_base* reg_prev_ = nullptr;
  actor_base* reg_next_ = nullptr;
  const actor_id id_;  // written once by the constructor
};

namespace actor_state {
inline constexpr std::uint32_t close_posted = 1u << 0;
inline constexpr std::uint32_t stopped = 1u << 1;
inline constexpr std::uint32_t failed = 1u << 2;
inline constexpr std::uint32_t join_waiting = 1u << 3;
inline constexpr std::uint32_t terminated = 1u << 4;
inline constexpr std::uint32_t started = 1u << 5;
inline constexpr std::uint32_t kill_requested = 1u << 6;
inline constexpr std::uint32_t closed_by_shutdown = 1u << 7;
inline constexpr std::uint32_t killed_at_deadline = 1u << 8;
inline constexpr std::uint32_t weak_listed = 1u << 9;  // see enable_weak()
inline constexpr std::uint32_t named = 1u << 10;       // see runtime/actor/name_table.hpp
inline constexpr std::uint32_t watched = 1u << 11;     // see the watch table
inline constexpr std::uint32_t supervised = 1u << 12;
inline constexpr std::uint32_t final_stop = 1u << 13;
inline constexpr std::uint32_t suspend_requested = 1u << 14;
inline constexpr std::uint32_t restart_pending = 1u << 15;
inline constexpr std::uint32_t bounded = 1u << 16;
inline constexpr std::uint32_t mute_requested = 1u << 17;
inline constexpr unsigned shard_shift = 18;  // the registry shard, see above
inline constexpr unsigned max_shards = 1u << (32 - shard_shift);
}  // namespace actor_state

inline bool actor_base::registered() const noexcept {
  // relaxed: the shard bits are stored once, before the actor is published (see core()).
  return (state_.load(memory_order_relaxed) >> actor_state::shard_shift) != 0;
}

inline bool actor_base::first_start() noexcept {
  // relaxed (both): only the consumer sets the bit, and each turn happens-after the one
  // before it (the mailbox hand-over), so a later turn's load sees an earlier turn's RMW.
  // The RMW (not a store) keeps other threads' concurrent bits (close_posted).
  if ((state_.load(memory_order_relaxed) & actor_state::started) != 0) return false;
  state_.fetch_or(actor_state::started, memory_order_relaxed);
  return true;
}

inline bool actor_base::kill_requested() const noexcept {
  // relaxed: the consumer calls this after clear_signal()'s acquire, which synchronized
  // with the signal() that kill() made after setting the bit.
  return (state_.load(memory_order_relaxed) & actor_state::kill_requested) != 0;
}

inline bool actor_base::interrupted() const noexcept {
  // relaxed: as kill_requested(); the supervisor's bits are published the same way (set
  // before it signals the mailbox).
  return (state_.load(memory_order_relaxed) &
          (actor_state::kill_requested | actor_state::suspend_requested |
           actor_state::restart_pending)) != 0;
}

inline bool actor_base::needs_attention() const noexcept {
  // relaxed: as interrupted(); `bounded` is set before registration, and `mute_requested`
  // only by this consumer.
  return (state_.load(memory_order_relaxed) &
          (actor_state::kill_requested | actor_state::suspend_requested |
           actor_state::restart_pending | actor_state::bounded | actor_state::mute_requested)) != 0;
}

inline bool actor_base::is_supervised() const noexcept {
  // relaxed: set once before the actor is registered (published with it).
  return (state_.load(memory_order_relaxed) & actor_state::supervised) != 0;
}

inline bool actor_base::close_posted() const noexcept {
  // relaxed: a hint only; close() itself decides with its RMW.
  return (state_.load(memory_order_relaxed) & actor_state::close_posted) != 0;
}

/// Throws troupe::error: `operation` was called on an actor of type `actor` before spawn()
/// registered it (in its constructor).
[[noreturn]] void throw_not_spawned(const char* operation, const std::type_info& actor);

/// True on a worker thread of any troupe runtime, where blocking waits are refused.
bool on_worker_thread() noexcept;

/// Registers a freshly constructed actor with the runtime (throws troupe::error after
/// shutdown; the caller then deletes the actor, which no one else has seen).
void register_spawned(runtime_core* core, actor_base* a);

}  // namespace troupe::detail
