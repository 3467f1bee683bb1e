#pragma once
// What a JSON text costs once parsed, checked before it is parsed: nesting depth and the memory of the
// parsed document (nlohmann::json on libstdc++/glibc), so that no input drives a recursive routine past
// its stack or the parser past the machine's memory (docs/limits.md "JSON inputs").
//
// Memory model (x86-64, libstdc++, glibc malloc; a heap block of n bytes takes round16(n + 8), at least 32):
//   every value             16 B inside its parent (array storage or map node), the root 16 B
//   array of n elements     vector object 32 B + storage round16(16 x capacity + 8), where capacity is the
//                           smallest power of two >= n (the parser appends one by one, libstdc++ doubles)
//   object of n members     map object 64 B + n map nodes of 96 B (node header 32 + key string 32 + value 16)
//   string of n characters  string object 48 B, plus round16(n + 9) when n > 15 (past the small-string buffer);
//                           the same for keys, whose string object is inside the map node
// bench/bench_limits measures the estimate against the resident memory of real parses (docs/limits.md).
#include <cstdint>
#include <string>
#include <string_view>

namespace epsim {

/// Heap bytes of a parsed JSON array of `elements` scalar (number, bool, null) elements, its own 16-byte
/// value not counted. Used to check, before writing a file, that epsim can read it back.
std::uint64_t json_array_parsed_bytes(std::uint64_t elements);

/// Shape of a JSON text found by one linear scan that allocates nothing per value.
struct JsonTextShape {
  int max_depth = 0;              ///< deepest nesting of arrays/objects (a scalar root is depth 0)
  std::uint64_t parsed_bytes = 0; ///< estimated memory of the parsed document (model above)
};

/// Scan `text` (valid JSON or not; syntax errors are left to the parser). Throws InputError naming
/// `file` and the line and column when nesting passes limits::kMaxJsonDepth (the scan stops there),
/// or, after the scan, when the estimated parsed size passes limits::kMaxJsonParsedBytes.
JsonTextShape check_json_text(std::string_view text, const std::string& file);

}  // namespace epsim
