#pragma once
// Sequence lengths per data-parallel attention replica (scenario field /replica_lengths,
// docs/simulator.md "DP-attention imbalance"): an explicit list, or drawn from a named distribution
// with a seed. Each replica's attention then costs its own length; the slowest replica gates the layer
// (the dispatch that follows waits for every replica).
#include <cstdint>
#include <string>
#include <vector>

namespace epsim {

/// Distributions of a replica's length around the phase's length.
enum class LengthDistribution { uniform, lognormal };
/// "uniform", "lognormal" (enum order).
const std::vector<std::string>& length_distribution_names();

/// The largest coefficient of variation a uniform distribution of positive lengths has: 1 / sqrt(3)
/// (uniform on [0, 2 x mean]).
inline constexpr double kMaxUniformCv = 0.5773502691896257;

/// `replicas` lengths (tokens) with mean `mean` and coefficient of variation `cv`, deterministic in
/// `seed` (replica i's uniforms are splitmix64(seed x 2^32 + 2i) and splitmix64(seed x 2^32 + 2i + 1), top 53 bits):
/// - uniform: mean x (1 + cv x sqrt(3) x (2u - 1)), u uniform in [0, 1) (needs cv < 1 / sqrt(3));
/// - lognormal: exp(mu + sigma z), sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2 (mean and cv
///   exact in expectation), z standard normal by Box-Muller from two uniforms.
/// Each length is at least 1 token. Throws std::invalid_argument for replicas < 1, mean <= 0, cv < 0,
/// or cv >= 1 / sqrt(3) with uniform.
std::vector<double> draw_replica_lengths(LengthDistribution distribution, int replicas, double mean, double cv,
                                         std::uint64_t seed);

}  // namespace epsim
