// The recipe's TaggedActor: messages are a tag plus arguments, routed to do_<tag> by name.
//
//   Python                                  troupe
//   class TaggedActor(Actor):               struct TaggedActor : troupe::tagged_actor<...> {
//     def do_A(self, x): ...                  TaggedActor() { on_tag("A", &TaggedActor::do_A); }
//   a.send(('A', 1))                        troupe::send_tagged(a, "A", 1);
//
// This is troupe's dynamically typed escape hatch, for tags known only at run time. When the
// message kinds are known when compiling, give the actor typed messages instead —
// troupe::actor<Derived, A, B> with on(A) / on(B) — which is faster and checked by the
// compiler. An unknown tag (or wrong argument types) throws troupe::error in the actor, which
// stops it as a failure reported to runtime_config::on_failure.
// Expected output: tagged_actor.expected.
#include <cstdio>
#include <exception>
#include <troupe/troupe.hpp>

struct TaggedActor : troupe::tagged_actor<TaggedActor> {
  TaggedActor() {
    on_tag("A", &TaggedActor::do_A);
    on_tag("B", &TaggedActor::do_B);
  }
  void do_A(int x) { std::printf("Running A %d\n", x); }
  void do_B(int x, int y) { std::printf("Running B %d %d\n", x, y); }
};

int main() {
  troupe::runtime_config config;
  config.on_failure = [](const troupe::failure& f) {  // default: one line on stderr
    try {
      std::rethrow_exception(f.error);
    } catch (const troupe::error& e) {
      std::printf("%s failed: %s\n", f.actor_type.c_str(), e.what());
    } catch (...) {
      std::printf("%s failed\n", f.actor_type.c_str());
    }
  };
  troupe::runtime rt(config);

  // The recipe.
  auto a = rt.spawn<TaggedActor>();
  troupe::send_tagged(a, "A", 1);
  troupe::send_tagged(a, "B", 2, 3);
  a.close();
  a.join();

  // A tag with no handler stops the actor as a failure; what was behind it is dead-lettered.
  auto b = rt.spawn<TaggedActor>();
  troupe::send_tagged(b, "A", 4);
  troupe::send_tagged(b, "C", 5);
  troupe::send_tagged(b, "A", 6);
  b.join();

  rt.shutdown();
  const troupe::runtime_stats s = rt.stats();
  std::printf("sent %llu, handled %llu, dead-lettered %llu, failed %llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.handled),
              static_cast<unsigned long long>(s.dead_lettered),
              static_cast<unsigned long long>(s.failed));
}
