// An argument that several requests could take (none exactly) is ambiguous.
// expect-error: matches several troupe::request<Req, Reply> of the target \(ambiguous\)
#include <troupe/troupe.hpp>

struct Both : troupe::actor<Both, troupe::request<long, long>, troupe::request<double, double>> {
  void on(troupe::request<long, long> r) { r.reply(r.value()); }
  void on(troupe::request<double, double> r) { r.reply(r.value()); }
};

void f(troupe::runtime& rt) { (void)troupe::ask(rt.spawn<Both>(), 7); }  // int: long or double?
