#include "sim/scenario/replica_lengths.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "common/splitmix.hpp"

namespace epsim {

const std::vector<std::string>& length_distribution_names() {
  static const std::vector<std::string> names = {"uniform", "lognormal"};
  return names;
}

namespace {

// Uniform in [0, 1) from the top 53 bits.
double unit(std::uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

}  // namespace

std::vector<double> draw_replica_lengths(LengthDistribution d, int replicas, double mean, double cv, std::uint64_t seed) {
  if (replicas < 1 || !(mean > 0) || !(cv >= 0) || !std::isfinite(cv))
    throw std::invalid_argument("draw_replica_lengths: replicas >= 1, mean > 0 and a finite cv >= 0");
  if (d == LengthDistribution::uniform && !(cv < kMaxUniformCv))
    throw std::invalid_argument("draw_replica_lengths: cv < 1/sqrt(3) for uniform lengths (positive lengths)");
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(replicas));
  const double sigma2 = std::log1p(cv * cv), sigma = std::sqrt(sigma2), mu = std::log(mean) - sigma2 / 2;
  for (int i = 0; i < replicas; ++i) {
    const std::uint64_t base = (seed << 32) + (static_cast<std::uint64_t>(i) << 1);
    const double u1 = unit(splitmix64(base)), u2 = unit(splitmix64(base + 1));
    double v = 0;
    if (d == LengthDistribution::uniform) {
      v = mean * (1 + cv * std::sqrt(3.0) * (2 * u1 - 1));
    } else {
      const double z = std::sqrt(-2 * std::log1p(-u1)) * std::cos(2 * std::numbers::pi * u2);  // 1 - u1 in (0, 1]
      v = std::exp(mu + sigma * z);
    }
    out.push_back(std::max(1.0, v));
  }
  return out;
}

}  // namespace epsim
