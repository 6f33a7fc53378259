// A ref accepts only the message types its actor handles.
// expect-error: the actor does not handle this message type
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Other {};
struct Counter : troupe::actor<Counter, Add> {
  void on(Add) {}
};

void f(troupe::runtime& rt) { rt.spawn<Counter>().send(Other{}); }
