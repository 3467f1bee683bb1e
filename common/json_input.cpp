#include "common/json_input.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/json_budget.hpp"
#include "common/limits.hpp"

namespace epsim {

namespace {

// Parser callback that refuses a key repeated in one object (nlohmann keeps the last value silently)
// and knows the JSON pointer of every value it is told about. Events (nlohmann's callback parser):
// object_start/array_start before a container, key before a member's value, value after a scalar,
// object_end/array_end after a container.
// Its state lives outside the callback (nlohmann copies the callback), so that an error the parser raises
// itself (a number too large for a double) can still be reported at the member being read.
class DuplicateKeyCheck {
 public:
  struct Frame {
    bool array = false;
    std::size_t index = 0;  // arrays: elements completed so far
    std::string key;        // objects: the current member
    std::unordered_set<std::string> keys;
  };
  DuplicateKeyCheck(std::string file, std::vector<Frame>& frames) : file_(std::move(file)), frames_(&frames) {}

  // The JSON pointer of the value being read ("" at the top).
  static std::string pointer(const std::vector<Frame>& frames) {
    std::string p;
    for (const Frame& f : frames) {
      p += '/';
      p += f.array ? std::to_string(f.index) : json_pointer_escape(f.key);
    }
    return p;
  }

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        frames_->push_back(Frame{event == Json::parse_event_t::array_start, 0, {}, {}});
        break;
      case Json::parse_event_t::key: {
        Frame& f = frames_->back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw InputError(file_, pointer(*frames_), fmt::format("key \"{}\" appears twice in one object (a JSON reader "
                                                         "would silently keep one of the values)", f.key));
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames_->pop_back();
        next_element();
        break;
      case Json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  }

 private:
  void next_element() {
    if (!frames_->empty() && frames_->back().array) ++frames_->back().index;
  }
  std::string file_;
  std::vector<Frame>* frames_;
};

}  // namespace

namespace {
// nlohmann's message without its "[json.exception.<kind>.<id>] " tag: the user reads what is wrong, not
// the library's error id.
std::string json_message(const char* what) {
  std::string_view m(what);
  if (m.starts_with("[json.exception.")) {
    const std::size_t end = m.find("] ");
    if (end != std::string_view::npos) m.remove_prefix(end + 2);
  }
  return std::string(m);
}
}  // namespace

Json parse_json_text(std::string_view text, const std::string& file) {
  check_json_text(text, file);
  std::vector<DuplicateKeyCheck::Frame> frames;
  try {
    return Json::parse(text, DuplicateKeyCheck(file, frames));
  } catch (const Json::parse_error& e) {
    throw InputError(file, "", fmt::format("not valid JSON (byte {}): {}", e.byte, json_message(e.what())));
  } catch (const Json::exception& e) {
    // e.g. a number too large for a double (1e400): JSON allows it, epsim needs finite numbers. The parser
    // stops inside the member it was reading, so the frames name it.
    throw InputError(file, DuplicateKeyCheck::pointer(frames), fmt::format("expected a finite number: {}", json_message(e.what())));
  }
}

Json read_json_file(const std::filesystem::path& path) { return parse_json_text(read_input_file(path), path.string()); }

std::string json_pointer_escape(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

namespace {
const char* type_name(const Json& j) { return j.type_name(); }
}  // namespace

void JsonCursor::fail(const std::string& expected) const {
  // The value found, when it is a scalar and the expectation does not already name it (a long string
  // is cut to 40 characters: the message names the field, the value only confirms which).
  std::string text = expected;
  if (node_->is_primitive() && expected.find("found") == std::string::npos) {
    std::string value = node_->dump();
    if (value.size() > 40) value = value.substr(0, 37) + "...";
    text += ", found " + value;
  }
  throw InputError(file_, pointer_.empty() ? "/" : pointer_, text);
}

bool JsonCursor::has(std::string_view key) const { return node_->is_object() && node_->contains(key); }

void JsonCursor::require_object() const {
  if (!node_->is_object()) fail(fmt::format("expected an object, found {}", type_name(*node_)));
}

void JsonCursor::reject_unknown_keys(const std::vector<std::string>& allowed) const {
  require_object();
  for (const auto& item : node_->items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) != allowed.end()) continue;
    throw InputError(file_, fmt::format("{}/{}", pointer_, json_pointer_escape(item.key())),
                     fmt::format("unknown field; expected one of {}", fmt::join(allowed, ", ")));
  }
}

void JsonCursor::reject_unknown_keys(std::initializer_list<std::string_view> allowed) const {
  reject_unknown_keys(std::vector<std::string>(allowed.begin(), allowed.end()));
}

JsonCursor JsonCursor::at(std::string_view key) const {
  require_object();
  auto it = node_->find(key);
  std::string child = pointer_ + "/" + json_pointer_escape(key);
  if (it == node_->end()) throw InputError(file_, child, "required field is missing");
  return JsonCursor(*it, file_, child);
}

JsonCursor JsonCursor::at(std::size_t i) const {
  if (!node_->is_array()) fail(fmt::format("expected an array, found {}", type_name(*node_)));
  if (i >= node_->size()) fail(fmt::format("index {} out of range (array of {})", i, node_->size()));
  return JsonCursor((*node_)[i], file_, pointer_ + "/" + std::to_string(i));
}

std::size_t JsonCursor::array_size() const {
  if (!node_->is_array()) fail(fmt::format("expected an array, found {}", type_name(*node_)));
  return node_->size();
}

double JsonCursor::as_number() const {
  if (!node_->is_number()) fail(fmt::format("expected a number, found {}", type_name(*node_)));
  double v = node_->get<double>();
  if (!std::isfinite(v)) fail("expected a finite number");
  return v;
}

double JsonCursor::as_positive() const {
  double v = as_number();
  if (!(v > 0)) fail(fmt::format("expected a number > 0, found {}", v));
  return v;
}

double JsonCursor::as_non_negative() const {
  double v = as_number();
  if (v < 0) fail(fmt::format("expected a number >= 0, found {}", v));
  return v;
}

std::int64_t JsonCursor::as_int(std::int64_t lo, std::int64_t hi) const {
  if (!node_->is_number()) fail(fmt::format("expected an integer, found {}", type_name(*node_)));
  std::int64_t v = 0;
  if (node_->is_number_integer()) {
    if (node_->is_number_unsigned() && node_->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      fail(fmt::format("expected an integer in [{}, {}]", lo, hi));
    v = node_->get<std::int64_t>();
  } else {
    double d = node_->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
      fail(fmt::format("expected an integer in [{}, {}], found {}", lo, hi, d));
    v = static_cast<std::int64_t>(d);
  }
  if (v < lo || v > hi) fail(fmt::format("expected an integer in [{}, {}], found {}", lo, hi, v));
  return v;
}

std::string JsonCursor::as_string() const {
  if (!node_->is_string()) fail(fmt::format("expected a string, found {}", type_name(*node_)));
  return node_->get<std::string>();
}

bool JsonCursor::as_bool() const {
  if (!node_->is_boolean()) fail(fmt::format("expected true or false, found {}", type_name(*node_)));
  return node_->get<bool>();
}

double JsonCursor::number_or(std::string_view key, double fallback) const {
  return has(key) ? at(key).as_number() : fallback;
}
std::int64_t JsonCursor::int_or(std::string_view key, std::int64_t fallback, std::int64_t lo, std::int64_t hi) const {
  return has(key) ? at(key).as_int(lo, hi) : fallback;
}
std::string JsonCursor::string_or(std::string_view key, const std::string& fallback) const {
  return has(key) ? at(key).as_string() : fallback;
}
bool JsonCursor::bool_or(std::string_view key, bool fallback) const {
  return has(key) ? at(key).as_bool() : fallback;
}

}  // namespace epsim
