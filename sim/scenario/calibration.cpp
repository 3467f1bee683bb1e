#include "sim/scenario/calibration.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "model/gpu_spec.hpp"

namespace epsim {
Calibration calibration_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  if (!root.has("schema")) throw InputError(file, "/schema", fmt::format("required field is missing (\"{}\")", kCalibrationSchema));
  if (root.at("schema").as_string() != kCalibrationSchema) root.at("schema").fail(fmt::format("\"{}\"", kCalibrationSchema));
  root.reject_unknown_keys({"schema", "gpu", "links", "gemm_efficiency", "overlap_slowdown"});

  Calibration cal;
  if (root.has("gpu")) {
    JsonCursor g = root.at("gpu");
    std::string name = g.as_string();
    try {
      cal.gpu = gpu_spec(name).name;
    } catch (const InputError& e) {
      g.fail(e.what());
    }
  }
  if (root.has("links")) {
    JsonCursor links = root.at("links");
    links.require_object();
    for (const auto& item : links.node().items()) {
      auto kind = parse_link_kind(item.key());
      JsonCursor l = links.at(item.key());
      if (!kind) l.fail("a link kind: nvlink, pcie, infiniband or ethernet");
      l.reject_unknown_keys({"bandwidth_GBps", "latency_ns"});
      LinkCalibration lc;
      if (l.has("bandwidth_GBps")) lc.bandwidth_GBps = l.at("bandwidth_GBps").as_positive();
      if (l.has("latency_ns")) lc.latency_ns = l.at("latency_ns").as_non_negative();
      cal.links[*kind] = lc;
    }
  }
  if (root.has("gemm_efficiency")) {
    JsonCursor arr = root.at("gemm_efficiency");
    std::size_t n = arr.array_size();
    for (std::size_t i = 0; i < n; ++i) {
      JsonCursor p = arr.at(i);
      p.reject_unknown_keys({"tokens_per_expert", "efficiency"});
      GemmEfficiencyPoint pt;
      pt.tokens_per_expert = p.at("tokens_per_expert").as_positive();
      JsonCursor e = p.at("efficiency");
      pt.efficiency = e.as_positive();
      if (pt.efficiency > 1.0) e.fail(fmt::format("an efficiency in (0, 1], found {}", pt.efficiency));
      if (!cal.gemm_efficiency.empty() && !(pt.tokens_per_expert > cal.gemm_efficiency.back().tokens_per_expert))
        p.at("tokens_per_expert").fail("tokens_per_expert strictly increasing along the array");
      cal.gemm_efficiency.push_back(pt);
    }
  }
  if (root.has("overlap_slowdown")) {
    JsonCursor s = root.at("overlap_slowdown");
    double v = s.as_positive();
    if (v < 1.0) s.fail(fmt::format("a slowdown factor >= 1, found {}", v));
    cal.overlap_slowdown = v;
  }
  return cal;
}

Calibration load_calibration(const std::filesystem::path& path) {
  Json doc = read_json_file(path);
  return calibration_from_json(doc, path.string());
}

}  // namespace epsim
