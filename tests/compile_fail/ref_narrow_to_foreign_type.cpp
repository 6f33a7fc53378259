// A ref narrows only to a subset of its own message types.
// expect-error: the target ref names a message type that the source ref does not
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Sub {
  long n;
};
struct Mul {
  long n;
};
struct Calc : troupe::actor<Calc, Add, Sub> {
  void on(Add) {}
  void on(Sub) {}
};

void f(troupe::runtime& rt) {
  troupe::ref<Sub, Mul> r = rt.spawn<Calc>();  // Mul is not in ref<Add, Sub>
  r.send(Sub{1});
}
