#include "sweep/grid.hpp"

#include <charconv>
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
    for (const auto& [pointer, value] : axis_writes(axis.info, v.scenario_value))
      p.scenario[Json::json_pointer(pointer)] = value;
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
    throw SettingError("shard", std::string(text), "i/n with 0 <= i < n, e.g. 0/4");
  return s;
}

std::vector<std::size_t> shard_points(std::size_t num_points, const Shard& shard) {
  std::vector<std::size_t> out;
  for (std::size_t i = shard.index; i < num_points; i += shard.count) out.push_back(i);
  return out;
}

std::string structural_skip_reason(const SweepSpec& spec, const SweepPoint& point) {
  // A TP x PP baseline runs on T x P GPUs whatever the EP axis says: it is compared at EP T x P only.
  std::string layout;
  long long ep = 0;
  for (const SweepAxis& axis : spec.axes) {
    const Json& v = point.axes.at(axis.name);
    if (axis.info.kind == AxisKind::layout && v.is_string() && v.get<std::string>() != "ep") layout = v.get<std::string>();
    if (axis.info.kind == AxisKind::ep && v.is_number_integer()) ep = v.get<long long>();
  }
  const Json& s = point.scenario;
  auto integer = [&](const char* pointer, long long fallback) {
    const Json::json_pointer jp{std::string(pointer)};
    return s.contains(jp) && s.at(jp).is_number_integer() ? s.at(jp).get<long long>() : fallback;
  };
  const long long gpus = integer("/parallel/dp", 1) * integer("/parallel/tp", 1) * integer("/parallel/pp", 1);
  if (!layout.empty() && ep != 0 && ep != gpus)
    return fmt::format("baseline {} runs on {} GPUs; it is compared at EP {} only", layout, gpus, gpus);
  // A generated cluster with a given node count that is too small for the layout.
  const long long nodes = integer("/topology/nodes", 0), per_node = integer("/topology/gpus_per_node", 8);
  if (nodes > 0 && gpus > nodes * per_node)
    return layout.empty() ? fmt::format("EP {} needs more GPUs than {} nodes x {} = {}", ep == 0 ? gpus : ep, nodes,
                                        per_node, nodes * per_node)
                          : fmt::format("baseline {} needs more GPUs than {} nodes x {} = {}", layout, nodes, per_node,
                                        nodes * per_node);
  return "";
}

}  // namespace epsim
