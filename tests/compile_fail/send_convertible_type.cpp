// No implicit conversions: an int is not an Add, even though Add{int} would compile.
// expect-error: the actor does not handle this message type
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Counter : troupe::actor<Counter, Add> {
  void on(Add) {}
};

void f(troupe::runtime& rt) { rt.spawn<Counter>().send(1); }
