// A coroutine actor's frame_alignment, the least alignment of run()'s frame, is a power of
// two.
// expect-error: frame_alignment must be a power of two
#include <troupe/troupe.hpp>

struct Odd : troupe::coro_actor<Odd, int> {
  static constexpr std::size_t frame_alignment = 48;
  task run() {
    for (;;) (void)co_await recv();
  }
};

void f(troupe::runtime& rt) { rt.spawn<Odd>(); }
