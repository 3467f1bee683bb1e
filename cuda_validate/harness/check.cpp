#include "cuda_validate/harness/check.hpp"

#include <fmt/format.h>

namespace epsim::cuda {

void throw_call_error(const char* expr, const char* file, int line, const std::string& error) {
  throw CallError(fmt::format("{}:{}: {} failed: {}", file, line, expr, error));
}

std::string cuda_error_text(cudaError_t e) {
  return fmt::format("{} ({})", cudaGetErrorName(e), cudaGetErrorString(e));
}

}  // namespace epsim::cuda
