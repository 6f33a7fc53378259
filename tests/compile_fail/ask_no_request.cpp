// ask() needs the target to handle a troupe::request<Req, Reply>.
// expect-error: the target does not handle any troupe::request<Req, Reply>
#include <troupe/troupe.hpp>

struct Add {
  long n;
};
struct Counter : troupe::actor<Counter, Add> {
  void on(Add) {}
};

void f(troupe::runtime& rt) { (void)troupe::ask(rt.spawn<Counter>(), Add{1}); }
