#include "common/json_budget.hpp"

#include <bit>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

namespace {

// glibc malloc: a request of n bytes takes a chunk of round16(n + 8) bytes, at least 32.
constexpr std::uint64_t heap_block(std::uint64_t n) {
  const std::uint64_t chunk = (n + 8 + 15) / 16 * 16;
  return chunk < 32 ? 32 : chunk;
}
constexpr std::uint64_t kValueBytes = 16;        // sizeof(nlohmann::json)
constexpr std::uint64_t kVectorObjectBytes = heap_block(24);         // std::vector<json>
constexpr std::uint64_t kMapObjectBytes = heap_block(48);            // std::map<std::string, json>
constexpr std::uint64_t kMapNodeBytes = heap_block(32 + 32 + 16);    // node header + key string + value
constexpr std::uint64_t kStringObjectBytes = heap_block(32);         // std::string
constexpr std::uint64_t kSmallString = 15;       // libstdc++ small-string buffer

std::uint64_t string_bytes(std::uint64_t length) {
  return length > kSmallString ? heap_block(length + 1) : 0;
}

struct Frame {
  bool array = false;
  bool expect_key = false;  // objects: the next string is a key
  std::uint64_t count = 0;  // elements (arrays) or members (objects)
};

[[noreturn]] void too_deep(std::string_view text, std::size_t pos, const std::string& file) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  throw InputError(file, "",
                   fmt::format("nesting deeper than {} levels of arrays/objects (line {}, column {}); epsim's formats "
                               "nest at most ~8 (docs/limits.md)",
                               limits::kMaxJsonDepth, line, col));
}

}  // namespace

std::uint64_t json_array_parsed_bytes(std::uint64_t elements) {
  if (elements == 0) return kVectorObjectBytes;
  return kVectorObjectBytes + heap_block(kValueBytes * std::bit_ceil(elements));
}

JsonTextShape check_json_text(std::string_view text, const std::string& file) {
  JsonTextShape shape;
  std::vector<Frame> stack;
  stack.reserve(static_cast<std::size_t>(limits::kMaxJsonDepth) + 1);
  std::uint64_t bytes = kValueBytes;  // the root value
  auto element = [&] {
    if (!stack.empty() && stack.back().array) ++stack.back().count;
  };
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    switch (c) {
      case ' ': case '\t': case '\n': case '\r': case ':':
        break;
      case ',':
        if (!stack.empty() && !stack.back().array) stack.back().expect_key = true;
        break;
      case '"': {
        std::size_t j = i + 1;
        while (j < n && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
        const std::uint64_t length = j - i - 1;  // escapes counted as written: an upper bound
        if (!stack.empty() && !stack.back().array && stack.back().expect_key) {
          stack.back().expect_key = false;
          ++stack.back().count;
          bytes += string_bytes(length);  // the key's string object is inside the map node
        } else {
          element();
          bytes += kStringObjectBytes + string_bytes(length);
        }
        i = j;
        break;
      }
      case '[': case '{':
        element();
        stack.push_back(Frame{c == '[', c == '{', 0});
        if (static_cast<int>(stack.size()) > shape.max_depth) {
          shape.max_depth = static_cast<int>(stack.size());
          if (shape.max_depth > limits::kMaxJsonDepth) too_deep(text, i, file);
        }
        break;
      case ']': case '}':
        if (stack.empty()) break;  // a syntax error the parser reports
        bytes += stack.back().array ? json_array_parsed_bytes(stack.back().count)
                                    : kMapObjectBytes + kMapNodeBytes * stack.back().count;
        stack.pop_back();
        break;
      default:  // a number, true, false, null (or garbage the parser reports)
        element();
        while (i + 1 < n && text[i + 1] != ',' && text[i + 1] != ']' && text[i + 1] != '}' && text[i + 1] != ' ' &&
               text[i + 1] != '\n' && text[i + 1] != '\t' && text[i + 1] != '\r' && text[i + 1] != '"' &&
               text[i + 1] != '[' && text[i + 1] != '{' && text[i + 1] != ':')
          ++i;
        break;
    }
  }
  shape.parsed_bytes = bytes;
  if (bytes > limits::kMaxJsonParsedBytes)
    throw InputError(file, "",
                     fmt::format("a document that parses to at most {} MiB; this one would take ~{} MiB ({} MiB of "
                                 "text; docs/limits.md)",
                                 limits::kMaxJsonParsedBytes >> 20, bytes >> 20, n >> 20));
  return shape;
}

}  // namespace epsim
