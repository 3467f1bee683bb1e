#include "common/token_count.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/limits.hpp"

namespace epsim {

bool is_valid_token_count(double tokens) {
  return std::isfinite(tokens) && tokens >= limits::kMinTokenCount && tokens <= limits::kMaxTokenCount;
}

std::string token_count_expected() {
  return fmt::format("a number of tokens in [{:g}, {:g}]", limits::kMinTokenCount, limits::kMaxTokenCount);
}

}  // namespace epsim
