// troupe/tagged_actor.hpp — the recipe's `TaggedActor`: messages are a string tag plus a
// payload, routed at run time to handlers registered by tag. The slower, dynamically typed
// escape hatch.
//
//   struct Printer : troupe::tagged_actor<Printer> {
//     Printer() {
//       on_tag("A", [](int x) { std::printf("Running A %d\n", x); });
//       on_tag("B", [](int x, int y) { std::printf("Running B %d %d\n", x, y); });
//       on_tag("note", &Printer::note);                // a member function works too
//     }
//     void note(std::string s) { ... }
//   };
//   auto p = rt.spawn<Printer>();                      // a ref<troupe::tagged>
//   troupe::send_tagged(p, "A", 1);
//   troupe::send_tagged(p, "B", 2, 3);
//
// Prefer typed messages. An actor<Derived, A, B> with on(A) / on(B) handlers dispatches by
// overload resolution over a std::variant — no string hashing, no type-erased payload, one
// allocation per message — and sending a type the actor does not handle does not compile.
// Use tagged_actor only when the tags are known only at run time (read from a file, a
// socket, a script, a plugin).
//
// How it works and what it costs: a tagged message is an ordinary message of type
// troupe::tagged { std::string tag; std::any payload; }; the payload is a
// std::tuple<Args...> of the handler's parameter types, decayed. Dispatch is one hash-map
// lookup of the tag plus one std::any_cast (a type_info comparison); sending allocates the
// tag string (unless short) and the payload (std::any, unless small) besides the message.
//
// Matching rules:
//   * send_tagged(ref, tag, args...) decay-copies args into the tuple, except that string
//     literals and char pointers become std::string (so a handler takes std::string, not
//     const char*). Types must match exactly: sending an int to a handler taking long is a
//     mismatch — there are no conversions at run time.
//   * A handler with no parameters accepts an empty payload or std::tuple<>.
//   * std::any requires copyable payloads, so handler parameters must be copyable types.
//   * A handler may take its parameters by value, const&, & or && (it receives the payload's
//     tuple elements, moved for by-value and && parameters).
//
// Failures: an unknown tag, or a payload of the wrong types (or arity), throws
// troupe::error from the actor's handler, naming the actor type, the tag, and the expected
// and actual payload types. Like any exception escaping a handler this stops the actor as a
// failure: runtime_config::on_failure is called with it (default: one line on stderr), and
// the messages still queued or sent later become dead letters. The actor cannot catch it
// (tagged_actor::on throws it), so if tags come from an untrusted source, validate them
// before sending. The sender holds only a ref, which cannot call the actor's members, so
// keep the tags where both sides see them — e.g. one list of tag names that the
// constructor registers from and the sender checks against. handles_tag() is for the
// actor's own code (e.g. a handler that registers a tag once).
//
// Registration: call on_tag() in the constructor, or later from the actor's own handlers
// (never from another thread). Registering a tag twice throws troupe::error. Do not declare
// your own on(...) in Derived (it would hide tagged_actor::on(tagged)).
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "troupe/actor.hpp"
#include "troupe/detail/type_name.hpp"
#include "troupe/error.hpp"
#include "troupe/ref.hpp"

namespace troupe {

/// A dynamically typed message: a tag naming the handler, and the arguments as a
/// std::tuple in a std::any (see send_tagged()).
struct tagged {
  std::string tag;
  std::any payload;
};

namespace detail {

[[noreturn]] void throw_unknown_tag(const std::type_info& actor, const std::string& tag,
                                    std::vector<std::string> known);
[[noreturn]] void throw_tag_payload_mismatch(const std::type_info& actor, const std::string& tag,
                                             const std::type_info& expected,
                                             const std::any& payload);
[[noreturn]] void throw_duplicate_tag(const std::type_info& actor, const std::string& tag);

/// The payload element type send_tagged() stores for an argument of type A.
template <class A>
struct tag_arg {
  using type = std::decay_t<A>;
};
template <class A>
requires(std::is_same_v<std::decay_t<A>, const char*> ||
         std::is_same_v<std::decay_t<A>, char*>) struct tag_arg<A> {
  using type = std::string;
};
template <class A>
using tag_arg_t = typename tag_arg<A>::type;

/// The parameter list of a handler: a lambda or other class with one non-template
/// operator(), a function (pointer), or a member function pointer of the actor.
template <class F>
struct handler_traits : handler_traits<decltype(&F::operator())> {
  static constexpr bool member = false;  // operator() of a function object, not of the actor
};
template <class R, class... P>
struct handler_traits<R (*)(P...)> {
  using params = std::tuple<P...>;
  static constexpr bool member = false;
};
template <class R, class... P>
struct handler_traits<R (*)(P...) noexcept> : handler_traits<R (*)(P...)> {};
template <class R, class... P>
struct handler_traits<R(P...)> : handler_traits<R (*)(P...)> {};
template <class R, class... P>
struct handler_traits<R(P...) noexcept> : handler_traits<R (*)(P...)> {};
#define TROUPE_DETAIL_MEMBER_HANDLER_TRAITS(QUALS)       \
  template <class R, class C, class... P>                \
  struct handler_traits<R (C::*)(P...) QUALS> {          \
    using params = std::tuple<P...>;                     \
    using owner = C;                                     \
    static constexpr bool member = true;                 \
  };                                                     \
  template <class R, class C, class... P>                \
  struct handler_traits<R (C::*)(P...) QUALS noexcept> { \
    using params = std::tuple<P...>;                     \
    using owner = C;                                     \
    static constexpr bool member = true;                 \
  };
TROUPE_DETAIL_MEMBER_HANDLER_TRAITS()
TROUPE_DETAIL_MEMBER_HANDLER_TRAITS(const)
TROUPE_DETAIL_MEMBER_HANDLER_TRAITS(&)
TROUPE_DETAIL_MEMBER_HANDLER_TRAITS(const&)
#undef TROUPE_DETAIL_MEMBER_HANDLER_TRAITS

template <class F>
concept deducible_handler = requires {
  &F::operator();
}
|| std::is_pointer_v<F> || std::is_function_v<F> || std::is_member_function_pointer_v<F>;

template <class P>
inline constexpr bool is_char_pointer =
    std::is_same_v<std::decay_t<P>, const char*> || std::is_same_v<std::decay_t<P>, char*>;

}  // namespace detail

template <class Derived>
class tagged_actor : public actor<Derived, tagged> {
 public:
  /// Dispatches `m` to the handler registered for m.tag (see the file comment for failures).
  void on(tagged m) {
    auto it = handlers_.find(m.tag);
    if (it == handlers_.end()) detail::throw_unknown_tag(typeid(Derived), m.tag, tags());
    it->second->call(static_cast<Derived&>(*this), m.tag, m.payload);
  }

  /// True if a handler is registered for `tag`. For the actor's own code: a sender holds a
  /// ref, which cannot call it (see "Failures" in the file comment).
  bool handles_tag(const std::string& tag) const { return handlers_.count(tag) != 0; }

 protected:
  tagged_actor() = default;

  /// Registers `f` as the handler for `tag`; its parameter types (decayed) are the payload
  /// types it accepts. `f` is a lambda or function object with a non-template operator(), a
  /// function, or a member function pointer of Derived (called on this actor). Throws
  /// troupe::error if `tag` already has a handler.
  template <class F>
  void on_tag(std::string tag, F&& f) {
    using fn = std::decay_t<F>;
    static_assert(detail::deducible_handler<fn>,
                  "troupe::tagged_actor::on_tag: cannot deduce the handler's parameter types. "
                  "Give a lambda with explicit parameter types (not auto), a function, or a "
                  "member function pointer.");
    using traits = detail::handler_traits<fn>;
    if (handlers_.count(tag) != 0) detail::throw_duplicate_tag(typeid(Derived), tag);
    auto h = std::make_unique<handler_impl<fn, typename traits::params, traits::member>>(
        std::forward<F>(f));
    handlers_.emplace(std::move(tag), std::move(h));
  }

 private:
  struct handler {
    virtual ~handler() = default;
    virtual void call(Derived& self, const std::string& tag, std::any& payload) = 0;
  };

  template <class Fn, class Params, bool Member>
  struct handler_impl;
  template <class Fn, class... P, bool Member>
  struct handler_impl<Fn, std::tuple<P...>, Member> final : handler {
    static_assert(!(detail::is_char_pointer<P> || ...),
                  "troupe::tagged_actor::on_tag: take strings as std::string (send_tagged sends "
                  "string literals and char pointers as std::string)");
    using payload_type = std::tuple<std::decay_t<P>...>;

    template <class G>
    explicit handler_impl(G&& g) : fn(std::forward<G>(g)) {}

    void call(Derived& self, const std::string& tag, std::any& payload) override {
      if constexpr (sizeof...(P) == 0) {
        if (!payload.has_value()) {
          invoke(self, nullptr, std::index_sequence<>{});
          return;
        }
      }
      auto* args = std::any_cast<payload_type>(&payload);
      if (args == nullptr) {
        detail::throw_tag_payload_mismatch(typeid(Derived), tag, typeid(payload_type), payload);
      }
      invoke(self, args, std::index_sequence_for<P...>{});
    }

    template <std::size_t... I>
    void invoke(Derived& self, [[maybe_unused]] payload_type* args, std::index_sequence<I...>) {
      // static_cast<P&&>: moves into by-value and && parameters, binds & and const&.
      if constexpr (Member) {
        std::invoke(fn, self, static_cast<P&&>(std::get<I>(*args))...);
      } else {
        std::invoke(fn, static_cast<P&&>(std::get<I>(*args))...);
      }
    }

    Fn fn;
  };

  std::vector<std::string> tags() const {
    std::vector<std::string> out;
    out.reserve(handlers_.size());
    for (const auto& kv : handlers_) out.push_back(kv.first);
    return out;
  }

  std::unordered_map<std::string, std::unique_ptr<handler>> handlers_;
};

/// Sends a tagged message: `tag` plus std::tuple<args...> (decayed; string literals and char
/// pointers become std::string). The receiving handler's parameter types must match exactly.
template <class... Msgs, class... Args>
void send_tagged(const ref<Msgs...>& r, std::string tag, Args&&... args) {
  static_assert(detail::is_one_of<tagged, Msgs...>,
                "troupe::send_tagged: the actor does not handle troupe::tagged messages (derive "
                "it from troupe::tagged_actor<Derived>)");
  r.send(tagged{std::move(tag),
                std::any(std::tuple<detail::tag_arg_t<Args>...>(std::forward<Args>(args)...))});
}

}  // namespace troupe
