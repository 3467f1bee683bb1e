#include "sweep/grid.hpp"

#include <charconv>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

std::vector<std::size_t> point_axis_indices(const SweepSpec& spec, std::size_t index) {
  if (index >= spec.num_points())
    throw std::out_of_range(fmt::format("point {} of a {}-point grid", index, spec.num_points()));
  std::vector<std::size_t> idx(spec.axes.size());
  for (std::size_t a = spec.axes.size(); a-- > 0;) {
    std::size_t n = spec.axes[a].values.size();
    idx[a] = index % n;
    index /= n;
  }
  return idx;
}

SweepPoint make_point(const SweepSpec& spec, std::size_t index) {
  SweepPoint p;
  p.index = index;
  p.spec_file = spec.file;
  p.axes = Json::object();
  p.scenario = spec.base;
  std::vector<std::size_t> idx = point_axis_indices(spec, index);
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    const SweepAxis& axis = spec.axes[a];
    const AxisValue& v = axis.values[idx[a]];
    p.axes[axis.name] = v.value;
    p.scenario[Json::json_pointer(std::string(axis.info->pointer))] = v.scenario_value;
  }
  // "set" overrides after all axis values, so that an axis value may refine another axis' default.
  for (std::size_t a = 0; a < spec.axes.size(); ++a)
    for (const auto& [ptr, val] : spec.axes[a].values[idx[a]].set.items()) p.scenario[Json::json_pointer(ptr)] = val;
  return p;
}

Shard parse_shard(std::string_view text) {
  auto slash = text.find('/');
  Shard s;
  auto parse = [](std::string_view t, std::size_t& out) {
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && ptr == t.data() + t.size() && !t.empty();
  };
  if (slash == std::string_view::npos || !parse(text.substr(0, slash), s.index) ||
      !parse(text.substr(slash + 1), s.count) || s.count == 0 || s.index >= s.count)
    throw UsageError(fmt::format("--shard '{}': expected i/n with 0 <= i < n, e.g. 0/4", text));
  return s;
}

std::vector<std::size_t> shard_points(std::size_t num_points, const Shard& shard) {
  std::vector<std::size_t> out;
  for (std::size_t i = shard.index; i < num_points; i += shard.count) out.push_back(i);
  return out;
}

namespace {

// An integer field of the scenario, or `fallback` when absent or not an integer (the evaluator
// reports ill-typed fields; this check only needs well-formed ones).
long long int_field(const Json& scenario, const char* pointer, long long fallback) {
  Json::json_pointer jp(pointer);
  if (!scenario.contains(jp) || !scenario.at(jp).is_number_integer()) return fallback;
  return scenario.at(jp).get<long long>();
}

}  // namespace

std::string structural_skip_reason(const SweepPoint& point) {
  const Json& s = point.scenario;
  if (s.contains(Json::json_pointer("/topology/file"))) return "";  // the evaluator checks a given topology
  long long ep = int_field(s, "/parallel/ep", 0);
  long long nodes = int_field(s, "/topology/nodes", 0);
  long long gpn = int_field(s, "/topology/gpus_per_node", 8);
  std::string layout = "ep";
  if (s.contains(Json::json_pointer("/parallel/layout")) && s.at(Json::json_pointer("/parallel/layout")).is_string())
    layout = s.at(Json::json_pointer("/parallel/layout")).get<std::string>();
  if (layout == "ep") {
    if (nodes > 0 && ep > nodes * gpn)
      return fmt::format("EP {} needs more GPUs than {} nodes x {} = {}", ep, nodes, gpn, nodes * gpn);
    return "";
  }
  static const std::regex re("tp([0-9]+)xpp([0-9]+)");
  std::smatch m;
  if (!std::regex_match(layout, m, re)) return "";
  long long gpus = std::stoll(m[1].str()) * std::stoll(m[2].str());
  if (ep > 0 && ep != gpus)
    return fmt::format("baseline {} runs on {} GPUs; it is compared at EP {} only", layout, gpus, gpus);
  if (nodes > 0 && gpus > nodes * gpn)
    return fmt::format("baseline {} needs more GPUs than {} nodes x {} = {}", layout, nodes, gpn, nodes * gpn);
  return "";
}

}  // namespace epsim
