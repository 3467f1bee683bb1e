#pragma once
// Typed errors that travel as exceptions to cli/main, which maps them to exit codes
// (InputError -> 1, UsageError -> 2). Library code never calls exit().
#include <stdexcept>
#include <string>

namespace epsim {

/// A file or value given to epsim is invalid. what() names the file, the JSON pointer
/// (or element) and what was expected. Exit code 1.
class InputError : public std::runtime_error {
 public:
  /// file: path as given by the user; pointer: JSON pointer such as "/links/3/bandwidth_GBps"
  /// (empty when the whole file is at fault); expected: what a valid value looks like.
  InputError(const std::string& file, const std::string& pointer, const std::string& expected);
  /// A message that is not tied to one file (e.g. a run setting that contradicts the inputs).
  explicit InputError(const std::string& message);
};

/// The command line itself is wrong (unknown flag, incompatible options). Exit code 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

/// A run setting (a member of a settings struct, e.g. PlanSettings::redundant) is invalid. Library code
/// names the setting, never a command-line flag; cli/main maps the setting to the flag that sets it
/// ("redundant" -> "--redundant", "tokens_per_gpu" -> "--tokens-per-gpu"), other callers show it as
/// is. A UsageError, so callers that catch usage errors catch it. Exit code 2 (usage error), or 1 when the
/// setting contradicts an input file (`conflicts_with_input`).
class SettingError : public UsageError {
 public:
  /// setting: the member's name in snake_case; value: the value given, as text; expected: what a
  /// valid value is.
  SettingError(std::string setting, std::string value, std::string expected, bool conflicts_with_input = false);
  const std::string& setting() const { return setting_; }
  const std::string& value() const { return value_; }
  const std::string& expected() const { return expected_; }
  bool conflicts_with_input() const { return conflicts_with_input_; }

 private:
  std::string setting_, value_, expected_;
  bool conflicts_with_input_;
};

/// `text` as an error message echoes it: whole up to `max_chars` (>= 16), else its first max_chars - 16
/// characters, "...", and its length ("... (100000 characters)"), so that a pasted file or a runaway
/// argument does not flood the terminal.
std::string echo_for_message(const std::string& text, std::size_t max_chars = 80);

/// Run `load` (which reads a file another input names); an InputError from it is rethrown with
/// " (the file <by> names at <key>)" appended, so that a user with several scenarios or sweep points
/// knows which one names the bad file. Other exceptions pass unchanged.
template <class F>
auto named_by(const std::string& by, const std::string& key, F&& load) {
  try {
    return load();
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (the file " + by + " names at " + key + ")");
  }
}

}  // namespace epsim
