// runtime/fiber/fiber_host.cpp — see include/troupe/detail/fiber_host.hpp.
#include "troupe/detail/fiber_host.hpp"

#include <cassert>
#include <utility>

#include "fiber/fiber.hpp"
#include "sched/runtime_core.hpp"

namespace troupe::detail {

fiber_host::~fiber_host() { reset(); }

void fiber_host::start(runtime_core* core, std::size_t stack_size, void (*entry)(void*),
                       void* arg) {
  assert(fiber_ == nullptr);
  fiber_ = new fiber(core->fiber_stacks(stack_size).acquire(), [entry, arg] { entry(arg); });
}

void fiber_host::resume() noexcept { fiber_->resume(); }

bool fiber_host::done() const noexcept { return fiber_->done(); }

std::exception_ptr fiber_host::error() const noexcept { return fiber_->exception(); }

void fiber_host::reset() noexcept { delete std::exchange(fiber_, nullptr); }

void fiber_host::suspend() {
  fiber* f = fiber::current();
  assert(f != nullptr && "fiber_host::suspend() called outside a fiber");
  f->suspend();
}

}  // namespace troupe::detail
