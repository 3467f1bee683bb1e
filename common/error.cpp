#include "common/error.hpp"

#include <algorithm>

#include <fmt/format.h>

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

SettingError::SettingError(std::string setting, std::string value, std::string expected, bool conflicts_with_input)
    : UsageError(fmt::format("setting {} {}: {}", setting, value, expected)),
      setting_(std::move(setting)),
      value_(std::move(value)),
      expected_(std::move(expected)),
      conflicts_with_input_(conflicts_with_input) {}

std::string echo_for_message(const std::string& text, std::size_t max_chars) {
  max_chars = std::max<std::size_t>(max_chars, 16);
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars - 16) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace epsim
