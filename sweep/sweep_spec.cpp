#include "sweep/sweep_spec.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/names.hpp"
#include "common/param_table.hpp"
#include "sweep/evaluator.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_params.hpp"

namespace epsim {

namespace fs = std::filesystem;

std::size_t SweepSpec::num_points() const {
  std::size_t n = 1;
  for (const SweepAxis& a : axes) n *= a.values.size();
  return n;
}

std::vector<std::string> scenario_path_pointers() {
  std::vector<std::string> out;
  for (const ParamSpec& f : scenario_params())
    if (f.type == ParamType::path || f.type == ParamType::path_or_object) out.push_back(f.pointer);
  return out;
}

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
  p = fs::absolute(p).lexically_normal();
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
    if (!v.is_string()) continue;  // a generated topology (object); other types are rejected later
    JsonCursor c(v, at.file(), at.pointer() + ptr);
    scenario[jp] = resolve_path(c, dir);
  }
}

AxisValue parse_axis_value(const JsonCursor& c, const AxisInfo& info, const fs::path& dir) {
  const ParamTable table = scenario_params();
  AxisValue v;
  v.set = Json::object();
  JsonCursor value_at = c;
  if (c.node().is_object() && info.field->type != ParamType::object) {
    value_at = c.at("value");
    if (c.has("set")) {
      JsonCursor set = c.at("set");
      set.require_object();
      for (const auto& [key, val] : set.node().items()) {
        JsonCursor entry(val, c.file(), set.pointer() + "/" + json_pointer_escape(key));
        const ParamSpec* f = find_param(table, key);
        if (!f || f->type == ParamType::constant)
          entry.fail(fmt::format("a key that is the JSON pointer of a scenario field (unknown field '{}'; "
                                 "`epsim schema scenario` lists them)", key));
        check_param_value(*f, entry);
        v.set[key] = is_path_pointer(key) && val.is_string() ? resolve_path(entry, dir) : val;
      }
    }
    for (const auto& [key, val] : c.node().items())
      if (key != "value" && key != "set")
        JsonCursor(val, c.file(), c.pointer() + "/" + json_pointer_escape(key)).fail("only \"value\" and \"set\" members");
  }
  check_axis_value(info, value_at);
  v.value = value_at.node();
  const bool path = info.kind == AxisKind::field && is_path_pointer(info.field->pointer) && v.value.is_string();
  v.scenario_value = path ? resolve_path(value_at, dir) : v.value;
  v.label = json_label(v.value);
  return v;
}

}  // namespace

SweepSpec sweep_spec_from_json(const Json& doc, const std::string& file, const fs::path& base_dir) {
  JsonCursor root(doc, file);
  root.require_object();
  SweepSpec spec;
  spec.file = file;
  if (!root.has("schema") || root.at("schema").node() != kSweepSchema) {
    if (root.has("schema") && root.at("schema").node() == "epsim.sweep/1")
      root.at("schema").fail(fmt::format("\"{}\": since /2 the base is a scenario exactly as `epsim simulate` reads "
                                         "it and axes are scenario fields (docs/sweep.md)", kSweepSchema));
    (root.has("schema") ? root.at("schema") : root).fail(fmt::format("\"schema\": \"{}\"", kSweepSchema));
  }
  for (const auto& [key, val] : doc.items())
    if (key != "schema" && key != "name" && key != "base" && key != "axes" && key != "evaluator" && key != "description")
      JsonCursor(val, file, "/" + json_pointer_escape(key))
          .fail("one of the members schema, name, description, evaluator, base, axes");
  spec.name = root.string_or("name", fs::path(file).stem().string());
  spec.evaluator = root.string_or("evaluator", "plan");
  {
    const auto& names = evaluator_names();
    if (std::find(names.begin(), names.end(), spec.evaluator) == names.end())
      root.at("evaluator").fail(names_text(names));
  }

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
  // The base is a whole scenario that `epsim simulate --scenario` runs as it is.
  if (base.node().is_string()) (void)scenario_from_json(spec.base, base.node().get<std::string>(), "");
  else (void)scenario_from_json(spec.base, file, "/base");

  if (!root.has("axes")) root.fail("\"axes\": an object of axis name -> list of values");
  JsonCursor axes = root.at("axes");
  axes.require_object();
  for (const auto& [key, val] : axes.node().items()) {
    SweepAxis axis;
    JsonCursor list(val, file, axes.pointer() + "/" + json_pointer_escape(key));
    if (!find_axis(key, axis.info)) {
      std::vector<std::string> names;
      for (const AxisInfo& a : named_axes()) names.push_back(a.name);
      list.fail(fmt::format("a JSON pointer into the scenario (`epsim schema scenario`) or a named axis: {}",
                            fmt::join(names, ", ")));
    }
    axis.name = key;
    if (!list.node().is_array() || list.node().empty()) list.fail("a non-empty array of values");
    for (std::size_t i = 0; i < list.array_size(); ++i) {
      AxisValue v = parse_axis_value(list.at(i), axis.info, base_dir);
      for (const AxisValue& prev : axis.values)
        if (prev.value == v.value) list.at(i).fail(fmt::format("a value not listed before in {}", list.pointer()));
      // The base with this value applied must still be a scenario of the table's fields and types.
      Json probe = spec.base;
      for (const auto& [ptr, w] : axis_writes(axis.info, v.scenario_value)) probe[Json::json_pointer(ptr)] = w;
      for (const auto& [ptr, w] : v.set.items()) probe[Json::json_pointer(ptr)] = w;
      check_document(probe, fmt::format("{} (its base with {} applied)", file, list.at(i).pointer()), scenario_params(),
                     "/base");
      axis.values.push_back(std::move(v));
    }
    spec.axes.push_back(std::move(axis));
  }
  std::stable_sort(spec.axes.begin(), spec.axes.end(), [](const SweepAxis& a, const SweepAxis& b) {
    return a.info.order != b.info.order ? a.info.order < b.info.order : a.name < b.name;
  });
  // One axis per field: two axes may not write the same field (the ep and layout shorthands excepted:
  // a baseline overrides the EP layout on purpose, see axis_catalog.hpp).
  for (std::size_t a = 0; a < spec.axes.size(); ++a)
    for (std::size_t b = a + 1; b < spec.axes.size(); ++b) {
      const AxisInfo &x = spec.axes[a].info, &y = spec.axes[b].info;
      if ((x.kind == AxisKind::ep && y.kind == AxisKind::layout) || (x.kind == AxisKind::layout && y.kind == AxisKind::ep))
        continue;
      for (const auto& [px, vx] : axis_writes(x, spec.axes[a].values.front().scenario_value))
        for (const auto& [py, vy] : axis_writes(y, spec.axes[b].values.front().scenario_value))
          if (px == py)
            axes.fail(fmt::format("one axis per scenario field ({} and {} both set {})", spec.axes[a].name,
                                  spec.axes[b].name, px));
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
