// Every message type in the actor's list needs an on(M) handler.
// expect-error: every message type in actor<Derived, Msgs...> needs a public handler
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Reset {};
struct Counter : troupe::actor<Counter, Add, Reset> {
  void on(Add) {}  // no on(Reset)
};

void f(troupe::runtime& rt) { rt.spawn<Counter>(); }
