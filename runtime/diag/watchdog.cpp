// runtime/diag/watchdog.cpp — see watchdog.hpp.
#include "diag/watchdog.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "diag/turn_watch.hpp"

namespace troupe::detail {

void watchdog::start(const std::vector<std::unique_ptr<worker>>& workers, actor_registry& registry,
                     std::chrono::milliseconds limit,
                     std::function<void(const stuck_handler&)> report) {
  if (limit.count() <= 0) return;
  report_ = std::move(report);
  thread_ = std::thread([this, &workers, &registry, limit] { run(workers, registry, limit); });
  // Named here, not by the thread itself, so the name is there when start() returns.
  pthread_setname_np(thread_.native_handle(), "troupe-watchdog");
}

void watchdog::stop() noexcept {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void watchdog::run(const std::vector<std::unique_ptr<worker>>& workers, actor_registry& registry,
                   std::chrono::milliseconds limit) noexcept {
  using clock = turn_watch::clock;
  const auto every = std::max<clock::duration>(limit / 4, std::chrono::milliseconds(1));
  turn_watch watch(static_cast<unsigned>(workers.size()));
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, every, [this] { return stopping_; })) {
    lock.unlock();
    const auto now = clock::now();
    watch.look(workers, now);
    for (std::size_t i = 0; i < watch.seen().size(); ++i) {
      turn_watch::sighting& s = watch.seen()[i];
      if (s.actor == nullptr || s.reported || now - s.since < limit) continue;
      s.reported = true;
      try {
        const std::optional<stuck_handler> h =
            turn_watch::identify(registry, *workers[i], static_cast<unsigned>(i), s, now);
        if (!h) continue;  // it returned, or its actor stopped, meanwhile
        if (report_) {
          report_(*h);
        } else {
          std::fprintf(stderr,
                       "troupe: a handler has run for at least %lld ms (stuck_handler_limit "
                       "%lld ms): actor %s (id %llu), %s%s, on worker %u\n",
                       static_cast<long long>(h->running_for.count()),
                       static_cast<long long>(limit.count()), h->actor_type.c_str(),
                       static_cast<unsigned long long>(h->actor),
                       h->message_type.empty() ? "between messages" : "handling ",
                       h->message_type.c_str(), h->worker);
        }
      } catch (...) {
        std::fputs("troupe: the on_stuck_handler callback threw; exception ignored\n", stderr);
      }
    }
    lock.lock();
  }
}

}  // namespace troupe::detail
