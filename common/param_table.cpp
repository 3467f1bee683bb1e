#include "common/param_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {

// Pointer of the object that holds `pointer` ("" for a top-level field).
std::string_view parent_of(std::string_view pointer) {
  const auto slash = pointer.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : pointer.substr(0, slash);
}

std::string key_of(std::string_view pointer) {
  const auto slash = pointer.rfind('/');
  return std::string(slash == std::string_view::npos ? pointer : pointer.substr(slash + 1));
}

std::string number_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) <= 9007199254740992.0) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

std::int64_t int_bound(double v, bool upper) {
  constexpr double kMax = 9.0e18;  // inside int64 (2^63 ~ 9.22e18)
  if (!(std::fabs(v) < kMax)) return upper ? static_cast<std::int64_t>(kMax) : -static_cast<std::int64_t>(kMax);
  return static_cast<std::int64_t>(v);
}

// The string value of `pointer` in `doc` or its default ("" when neither is a string).
std::string condition_value(const Json& doc, ParamTable table, std::string_view pointer) {
  const Json v = param_or_default(doc, table, pointer);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

// `at` is the object at table pointer `here` (its own pointer may carry a prefix, e.g. "/base").
void check_object(const Json& doc, const JsonCursor& at, const std::string& here, ParamTable table) {
  at.require_object();
  std::vector<std::string> known;
  for (const ParamSpec& s : table)
    if (parent_of(s.pointer) == here) known.push_back(key_of(s.pointer));
  // The document's own "schema" first: another format's file (a topology given as a scenario) is named
  // as such, not by its first field this format lacks.
  for (const ParamSpec& s : table)
    if (s.pointer == here + "/schema" && at.has("schema")) check_param_value(s, at.at("schema"));
  for (const auto& [key, value] : at.node().items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      at.at(key).fail(fmt::format("a known field of {} (unknown key '{}'; known: {})",
                                  at.pointer().empty() ? "the document" : at.pointer(), key, fmt::join(known, ", ")));
  for (const ParamSpec& s : table) {
    if (parent_of(s.pointer) != here) continue;
    const std::string key = key_of(s.pointer);
    if (!at.has(key)) {
      if (s.required) (void)at.at(key);  // throws "required field is missing" at the field's pointer
      continue;
    }
    JsonCursor child = at.at(key);
    if (!s.when_pointer.empty()) {
      const std::string v = condition_value(doc, table, s.when_pointer);
      if (std::find(s.when_values.begin(), s.when_values.end(), v) == s.when_values.end())
        child.fail(fmt::format("no {} unless {} is {}", s.pointer, s.when_pointer, fmt::join(s.when_values, " or ")));
    }
    check_param_value(s, child);
    if (child.node().is_object() && (s.type == ParamType::object || s.type == ParamType::path_or_object))
      check_object(doc, child, s.pointer, table);
  }
}

}  // namespace

const ParamSpec* find_param(ParamTable table, std::string_view pointer) {
  for (const ParamSpec& s : table)
    if (s.pointer == pointer) return &s;
  return nullptr;
}

const ParamSpec* find_param_alias(ParamTable table, std::string_view alias) {
  if (alias.empty()) return nullptr;
  for (const ParamSpec& s : table)
    if (s.alias == alias) return &s;
  return nullptr;
}

void check_param_value(const ParamSpec& s, const JsonCursor& at) {
  switch (s.type) {
    case ParamType::object:
      at.require_object();
      return;
    case ParamType::string:
    case ParamType::path:
      if (at.as_string().empty()) at.fail(s.type == ParamType::path ? "a non-empty file path" : "a non-empty string");
      return;
    case ParamType::path_or_object:
      if (at.node().is_object()) return;
      if (!at.node().is_string() || at.node().get<std::string>().empty())
        at.fail("a non-empty file path or an object");
      return;
    case ParamType::choice:
    case ParamType::constant: {
      const std::string v = at.as_string();
      if (std::find(s.choices.begin(), s.choices.end(), v) == s.choices.end())
        at.fail(s.type == ParamType::constant ? fmt::format("\"{}\"", s.choices.front())
                                              : fmt::format("one of {}", fmt::join(s.choices, ", ")));
      return;
    }
    case ParamType::integer:
      (void)at.as_int(int_bound(s.min, false), int_bound(s.max, true));
      return;
    case ParamType::number: {
      const double v = at.as_number();
      if (v < s.min || (s.min_exclusive && v == s.min) || v > s.max) at.fail(fmt::format("a {}", param_type_text(s)));
      return;
    }
    case ParamType::boolean:
      (void)at.as_bool();
      return;
    case ParamType::number_list: {
      if (!at.node().is_array() || at.node().empty()) at.fail(fmt::format("a non-empty {}", param_type_text(s)));
      for (std::size_t i = 0; i < at.node().size(); ++i) {
        const JsonCursor e = at.at(i);
        const double v = e.as_number();
        if (v < s.min || (s.min_exclusive && v == s.min) || v > s.max) e.fail(fmt::format("a number in {}", param_type_text(s)));
      }
      return;
    }
  }
}

void check_document(const Json& doc, const std::string& file, ParamTable table, const std::string& at) {
  check_object(doc, JsonCursor(doc, file, at), "", table);
}

Json param_or_default(const Json& doc, ParamTable table, std::string_view pointer) {
  const ParamSpec* s = find_param(table, pointer);
  if (!s) throw std::logic_error(fmt::format("param_or_default: {} is not in the table", pointer));
  const Json::json_pointer jp{std::string(pointer)};
  if (doc.is_object() && doc.contains(jp)) return doc.at(jp);
  return s->default_value;
}

std::string param_type_text(const ParamSpec& s) {
  switch (s.type) {
    case ParamType::object: return "object";
    case ParamType::string: return "string";
    case ParamType::path: return "path";
    case ParamType::path_or_object: return "path or object";
    case ParamType::choice: return fmt::format("one of {}", fmt::join(s.choices, ", "));
    case ParamType::constant: return fmt::format("\"{}\"", s.choices.empty() ? "" : s.choices.front());
    case ParamType::boolean: return "boolean";
    case ParamType::integer:
      return fmt::format("integer in [{}, {}]", number_text(s.min), number_text(s.max));
    case ParamType::number_list: {
      ParamSpec one = s;
      one.type = ParamType::number;
      const std::string each = param_type_text(one);
      return "list of " + (each == "number" ? std::string("numbers") : "numbers" + each.substr(6));
    }
    case ParamType::number: {
      if (std::isinf(s.min) && std::isinf(s.max)) return "number";
      if (std::isinf(s.max)) return fmt::format("number {} {}", s.min_exclusive ? ">" : ">=", number_text(s.min));
      return fmt::format("number in {}{}, {}]", s.min_exclusive ? "(" : "[", number_text(s.min), number_text(s.max));
    }
  }
  return "";
}

std::string param_default_text(const ParamSpec& s) {
  if (!s.default_note.empty()) return s.default_note;
  if (s.default_value.is_string()) return s.default_value.get<std::string>();
  if (s.default_value.is_number()) return number_text(s.default_value.get<double>());
  if (s.default_value.is_boolean()) return s.default_value.get<bool>() ? "true" : "false";
  if (s.required) return "required";
  return "none";
}

std::string param_table_text(ParamTable table) {
  std::size_t w_ptr = 7, w_type = 4, w_unit = 4, w_def = 7;
  for (const ParamSpec& s : table) {
    w_ptr = std::max(w_ptr, s.pointer.size());
    w_type = std::max(w_type, param_type_text(s).size());
    w_unit = std::max(w_unit, s.unit.size());
    w_def = std::max(w_def, param_default_text(s).size());
  }
  w_type = std::min<std::size_t>(w_type, 40);
  w_def = std::min<std::size_t>(w_def, 30);
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", "pointer", w_ptr, "type", w_type, "unit", w_unit,
                                "default", w_def, "meaning");
  for (const ParamSpec& s : table)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", s.pointer, w_ptr, param_type_text(s), w_type,
                       s.unit.empty() ? "-" : s.unit, w_unit, param_default_text(s), w_def, s.meaning);
  return out;
}

std::string param_table_markdown(ParamTable table) {
  auto cell = [](std::string text) {
    std::string out;
    for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = "| field | type | unit | default | meaning |\n|---|---|---|---|---|\n";
  for (const ParamSpec& s : table) {
    std::string meaning = s.meaning;
    if (!s.when_pointer.empty())
      meaning += fmt::format(" (only when `{}` is {})", s.when_pointer, fmt::join(s.when_values, " or "));
    if (!s.alias.empty()) meaning += fmt::format(" [alias `{}`]", s.alias);
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", s.pointer, cell(param_type_text(s)),
                       s.unit.empty() ? "" : cell(s.unit), cell(param_default_text(s)), cell(meaning));
  }
  return out;
}

Json param_table_json(ParamTable table) {
  Json out = Json::array();
  for (const ParamSpec& s : table) {
    Json e;
    e["pointer"] = s.pointer;
    e["type"] = param_type_text(s);
    if (!s.choices.empty()) e["choices"] = s.choices;
    if (s.type == ParamType::integer || s.type == ParamType::number || s.type == ParamType::number_list) {
      if (!std::isinf(s.min)) e["min"] = s.min;
      if (!std::isinf(s.max)) e["max"] = s.max;
    }
    e["unit"] = s.unit;
    e["default"] = param_default_text(s);
    e["required"] = s.required;
    e["meaning"] = s.meaning;
    if (!s.alias.empty()) e["alias"] = s.alias;
    if (!s.when_pointer.empty()) e["when"] = {{"pointer", s.when_pointer}, {"values", s.when_values}};
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace epsim
