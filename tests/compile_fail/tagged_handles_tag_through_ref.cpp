// handles_tag() is a member of the tagged actor, for its own code: a sender holds only a ref,
// which cannot call it (tagged_actor.hpp, "Failures", says so and advises accordingly).
// expect-error: no member named .*handles_tag
#include <troupe/troupe.hpp>

struct Printer : troupe::tagged_actor<Printer> {};

bool f(troupe::runtime& rt) { return rt.spawn<Printer>().handles_tag("A"); }
