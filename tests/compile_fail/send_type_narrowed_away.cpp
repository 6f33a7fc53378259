// A narrowed ref accepts only its own (narrowed) message list, not the actor's whole list.
// expect-error: the actor does not handle this message type
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
  adds.send(Sub{1});
}
