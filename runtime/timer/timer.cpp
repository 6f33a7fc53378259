// runtime/timer/timer.cpp — the out-of-line side of troupe/timer.hpp and
// troupe/detail/timer_task.hpp: both reach the timer service of an actor's runtime here.
#include <cstdio>

#include "sched/runtime_core.hpp"
#include "troupe/detail/timer_node.hpp"
#include "troupe/detail/timer_task.hpp"

namespace troupe::detail {

timer_id schedule_timer(runtime_core* core, timer_clock::time_point when, timer_task* t) {
  return core->timers().schedule(when, t);
}

bool cancel_timer(runtime_core* core, timer_id id) noexcept { return core->timers().cancel(id); }

bool schedule_timer(runtime_core* core, timer_clock::time_point first, timer_node* n) {
  return core->timers().schedule(first, n);
}

bool cancel_timer(runtime_core* core, timer_node* n) noexcept { return core->timers().cancel(n); }

bool timer_active(runtime_core* core, timer_node* n) noexcept { return core->timers().active(n); }

void retain_core(runtime_core* core) noexcept { core->add_ref(); }

void release_core(runtime_core* core) noexcept { core->release(); }

void report_timer_send_failure() noexcept {
  std::fputs("troupe: out of memory allocating a timer's message; that delivery is lost\n", stderr);
}

}  // namespace troupe::detail
