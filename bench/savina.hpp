// bench/savina.hpp — the runtime-independent parts of the Savina workloads that troupe's
// macro benchmarks (bench/macro/) and their CAF peers (bench/peers/caf/) both run, so that
// the two sides do exactly the same work apart from the actor runtime: fork-join's tiny
// computation, the chameneos colour rules and their invariant, and big's seeded random
// choice of ping targets. Nothing here depends on an actor runtime.
//
// Sources: Savina (Imam & Sarkar, AGERE! 2014), github.com/shamsimam/savina —
// benchmarks/fjthrput (ThroughputConfig.performComputation), benchmarks/chameneos
// (ChameneosHelper.complement), benchmarks/big (BigConfig, PseudoRandom per actor).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace savina {

// ---- fork-join throughput (Savina "fjthrput") -------------------------------------------

/// Savina's performComputation(theta): sin(theta)^2. Each message causes one call.
inline double fork_join_work(double theta) {
  const double s = std::sin(theta);
  return s * s;
}
inline constexpr double kForkJoinTheta = 37.2;  // Savina passes 37.2

// ---- chameneos (Savina "chameneos") -----------------------------------------------------

enum class colour : std::uint8_t { red = 0, yellow = 1, blue = 2, faded = 3 };

/// Savina's ChameneosHelper.complement: two different colours give the third, equal colours
/// stay, faded stays faded. Symmetric, so both partners of a meeting end up the same colour.
constexpr colour complement(colour a, colour b) {
  if (a == colour::faded || b == colour::faded) return colour::faded;
  if (a == b) return a;
  return static_cast<colour>(3 - static_cast<int>(a) - static_cast<int>(b));
}

/// Savina's initial colours: chameneo i starts with colour i % 3 (red, yellow, blue, ...).
constexpr colour initial_colour(std::uint32_t i) { return static_cast<colour>(i % 3); }

/// Counts of red, yellow and blue chameneos.
using colour_counts = std::array<std::uint64_t, 3>;

inline colour_counts initial_colour_counts(std::uint32_t chameneos) {
  colour_counts c{};
  for (std::uint32_t i = 0; i < chameneos; ++i) ++c[static_cast<int>(initial_colour(i))];
  return c;
}

/// The colour invariant of the game: a meeting of two different colours moves the counts by
/// (-1, -1, +2) in some order, so the pairwise differences of the counts mod 3 never change.
/// True if `final_counts` (the colours the chameneos had when the mall sent them home) can
/// have come from `initial` by meetings, and no chameneo was lost.
inline bool colours_consistent(const colour_counts& initial, const colour_counts& final_counts) {
  auto mod3 = [](std::uint64_t a, std::uint64_t b) { return ((a % 3) + 3 - (b % 3)) % 3; };
  return initial[0] + initial[1] + initial[2] ==
             final_counts[0] + final_counts[1] + final_counts[2] &&
         mod3(initial[0], initial[1]) == mod3(final_counts[0], final_counts[1]) &&
         mod3(initial[1], initial[2]) == mod3(final_counts[1], final_counts[2]);
}

// ---- big (Savina "big") -----------------------------------------------------------------

/// The seed every random choice of BM_Big derives from; reported as the counter "seed".
inline constexpr std::uint64_t kBigSeed = 20140101;

/// One actor's generator of ping targets (Savina gives each actor its own PseudoRandom(id);
/// here splitmix64 seeded from kBigSeed and the actor's index). Deterministic, so troupe and
/// CAF send exactly the same pings, and the benchmark can replay it to know how many pings
/// each actor must receive.
class ping_targets {
 public:
  ping_targets(std::uint64_t seed, std::uint32_t actor)
      : s_(seed ^ (0x9e3779b97f4a7c15ULL * (actor + 1))) {}

  /// The next target in [0, actors) (multiply-shift on the high 32 bits; may be oneself,
  /// as in Savina).
  std::uint32_t next(std::uint32_t actors) {
    s_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = s_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<std::uint32_t>(((z >> 32) * actors) >> 32);
  }

 private:
  std::uint64_t s_;
};

/// How many pings each of `actors` actors receives when each sends `pings` pings to targets
/// drawn by ping_targets(seed, its index): the replay the benchmarks verify against.
inline std::vector<std::uint64_t> expected_pings_received(std::uint64_t seed, std::uint32_t actors,
                                                          std::uint64_t pings) {
  std::vector<std::uint64_t> received(actors, 0);
  for (std::uint32_t a = 0; a < actors; ++a) {
    ping_targets t(seed, a);
    for (std::uint64_t i = 0; i < pings; ++i) ++received[t.next(actors)];
  }
  return received;
}

}  // namespace savina
