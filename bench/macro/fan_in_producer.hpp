// bench/macro/fan_in_producer.hpp — the producer side of the fan-in workload, shared by
// BM_FanIn (fan_in.cpp) and BM_KindFanIn (actor_kinds.cpp) so that both measure the same
// sends. Producer: an event actor that sends its count of Add messages to one counter in
// chunks of kChunk, sending itself a Continue between chunks (as a user writes a
// long-running producer: it yields to the scheduler between chunks). OneLoopProducer: the
// same sends in one handler loop (as CAF and Go users write fan-in: the producer never
// yields until its share is sent).
#pragma once

#include <cstdint>
#include <utility>

#include "bench_options.hpp"

namespace bench::fan_in {

inline constexpr unsigned kProducers = 2;
inline constexpr std::uint64_t kChunk = 1000;

struct Add {
  std::uint32_t producer;
  std::uint32_t seq;  // 1, 2, ... per producer
};
struct Continue {};

struct Producer : troupe::actor<Producer, Continue> {
  Producer(troupe::ref<Add> counter, std::uint32_t id, std::uint64_t count)
      : counter_(std::move(counter)), id_(id), left_(count) {}

  void on(Continue) {
    const std::uint64_t n = left_ < kChunk ? left_ : kChunk;
    for (std::uint64_t i = 0; i < n; ++i) counter_.send(Add{id_, ++seq_});
    left_ -= n;
    if (left_ > 0) self().send(Continue{});
  }

  troupe::ref<Add> counter_;
  std::uint32_t id_;
  std::uint32_t seq_ = 0;
  std::uint64_t left_;
};

struct OneLoopProducer : troupe::actor<OneLoopProducer, Continue> {
  OneLoopProducer(troupe::ref<Add> counter, std::uint32_t id, std::uint64_t count)
      : counter_(std::move(counter)), id_(id), count_(count) {}

  void on(Continue) {
    for (std::uint64_t i = 0; i < count_; ++i) counter_.send(Add{id_, ++seq_});
  }

  troupe::ref<Add> counter_;
  std::uint32_t id_;
  std::uint32_t seq_ = 0;
  std::uint64_t count_;
};

/// Continue messages a run handles: one from the benchmark thread per producer, then one
/// per chunk but the last.
inline std::uint64_t continues(std::uint64_t per_producer) {
  return kProducers * ((per_producer + kChunk - 1) / kChunk);
}

/// Continue messages a run of OneLoopProducer handles: one per producer.
inline std::uint64_t continues(const OneLoopProducer*, std::uint64_t) { return kProducers; }
inline std::uint64_t continues(const Producer*, std::uint64_t per_producer) {
  return continues(per_producer);
}

}  // namespace bench::fan_in
