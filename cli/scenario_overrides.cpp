#include "cli/scenario_overrides.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "common/error.hpp"
#include "common/json_input.hpp"
#include "common/param_table.hpp"
#include "sim/scenario/scenario_params.hpp"

namespace epsim::cli {

namespace {

bool is_scalar(ParamType t) { return t != ParamType::object && t != ParamType::path_or_object && t != ParamType::constant; }

// The JSON value of a flag's text for a field of type `t`; throws UsageError naming the flag.
Json value_for(const ParamSpec& f, const std::string& text, const std::string& flag) {
  switch (f.type) {
    case ParamType::integer: {
      long long v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size())
        throw UsageError(fmt::format("{} '{}': expected an integer in decimal digits{}", flag, echo_for_message(text),
                                     std::isfinite(f.min) && std::isfinite(f.max)
                                         ? fmt::format(" in [{}, {}]", f.min, f.max)
                                         : std::string()));
      return v;
    }
    case ParamType::number: {
      try {
        if (!is_decimal_number_text(text)) throw std::invalid_argument(text);
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        return v;
      } catch (const std::exception&) {
        throw UsageError(fmt::format("{} '{}': expected a number", flag, echo_for_message(text)));
      }
    }
    case ParamType::number_list: {  // a JSON array, e.g. [2000,3000]
      Json v = Json::parse(text, nullptr, false);
      if (v.is_discarded() || !v.is_array()) throw UsageError(fmt::format("{} '{}': expected a JSON array of numbers", flag, echo_for_message(text)));
      return v;
    }
    case ParamType::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      throw UsageError(fmt::format("{} '{}': expected true or false", flag, echo_for_message(text)));
    case ParamType::path:
    case ParamType::path_or_object:
      if (text.empty()) return text;  // rejected by the field's check
      return std::filesystem::absolute(text).lexically_normal().string();
    default:
      return text;
  }
}

void set_checked(Json& doc, const ParamSpec& f, Json value, const std::string& flag) {
  try {
    check_param_value(f, JsonCursor(value, flag, f.pointer));
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
  // Every enclosing field present in the scenario must be an object (e.g. /topology/nic_GBps needs a
  // generated cluster, not a topology file).
  const Json::json_pointer jp(f.pointer);
  for (Json::json_pointer parent = jp.parent_pointer(); !parent.empty(); parent = parent.parent_pointer())
    if (doc.contains(parent) && !doc.at(parent).is_object())
      throw UsageError(fmt::format("{}: the scenario's {} is not an object (e.g. a topology file instead of a "
                                   "generated cluster), so {} cannot be set",
                                   flag, parent.to_string(), f.pointer));
  if (!doc.is_object()) throw UsageError(fmt::format("{}: the scenario is not a JSON object", flag));
  doc[jp] = std::move(value);
}

}  // namespace

void ScenarioOverrides::add_flags(CLI::App& command) {
  for (const ParamSpec& f : scenario_params()) {
    if (f.alias.empty() || !is_scalar(f.type)) continue;
    auto flag = std::make_unique<Flag>();
    flag->pointer = f.pointer;
    std::string name = f.alias;
    for (char& c : name)
      if (c == '_') c = '-';
    flag->name = "--" + name;
    std::string help = fmt::format("override {}: {} ({})", f.pointer, f.meaning, param_type_text(f));
    flag->option = command.add_option(flag->name, flag->value, help);
    flags_.push_back(std::move(flag));
  }
  command.add_option("--set", sets_,
                     "override any scenario field: POINTER=VALUE, e.g. /phase/micro_batches=4 or /network=flow (VALUE "
                     "read as the field's type; a JSON string's quotes, /network=\"flow\", are removed first; an "
                     "object field takes a JSON object); `epsim schema scenario` lists the fields");
}

bool ScenarioOverrides::any() const {
  if (!sets_.empty()) return true;
  for (const auto& f : flags_)
    if (f->option->count() > 0) return true;
  return false;
}

void ScenarioOverrides::apply(Json& doc) const {
  const ParamTable table = scenario_params();
  for (const auto& f : flags_) {
    if (f->option->count() == 0) continue;
    const ParamSpec& spec = *find_param(table, f->pointer);
    set_checked(doc, spec, value_for(spec, f->value, f->name), f->name);
  }
  for (const std::string& s : sets_) {
    const auto eq = s.find('=');
    const std::string flag = fmt::format("--set {}", echo_for_message(s));
    if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("{}: expected POINTER=VALUE", flag));
    const std::string pointer = s.substr(0, eq), text = s.substr(eq + 1);
    const ParamSpec* spec = find_param(table, pointer);
    if (!spec || spec->type == ParamType::constant)
      throw UsageError(fmt::format("{}: {} is not a scenario field (`epsim schema scenario` lists them)", flag, pointer));
    Json value;
    if (spec->type == ParamType::object || spec->type == ParamType::path_or_object) {
      // A value written as a JSON object is read as one (epsim's JSON reader: a syntax error's byte, a
      // number no double holds or a repeated key named), not taken for a string when it does not parse.
      if (const auto first = text.find_first_not_of(" \t\r\n"); first != std::string::npos && text[first] == '{') {
        try {
          value = parse_json_text(text, flag);
        } catch (const InputError& e) {
          throw UsageError(e.what());
        }
      } else {
        value = Json::parse(text, nullptr, false);
      }
      if (value.is_discarded() || (!value.is_object() && spec->type == ParamType::object))
        value = value_for(*spec, text, flag);
    } else if (const Json quoted = Json::parse(text, nullptr, false); quoted.is_string()) {
      // VALUE as JSON: a quoted string is that string (`/network="flow"`), then read as the field's type.
      value = value_for(*spec, quoted.get<std::string>(), flag);
    } else {
      value = value_for(*spec, text, flag);
    }
    set_checked(doc, *spec, std::move(value), flag);
  }
}

std::map<std::string, std::string> ScenarioOverrides::flags_by_pointer() const {
  std::map<std::string, std::string> out;
  for (const auto& f : flags_)
    if (f->option->count() > 0) out[f->pointer] = f->name;
  for (const std::string& s : sets_)
    if (const auto eq = s.find('='); eq != std::string::npos && eq > 0)
      out[s.substr(0, eq)] = "--set " + echo_for_message(s);  // a later --set wins, as apply writes it last
  return out;
}

std::string ScenarioOverrides::describe() const {
  std::vector<std::string> given;
  for (const auto& f : flags_)
    if (f->option->count() > 0) given.push_back(fmt::format("{} {}", f->name, f->value));
  for (const std::string& s : sets_) given.push_back("--set " + s);
  return fmt::format("{}", fmt::join(given, ", "));
}

}  // namespace epsim::cli
