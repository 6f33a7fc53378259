// ask(target, x) needs a troupe::request<Req, Reply> of the target that takes x as its Req.
// expect-error: no troupe::request<Req, Reply> of the target takes this argument
#include <string>
#include <troupe/troupe.hpp>

struct Squarer : troupe::actor<Squarer, troupe::request<int, long>> {
  void on(troupe::request<int, long> r) { r.reply(long{r.value()}); }
};

void f(troupe::runtime& rt) { (void)troupe::ask(rt.spawn<Squarer>(), std::string("seven")); }
