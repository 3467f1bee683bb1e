#include "common/error.hpp"

namespace epsim {

namespace {
std::string format_input_error(const std::string& file, const std::string& pointer,
                               const std::string& expected) {
  std::string where = file.empty() ? std::string("<input>") : file;
  if (!pointer.empty()) where += ": " + pointer;
  return where + ": " + expected;
}
}  // namespace

InputError::InputError(const std::string& file, const std::string& pointer, const std::string& expected)
    : std::runtime_error(format_input_error(file, pointer, expected)) {}

InputError::InputError(const std::string& message) : std::runtime_error(message) {}

}  // namespace epsim
