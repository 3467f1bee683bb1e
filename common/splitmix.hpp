#pragma once
// splitmix64: a fixed, well-mixed 64-bit function of a 64-bit value (the output function of Vigna's
// SplitMix64 generator, constants from Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014). Used where a deterministic hash or seed derivation is needed.
#include <cstdint>

namespace epsim {

/// Mixed value of x. Pure, O(1).
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace epsim
