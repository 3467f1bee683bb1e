#pragma once
// Reading JSON inputs with errors that name the file, the JSON pointer and what was expected.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace epsim {

using Json = nlohmann::json;

/// Parse a whole JSON file. Throws InputError naming the file (and byte offset, line or JSON pointer)
/// when it cannot be read (common/input_file.hpp: size cap), is not valid JSON, nests deeper than
/// limits::kMaxJsonDepth, would take more than limits::kMaxJsonParsedBytes once parsed
/// (common/json_budget.hpp), or repeats a key inside one object (named with its pointer).
Json read_json_file(const std::filesystem::path& path);
/// The same checks on a text already in memory; `file` names it in messages.
Json parse_json_text(std::string_view text, const std::string& file);

/// A position inside a parsed JSON document: the file it came from and the JSON pointer of `node`.
/// Accessors throw InputError naming file + pointer + expectation. Cheap to copy (holds a reference).
class JsonCursor {
 public:
  JsonCursor(const Json& node, std::string file, std::string pointer = "")
      : node_(&node), file_(std::move(file)), pointer_(std::move(pointer)) {}

  const Json& node() const { return *node_; }
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }

  bool has(std::string_view key) const;
  /// Child object member; throws if this is not an object or the key is missing.
  JsonCursor at(std::string_view key) const;
  /// Array element; throws if this is not an array or i is out of range.
  JsonCursor at(std::size_t i) const;
  /// Number of elements; throws unless this is an array.
  std::size_t array_size() const;
  void require_object() const;
  /// For epsim's own formats: a member not in `allowed` is an error (most likely a typo). Throws
  /// InputError at the member's pointer listing the allowed names; also when this is not an object.
  void reject_unknown_keys(std::initializer_list<std::string_view> allowed) const;
  void reject_unknown_keys(const std::vector<std::string>& allowed) const;

  /// Finite number. Throws on other types, NaN or infinity.
  double as_number() const;
  /// Finite number > 0.
  double as_positive() const;
  /// Finite number >= 0.
  double as_non_negative() const;
  /// Integer in [lo, hi] (a JSON number with no fractional part).
  std::int64_t as_int(std::int64_t lo, std::int64_t hi) const;
  std::string as_string() const;
  bool as_bool() const;

  /// Shorthands for optional members: the default when absent, validated when present.
  double number_or(std::string_view key, double fallback) const;
  std::int64_t int_or(std::string_view key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const;
  std::string string_or(std::string_view key, const std::string& fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;

  /// Throw InputError at this position with the given expectation, followed by ", found <value>" when
  /// the node is a scalar and `expected` does not already say what was found.
  [[noreturn]] void fail(const std::string& expected) const;

 private:
  const Json* node_;
  std::string file_;
  std::string pointer_;
};

/// Escape a key for use in a JSON pointer (RFC 6901: '~' -> "~0", '/' -> "~1").
std::string json_pointer_escape(std::string_view key);

}  // namespace epsim
