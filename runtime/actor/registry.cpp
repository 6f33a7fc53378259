// runtime/actor/registry.cpp — see registry.hpp.
#include "actor/registry.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>
#include <vector>

#include "actor/shard_table.hpp"
#include "troupe/detail/actor_base.hpp"

namespace troupe::detail {

actor_registry::actor_registry(unsigned workers, runtime_core* core)
    : n_(std::min(workers, actor_state::max_shards - 2) + 1),
      first_id_(reserve_shard_ids(n_, core)),
      shards_(std::make_unique<shard[]>(n_)) {}

actor_registry::~actor_registry() { release_shard_ids(first_id_, n_); }

bool actor_registry::add(actor_base* a, unsigned shard_index) {
  shard& s = shards_[shard_index];
  // relaxed: the actor is not published yet; whoever reads the shard later (remove(), on
  // the thread that stops it) learns of the actor through a happens-before chain that
  // starts after this store (its first handle or message).
  // The low bits set before registration (`supervised`) are kept.
  constexpr std::uint32_t low_bits = (1u << actor_state::shard_shift) - 1;
  const std::uint32_t before = a->state_.load(memory_order_relaxed) & low_bits;
  a->state_.store(before | (first_id_ + shard_index) << actor_state::shard_shift,
                  memory_order_relaxed);
  std::lock_guard lock(s.mu);
  if (s.closed) {
    // relaxed: as above. No shard, no runtime: ~actor_base releases nothing.
    a->state_.store(before, memory_order_relaxed);
    return false;
  }
  a->reg_prev_ = nullptr;
  a->reg_next_ = s.head;
  if (s.head != nullptr) s.head->reg_prev_ = a;
  s.head = a;
  ++s.live;
  ++s.totals.spawned;
  return true;
}

void actor_registry::remove(actor_base* a, bool failed) noexcept {
  // relaxed: the shard bits were written before the actor was published, and finish()
  // (our caller) runs on the actor's consumer, which the publication happens-before.
  shard& s =
      shards_[(a->state_.load(memory_order_relaxed) >> actor_state::shard_shift) - first_id_];
  bool drained;
  {
    std::lock_guard lock(s.mu);
    if (a->reg_prev_ != nullptr) {
      a->reg_prev_->reg_next_ = a->reg_next_;
    } else {
      s.head = a->reg_next_;
    }
    if (a->reg_next_ != nullptr) a->reg_next_->reg_prev_ = a->reg_prev_;
    a->reg_prev_ = a->reg_next_ = a;  // "unlinked", for a walk that pinned a (see below)
    ++s.totals.stopped;
    if (failed) ++s.totals.failed;
    drained = --s.live == 0 && s.closed && !std::exchange(s.drain_signaled, true);
    if (s.walker_waiting && s.totals.stopped >= s.resume_at) {
      s.walker_waiting = false;
      s.progress.notify_one();
    }
  }
  if (drained) shard_drained();
}

void actor_registry::shard_drained() noexcept {
  std::lock_guard lock(wait_mu_);
  if (--undrained_ == 0) all_drained_.notify_all();
}

bool actor_registry::close_shard(shard& s, clock::time_point until) {
  // Walks the shard in list order, walk_batch actors at a time: under the lock it pins the
  // next batch of actors not yet closed (a reference each) and the actor after them (the
  // place to resume); without the lock it closes and unpins them. So the lock is held only
  // for a short list walk (remove() on the workers keeps going), and close() may run user
  // code (a destructor, when our release is the last) without the lock held.
  std::array<actor_base*, walk_batch> batch;
  actor_base* resume = nullptr;  // pinned
  std::uint64_t posted = 0;
  std::uint64_t stopped_before = 0;
  bool first = true;
  for (;;) {
    std::size_t n = 0;
    actor_base* const pinned = resume;
    {
      std::unique_lock lock(s.mu);
      if (first) {
        // The shard was closed by refuse_adds(): the list only shrinks.
        stopped_before = s.totals.stopped;
        first = false;
      } else {
        // Let the workers catch up: at most max_pending closes may still be waiting to
        // stop. The timeout only guards against actors that stop only once some other,
        // not yet closed actor does; they then cost a pause, not a hang.
        const std::uint64_t floor = stopped_before + posted;  // all we posted have stopped
        if (floor - std::min(floor, s.totals.stopped) > max_pending && clock::now() < until) {
          s.resume_at = floor - max_pending / 2;
          s.walker_waiting = true;
          s.progress.wait_for(lock, std::chrono::milliseconds(10),
                              [&s] { return !s.walker_waiting; });
          s.walker_waiting = false;
        }
      }
      // Our pin kept `resume` alive but not linked: if it stopped meanwhile, start over
      // (the closed actors we skip are at most those still pending).
      actor_base* a = (resume == nullptr || resume->reg_next_ == resume) ? s.head : resume;
      for (; a != nullptr && n < walk_batch; a = a->reg_next_) {
        // A supervised child is closed by its supervisor, in order (supervisor.hpp).
        if (a->close_posted() || a->is_supervised()) continue;
        a->add_ref();
        batch[n++] = a;
      }
      resume = a;
      if (resume != nullptr) resume->add_ref();
      if (n == 0 && resume == nullptr) {
        if (pinned != nullptr) {
          lock.unlock();
          pinned->release();
          lock.lock();
        }
        return s.live == 0 && !std::exchange(s.drain_signaled, true);
      }
    }
    if (pinned != nullptr) pinned->release();
    for (std::size_t i = 0; i < n; ++i) {
      batch[i]->close_for_shutdown();
      batch[i]->release();
    }
    posted += n;
  }
}

void actor_registry::refuse_adds() {
  {
    // Before any shard is closed: a closed shard whose last actor stops counts itself down
    // (remove()), even before close_all() walks it.
    std::lock_guard lock(wait_mu_);
    if (refusing_) return;
    refusing_ = true;
    undrained_ = n_;
  }
  for (unsigned i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    shards_[i].closed = true;
  }
}

void actor_registry::close_all(clock::time_point until) {
  // Every shard refuses adds before the first close is posted: from here on no spawn
  // succeeds anywhere, so actors that keep spawning cannot prolong the walk.
  refuse_adds();
  for (unsigned i = 0; i < n_; ++i) {
    shard& s = shards_[i];
    if (close_shard(s, until)) shard_drained();
  }
}

bool actor_registry::wait_all_stopped(clock::time_point until) {
  std::unique_lock lock(wait_mu_);
  return all_drained_.wait_until(lock, until, [this] { return undrained_ == 0; });
}

void actor_registry::close_all_and_wait() {
  close_all(clock::time_point::max());
  std::unique_lock lock(wait_mu_);
  all_drained_.wait(lock, [this] { return undrained_ == 0; });
}

std::vector<actor_base*> actor_registry::pin_live() {
  std::vector<actor_base*> out;
  for (unsigned i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    // Listed actors have not finished stopping, so their life reference keeps them.
    for (actor_base* a = shards_[i].head; a != nullptr; a = a->reg_next_) {
      a->add_ref();
      out.push_back(a);
    }
  }
  return out;
}

actor_base* actor_registry::pin_if_listed(const actor_base* a) {
  for (unsigned i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    for (actor_base* x = shards_[i].head; x != nullptr; x = x->reg_next_) {
      if (x == a) {
        x->add_ref();
        return x;
      }
    }
  }
  return nullptr;
}

actor_registry::counts actor_registry::totals() const {
  counts t{0, 0, 0};
  for (unsigned i = 0; i < n_; ++i) {
    std::lock_guard lock(shards_[i].mu);
    t.spawned += shards_[i].totals.spawned;
    t.stopped += shards_[i].totals.stopped;
    t.failed += shards_[i].totals.failed;
  }
  return t;
}

}  // namespace troupe::detail
