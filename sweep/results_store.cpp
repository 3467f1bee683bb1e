#include "sweep/results_store.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"

namespace epsim {

namespace fs = std::filesystem;

Json sweep_manifest(const SweepSpec& spec) {
  Json axes = Json::array();
  for (const SweepAxis& a : spec.axes) {
    Json values = Json::array(), sets = Json::array();
    bool any_set = false;
    for (const AxisValue& v : a.values) {
      values.push_back(v.value);
      sets.push_back(v.set);
      any_set = any_set || !v.set.empty();
    }
    Json axis = {{"name", a.name}, {"values", values}};
    if (any_set) axis["set"] = sets;
    axes.push_back(axis);
  }
  // The base scenario (paths resolved) and every axis value's "set" are part of the sweep's identity:
  // a resumed folder must hold points of the same scenarios, not only of the same axis labels.
  return {{"schema", "epsim.sweep-results/1"},
          {"name", spec.name},
          {"evaluator", spec.evaluator},
          {"num_points", spec.num_points()},
          {"axes", axes},
          {"base", spec.base}};
}

Json point_record(const SweepPoint& point, const PointResult& result) {
  Json r = {{"index", point.index}, {"axes", point.axes}, {"skipped_reason", result.skipped_reason}};
  r["metrics"] = result.skipped_reason.empty() ? result.metrics : Json::object();
  return r;
}

fs::path point_file(const fs::path& out, std::size_t index) {
  return out / "points" / fmt::format("{}.json", index);
}

Json read_manifest(const fs::path& out) {
  fs::path file = out / "sweep.json";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw InputError(file.string(), "", "a sweep results folder (written by epsim sweep) with its sweep.json");
  Json m = read_json_file(file);
  JsonCursor c(m, file.string());
  c.require_object();
  if (!m.contains("schema") || m["schema"] != "epsim.sweep-results/1")
    (c.has("schema") ? c.at("schema") : c).fail("\"schema\": \"epsim.sweep-results/1\"");
  (void)c.at("num_points").as_int(1, static_cast<std::int64_t>(kMaxSweepPoints));
  (void)c.at("axes").array_size();
  return m;
}

void prepare_results_folder(const fs::path& out, const Json& manifest) {
  std::error_code ec;
  fs::create_directories(out / "points", ec);
  if (ec) throw InputError(out.string(), "", fmt::format("a folder that can be created ({})", ec.message()));
  fs::path file = out / "sweep.json";
  if (fs::exists(file, ec)) {
    Json existing = read_manifest(out);
    if (existing != manifest)
      throw InputError(file.string(), "",
                       "the manifest of this sweep: the folder holds results of a different sweep (other name, "
                       "evaluator, base scenario or axes); use another --out or delete the folder");
    return;
  }
  write_file_atomic(file, json_output_text(manifest, 1, file.string()));
}

void write_point(const fs::path& out, const Json& record) {
  // json_output_text: no inf or NaN reaches a point file (it would be read back as null).
  const fs::path file = point_file(out, record.at("index").get<std::size_t>());
  write_file_atomic(file, json_output_text(record, 1, file.string()));
}

namespace {

Json read_record(const fs::path& file, std::size_t index) {
  Json r = read_json_file(file);
  JsonCursor c(r, file.string());
  c.require_object();
  if (static_cast<std::size_t>(c.at("index").as_int(0, INT64_MAX)) != index)
    c.at("index").fail(fmt::format("{} (the index in the file name)", index));
  c.at("axes").require_object();
  c.at("metrics").require_object();
  (void)c.at("skipped_reason").as_string();
  return r;
}

}  // namespace

std::optional<Json> read_point(const fs::path& out, std::size_t index, const Json& expected_axes) {
  fs::path file = point_file(out, index);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  Json r = read_record(file, index);
  if (r["axes"] != expected_axes)
    throw InputError(file.string(), "/axes",
                     fmt::format("the axes of point {} of this sweep, {}: the folder holds another sweep's point",
                                 index, expected_axes.dump()));
  return r;
}

std::map<std::size_t, Json> read_all_points(const fs::path& out, std::size_t num_points) {
  std::map<std::size_t, Json> all;
  std::error_code ec;
  fs::directory_iterator it(out / "points", ec);
  if (ec) return all;
  for (const fs::directory_entry& e : it) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    std::string stem = e.path().stem().string();
    std::size_t index = 0;
    auto [ptr, err] = std::from_chars(stem.data(), stem.data() + stem.size(), index);
    if (err != std::errc() || ptr != stem.data() + stem.size() || index >= num_points) continue;
    all.emplace(index, read_record(e.path(), index));
  }
  return all;
}

}  // namespace epsim
