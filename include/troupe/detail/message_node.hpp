// troupe/detail/message_node.hpp — a message as it sits in a mailbox: the intrusive link
// followed by the payload, in one pooled allocation (one allocation per send).
//
// The payload's lifetime is shorter than the node's: after the handler runs the payload is
// destroyed at once, but the node stays as the mailbox's dummy until the next pop retires
// it (see mpsc_mailbox.hpp). Hence the payload lives in raw storage, constructed and
// destroyed explicitly.
//
// Alignment: a payload no more aligned than std::max_align_t (16 bytes on x86-64) takes a
// pooled block. An over-aligned one (alignas(32), alignas(64), ...) makes the node as
// over-aligned, and the node then comes from ::operator new with that alignment, because
// the pool's blocks are only 16-byte aligned. Either way the payload sits at an address
// aligned for its type, in the mailbox and in a message_stash (whose copies are nodes of the
// same type).
#pragma once

#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include "troupe/detail/mpsc_mailbox.hpp"
#include "troupe/detail/node_pool.hpp"

namespace troupe::detail {

template <class... Msgs>
struct payload_of {
  using type = std::variant<Msgs...>;
};
template <class M>
struct payload_of<M> {  // one message type: no variant index to store or test
  using type = M;
};

template <class T, class... Ts>
inline constexpr bool is_one_of = (std::is_same_v<T, Ts> || ...);

/// Names message type M at run time by its address: what a narrowed ref passes to
/// actor_base::make_node() (ref.hpp). One object per type in the program (an inline
/// variable), compared by address only.
template <class M>
inline constexpr char message_key = 0;

/// Names a message list, in its order, at run time (actor_base::message_list()): an actor
/// whose handle is ref<Msgs...> answers &message_list_key<Msgs...>. Compared by address only.
template <class... Msgs>
inline constexpr char message_list_key = 0;

template <class... Msgs>
struct message_node final : mailbox_node {
  using payload_type = typename payload_of<Msgs...>::type;
  static constexpr bool pooled = alignof(payload_type) <= alignof(std::max_align_t);

  alignas(payload_type) unsigned char storage[sizeof(payload_type)];

  payload_type& payload() noexcept {
    return *std::launder(reinterpret_cast<payload_type*>(storage));
  }

  template <class M>
  static message_node* make(M&& m) {
    void* mem = allocate();
    auto* n = ::new (mem) message_node;
    try {
      ::new (static_cast<void*>(n->storage)) payload_type(std::forward<M>(m));
    } catch (...) {
      deallocate(n);
      throw;
    }
    return n;
  }

  void destroy_payload() noexcept { payload().~payload_type(); }

  const std::type_info& payload_type_info() noexcept {
    if constexpr (sizeof...(Msgs) == 1) {
      return typeid(payload_type);
    } else {
      return std::visit([](auto& m) -> const std::type_info& { return typeid(m); }, payload());
    }
  }

  /// Frees a node whose payload is already destroyed.
  static void deallocate(mailbox_node* n) noexcept {
    auto* self = static_cast<message_node*>(n);
    self->~message_node();
    if constexpr (pooled) {
      pool_release(self, sizeof(message_node));
    } else {
      ::operator delete (self, std::align_val_t{alignof(message_node)});
    }
  }

 private:
  message_node() = default;
  static void* allocate() {
    if constexpr (pooled) {
      return pool_allocate(sizeof(message_node));
    } else {
      return ::operator new (sizeof(message_node), std::align_val_t{alignof(message_node)});
    }
  }
};

}  // namespace troupe::detail
