// Finding an actor by name (Erlang's register/whereis): register_name() on the runtime,
// lookup<Msgs...>() from a handler and from outside, and a name vanishing with its actor.
// Expected output: names.expected.
#include <cstdio>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <troupe/troupe.hpp>

struct Put {
  std::string key;
  long value;
};
struct Get {
  std::string key;
  std::promise<long>* reply;
};
struct Shout {};  // no actor here handles it

struct Store : troupe::actor<Store, Put, Get> {
  std::map<std::string, long> data;
  void on(Put p) { data[p.key] = p.value; }
  void on(Get g) { g.reply->set_value(data[g.key]); }
};

struct Go {
  std::promise<long>* reply;
};

// Knows the store only by its name, and asks only for the two types it uses.
struct Client : troupe::actor<Client, Go> {
  void on(Go g) {
    std::optional<troupe::ref<Put, Get>> store = lookup<Put, Get>("store");
    if (!store) {
      g.reply->set_value(-1);
      return;
    }
    store->send(Put{"answer", 42});
    store->send(Get{"answer", g.reply});  // same sender: after the Put
  }
};

const char* found(bool f) { return f ? "found" : "none"; }

int main() {
  troupe::runtime rt;
  troupe::ref<Put, Get> store = rt.spawn<Store>();
  rt.register_name("store", store);
  const bool again = rt.register_name("store", rt.spawn<Store>());  // taken: refused
  std::printf("a second \"store\": %s\n", again ? "registered" : "refused");

  std::promise<long> reply;
  rt.spawn<Client>().send(Go{&reply});
  std::printf("the client read %ld\n", reply.get_future().get());

  // lookup checks the message types at run time, against the actor's own list.
  std::printf("lookup<Get>: %s\n", found(rt.lookup<Get>("store").has_value()));
  std::printf("lookup<Shout>: %s\n", found(rt.lookup<Shout>("store").has_value()));

  store.close();
  store.join();  // its name went with it
  std::printf("after the store stopped: %s\n", found(rt.lookup<Get>("store").has_value()));
  rt.shutdown();
}
