// A narrowed ref cannot get back a type it was narrowed away from, although the actor has it.
// expect-error: the target ref names a message type that the source ref does not
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Sub {
  long n;
};
struct Calc : troupe::actor<Calc, Add, Sub> {
  void on(Add) {}
  void on(Sub) {}
};

void f(troupe::runtime& rt) {
  troupe::ref<Add> adds = rt.spawn<Calc>();
  troupe::ref<Add, Sub> again = adds;  // Sub was narrowed away
  again.send(Sub{1});
}
