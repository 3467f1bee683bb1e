#include "sweep/sweep_spec.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"

namespace epsim {

namespace fs = std::filesystem;

std::size_t SweepSpec::num_points() const {
  std::size_t n = 1;
  for (const SweepAxis& a : axes) n *= a.values.size();
  return n;
}

std::vector<std::string> scenario_path_pointers() { return {"/model", "/loads", "/topology/file", "/gemm_efficiency", "/calibration"}; }

std::string json_label(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return fmt::format("{}", v.get<std::int64_t>());
  if (v.is_number_unsigned()) return fmt::format("{}", v.get<std::uint64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

namespace {

bool is_path_pointer(const std::string& pointer) {
  auto p = scenario_path_pointers();
  return std::find(p.begin(), p.end(), pointer) != p.end();
}

// A path value resolved against `dir` (absolute paths stay), checked to exist.
Json resolve_path(const JsonCursor& c, const fs::path& dir) {
  std::string s = c.as_string();
  if (s.empty()) c.fail("a non-empty file path");
  fs::path p(s);
  if (p.is_relative()) p = dir / p;
  p = p.lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) c.fail(fmt::format("an existing file (relative paths start at {}); {} is not one",
                                                      dir.empty() ? "." : dir.string(), p.string()));
  return p.string();
}

// Resolve the path fields of a scenario (base) in place.
void resolve_scenario_paths(Json& scenario, const JsonCursor& at, const fs::path& dir) {
  for (const std::string& ptr : scenario_path_pointers()) {
    Json::json_pointer jp(ptr);
    if (!scenario.contains(jp)) continue;
    const Json& v = scenario.at(jp);
    if (v.is_null()) continue;
    JsonCursor c(v, at.file(), at.pointer() + ptr);
    scenario[jp] = resolve_path(c, dir);
  }
}

void check_value_kind(const JsonCursor& c, AxisKind kind) {
  switch (kind) {
    case AxisKind::path:
    case AxisKind::text:
      if (c.as_string().empty()) c.fail("a non-empty string");
      return;
    case AxisKind::phase: {
      std::string s = c.as_string();
      if (s != "prefill" && s != "decode" && s != "train") c.fail("\"prefill\", \"decode\" or \"train\"");
      return;
    }
    case AxisKind::fabric: {
      std::string s = c.as_string();
      if (s != "rail_optimized" && s != "fat_tree") c.fail("\"rail_optimized\" or \"fat_tree\"");
      return;
    }
    case AxisKind::layout: {
      static const std::regex re("ep|tp[1-9][0-9]*xpp[1-9][0-9]*");
      if (!std::regex_match(c.as_string(), re)) c.fail("\"ep\" or a baseline \"tp<T>xpp<P>\" such as \"tp8xpp2\"");
      return;
    }
    case AxisKind::algorithm: {
      auto names = placement_algorithm_names();
      if (std::find(names.begin(), names.end(), c.as_string()) == names.end())
        c.fail(fmt::format("a placement algorithm: {}", fmt::join(names, ", ")));
      return;
    }
    case AxisKind::count: (void)c.as_int(1, 1 << 20); return;
    case AxisKind::count0: (void)c.as_int(0, 1 << 20); return;
    case AxisKind::non_negative: (void)c.as_non_negative(); return;
    case AxisKind::positive: (void)c.as_positive(); return;
    case AxisKind::at_least_one:
      if (c.as_number() < 1) c.fail("a number >= 1");
      return;
  }
}

AxisValue parse_axis_value(const JsonCursor& c, const AxisInfo& info, const fs::path& dir) {
  AxisValue v;
  JsonCursor value_at = c;
  if (c.node().is_object()) {
    value_at = c.at("value");
    v.set = Json::object();
    if (c.has("set")) {
      JsonCursor set = c.at("set");
      set.require_object();
      for (const auto& [key, val] : set.node().items()) {
        JsonCursor entry(val, c.file(), set.pointer() + "/" + json_pointer_escape(key));
        if (key.empty() || key.front() != '/') entry.fail("a key that is a JSON pointer into the scenario (\"/loads\")");
        v.set[key] = is_path_pointer(key) ? resolve_path(entry, dir) : val;
      }
    }
    for (const auto& [key, val] : c.node().items())
      if (key != "value" && key != "set")
        JsonCursor(val, c.file(), c.pointer() + "/" + json_pointer_escape(key)).fail("only \"value\" and \"set\" members");
  } else {
    v.set = Json::object();
  }
  check_value_kind(value_at, info.kind);
  v.value = value_at.node();
  v.scenario_value = info.kind == AxisKind::path ? resolve_path(value_at, dir) : v.value;
  v.label = json_label(v.value);
  return v;
}

}  // namespace

SweepSpec sweep_spec_from_json(const Json& doc, const std::string& file, const fs::path& base_dir) {
  JsonCursor root(doc, file);
  root.require_object();
  SweepSpec spec;
  spec.file = file;
  if (!root.has("schema") || root.at("schema").node() != "epsim.sweep/1")
    (root.has("schema") ? root.at("schema") : root).fail("\"schema\": \"epsim.sweep/1\"");
  for (const auto& [key, val] : doc.items())
    if (key != "schema" && key != "name" && key != "base" && key != "axes" && key != "evaluator" && key != "description")
      JsonCursor(val, file, "/" + json_pointer_escape(key))
          .fail("one of the members schema, name, description, evaluator, base, axes");
  spec.name = root.string_or("name", fs::path(file).stem().string());
  spec.evaluator = root.string_or("evaluator", "plan");
  if (spec.evaluator != "plan" && spec.evaluator != "simulate") root.at("evaluator").fail("\"plan\" or \"simulate\"");

  // Base scenario: inline object (paths relative to the spec) or a file (paths relative to it).
  if (!root.has("base")) root.fail("a \"base\" scenario (object or path)");
  JsonCursor base = root.at("base");
  if (base.node().is_string()) {
    Json path = resolve_path(base, base_dir);
    fs::path base_file = path.get<std::string>();
    spec.base = read_json_file(base_file);
    JsonCursor at(spec.base, base_file.string());
    at.require_object();
    resolve_scenario_paths(spec.base, at, base_file.parent_path());
  } else if (base.node().is_object()) {
    spec.base = base.node();
    resolve_scenario_paths(spec.base, base, base_dir);
  } else {
    base.fail("a scenario object or the path of a scenario file");
  }
  if (spec.base.contains("schema") && spec.base["schema"] != "epsim.scenario/1")
    JsonCursor(spec.base["schema"], file, "/base/schema").fail("\"epsim.scenario/1\"");

  if (!root.has("axes")) root.fail("\"axes\": an object of axis name -> list of values");
  JsonCursor axes = root.at("axes");
  axes.require_object();
  for (const auto& [key, val] : axes.node().items())
    if (!find_axis(key)) {
      std::vector<std::string> names;
      for (const AxisInfo& a : axis_catalog()) names.emplace_back(a.name);
      JsonCursor(val, file, axes.pointer() + "/" + json_pointer_escape(key))
          .fail(fmt::format("a known axis: {}", fmt::join(names, ", ")));
    }
  for (const AxisInfo& info : axis_catalog()) {
    if (!axes.has(info.name)) continue;
    JsonCursor list = axes.at(info.name);
    if (!list.node().is_array() || list.node().empty()) list.fail("a non-empty array of values");
    SweepAxis axis;
    axis.info = &info;
    axis.name = std::string(info.name);
    for (std::size_t i = 0; i < list.array_size(); ++i) {
      AxisValue v = parse_axis_value(list.at(i), info, base_dir);
      for (const AxisValue& prev : axis.values)
        if (prev.value == v.value) list.at(i).fail(fmt::format("a value not listed before in {}", list.pointer()));
      axis.values.push_back(std::move(v));
    }
    spec.axes.push_back(std::move(axis));
  }
  // Product without overflow.
  std::size_t n = 1;
  for (const SweepAxis& a : spec.axes) {
    if (n > kMaxSweepPoints / a.values.size()) axes.fail(fmt::format("a grid of at most {} points", kMaxSweepPoints));
    n *= a.values.size();
  }
  return spec;
}

SweepSpec load_sweep_spec(const fs::path& path) {
  Json doc = read_json_file(path);
  return sweep_spec_from_json(doc, path.string(), path.parent_path());
}

}  // namespace epsim
