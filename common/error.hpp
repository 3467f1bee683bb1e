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

}  // namespace epsim
