#include "comm/calibration.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "comm/calibration_fields.hpp"
#include "comm/exchange_cost.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "model/gpu_spec.hpp"

namespace epsim {
namespace {

using calibration_detail::kPhaseFields;
using calibration_detail::PhaseField;


// The base latencies of "collectives" by their CollectiveParams names: one table for reader and writer.
using BaseLatencyField = std::pair<const char*, std::optional<double> CollectiveBaseLatencies::*>;
constexpr BaseLatencyField kBaseLatencyFields[] = {
    {"base_latency_us", &CollectiveBaseLatencies::base_latency_us},
    {"ll_base_latency_us", &CollectiveBaseLatencies::ll_base_latency_us},
    {"ll128_base_latency_us", &CollectiveBaseLatencies::ll128_base_latency_us},
};

std::vector<std::string> phase_field_names() {
  std::vector<std::string> v;
  for (const PhaseField& f : kPhaseFields) v.emplace_back(f.first);
  return v;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void read_phase(const JsonCursor& c, KernelPhaseParams& p) {
  c.reject_unknown_keys(phase_field_names());
  for (const PhaseField& f : kPhaseFields)
    if (c.has(f.first)) p.*f.second = c.at(f.first).as_non_negative();
}

KernelCalibration read_kernel(const JsonCursor& c, ExchangeKernelKind kind) {
  c.reject_unknown_keys({"source", "sms", "device_sms", "notify_latency_us", "notify_per_log2_node_us", "nvlink_for_same_node",
                          "header_bytes_per_token", "dispatch", "combine", "one_node"});
  KernelCalibration k;
  k.params = default_kernel_params(kind);
  ExchangeKernelParams& p = k.params;
  if (c.has("source")) k.source = c.at("source").as_string();
  if (c.has("sms")) p.sms = static_cast<int>(c.at("sms").as_int(1, 100000));
  if (c.has("device_sms")) p.device_sms = static_cast<int>(c.at("device_sms").as_int(0, 100000));
  if (c.has("notify_latency_us")) p.notify_latency_us = c.at("notify_latency_us").as_non_negative();
  if (c.has("notify_per_log2_node_us")) p.notify_per_log2_node_us = c.at("notify_per_log2_node_us").as_non_negative();
  if (c.has("nvlink_for_same_node")) p.nvlink_for_same_node = c.at("nvlink_for_same_node").as_bool();
  if (c.has("header_bytes_per_token")) p.header_bytes_per_token = c.at("header_bytes_per_token").as_non_negative();
  if (c.has("dispatch")) read_phase(c.at("dispatch"), p.dispatch);
  if (c.has("combine")) read_phase(c.at("combine"), p.combine);
  if (c.has("one_node")) {
    // Fields it omits: the kernel's default one-node phases, or, for a kernel without them, the
    // phases read above (ExchangeKernelParams::one_node).
    const JsonCursor o = c.at("one_node");
    o.reject_unknown_keys({"dispatch", "combine"});
    KernelPhases one = p.one_node ? *p.one_node : KernelPhases{p.dispatch, p.combine};
    if (o.has("dispatch")) read_phase(o.at("dispatch"), one.dispatch);
    if (o.has("combine")) read_phase(o.at("combine"), one.combine);
    p.one_node = one;
  }
  validate_kernel_params(p, c.file(), c.pointer());
  return k;
}

// 12 significant digits, so that the file does not show the last bits of a fit's arithmetic.
double tidy(double v) { return round_significant(v, 12); }

Json phase_json(const KernelPhaseParams& p) {
  Json j = Json::object();
  for (const PhaseField& f : kPhaseFields) j[f.first] = tidy(p.*f.second);
  return j;
}

}  // namespace

std::string canonical_gpu_name(const std::string& device, const std::string& where, const std::string& pointer) {
  try {
    return gpu_spec(device).name;
  } catch (const InputError&) {
  }
  // A known name as a separate word of the device string (CUDA: "NVIDIA H100 80GB HBM3").
  const std::string u = upper(device);
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (const std::string& name : known_gpu_names()) {
    const std::string n = upper(name);
    for (std::size_t at = u.find(n); at != std::string::npos; at = u.find(n, at + 1)) {
      const bool left = at == 0 || !word_char(u[at - 1]);
      const bool right = at + n.size() == u.size() || !word_char(u[at + n.size()]);
      if (left && right) return name;
    }
  }
  throw InputError(where, pointer,
                   fmt::format("a GPU epsim knows ({}), or a device name holding one (\"NVIDIA H200\"); found \"{}\"",
                               fmt::join(known_gpu_names(), ", "), device));
}

Calibration calibration_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  if (!root.has("schema"))
    throw InputError(file, "/schema", fmt::format("required field is missing (\"{}\")", kCalibrationSchema));
  const std::string schema = root.at("schema").as_string();
  if (schema != kCalibrationSchema && schema != kCalibrationSchemaV1)
    root.at("schema").fail(fmt::format("\"{}\" (or \"{}\")", kCalibrationSchema, kCalibrationSchemaV1));
  const bool v2 = schema == kCalibrationSchema;
  std::vector<std::string> allowed = {"schema", "gpu", "links", "gemm_efficiency", "overlap_slowdown"};
  if (v2) allowed.insert(allowed.end(), {"exchange_kernels", "collectives"});
  root.reject_unknown_keys(allowed);

  Calibration cal;
  if (root.has("gpu")) {
    cal.device = root.at("gpu").as_string();
    cal.gpu = canonical_gpu_name(cal.device, file, "/gpu");
  }
  if (root.has("links")) {
    JsonCursor links = root.at("links");
    links.require_object();
    for (const auto& item : links.node().items()) {
      auto kind = parse_link_kind(item.key());
      JsonCursor l = links.at(item.key());
      if (!kind) l.fail("a link kind: nvlink, pcie, infiniband or ethernet");
      l.reject_unknown_keys({"bandwidth_GBps", "latency_ns", "ll_latency_ns", "ll128_latency_ns", "tree_bandwidth_fraction"});
      LinkCalibration lc;
      if (l.has("bandwidth_GBps")) {
        // At least 1 MB/s: lower figures are no measurement, and would drive times beyond what a
        // double holds once summed over an iteration.
        JsonCursor b = l.at("bandwidth_GBps");
        lc.bandwidth_GBps = b.as_positive();
        // At most 1e6 GB/s: the physical ceiling every link and copy rate of epsim has (docs/limits.md).
        if (*lc.bandwidth_GBps < 1e-3 || *lc.bandwidth_GBps > 1e6)
          b.fail(fmt::format("a bandwidth in [0.001, 1e6] GB/s, found {}", *lc.bandwidth_GBps));
      }
      // At most 1 s per hop (1e9 ns; the kernels' ceiling, docs/limits.md): more is no link, and
      // summed over an iteration's steps it would overflow the time.
      auto latency = [&](const char* key, std::optional<double>& out) {
        if (!l.has(key)) return;
        JsonCursor t = l.at(key);
        out = t.as_non_negative();
        if (*out > 1e9) t.fail(fmt::format("a latency of at most 1e9 ns, found {}", *out));
      };
      latency("latency_ns", lc.latency_ns);
      latency("ll_latency_ns", lc.ll_latency_ns);
      latency("ll128_latency_ns", lc.ll128_latency_ns);
      if (l.has("tree_bandwidth_fraction")) {
        JsonCursor f = l.at("tree_bandwidth_fraction");
        if (!is_network_link(*kind)) f.fail("no field of this link kind: it belongs to infiniband or ethernet links (NCCL's Tree crosses hosts)");
        lc.tree_bandwidth_fraction = f.as_positive();
        if (*lc.tree_bandwidth_fraction > 1)
          f.fail(fmt::format("a fraction of the ring's network bandwidth in (0, 1], found {}", *lc.tree_bandwidth_fraction));
      }
      cal.links[*kind] = lc;
    }
  }
  if (root.has("collectives")) {
    JsonCursor c = root.at("collectives");
    std::vector<std::string> names;
    for (const BaseLatencyField& f : kBaseLatencyFields) names.emplace_back(f.first);
    c.reject_unknown_keys(names);
    for (const BaseLatencyField& f : kBaseLatencyFields) {
      if (!c.has(f.first)) continue;
      JsonCursor t = c.at(f.first);
      const double us = t.as_non_negative();
      // At most 1 s (kKernelMaxLatency_us, as a link's per-step latency): more is no collective launch.
      static_assert(kKernelMaxLatency_us == 1e6, "the message below states the ceiling");
      if (us > kKernelMaxLatency_us) t.fail(fmt::format("a base latency of at most 1e6 us, found {}", us));
      cal.collectives.*f.second = us;
    }
  }
  if (root.has("gemm_efficiency")) {
    JsonCursor arr = root.at("gemm_efficiency");
    const std::size_t n = arr.array_size();
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
    const double v = s.as_positive();
    if (v < 1.0) s.fail(fmt::format("a slowdown factor >= 1, found {}", v));
    cal.overlap_slowdown = v;
  }
  if (root.has("exchange_kernels")) {
    JsonCursor ks = root.at("exchange_kernels");
    ks.require_object();
    for (const auto& item : ks.node().items()) {
      JsonCursor k = ks.at(item.key());
      ExchangeKernelKind kind{};
      try {
        kind = parse_exchange_kernel(item.key());
      } catch (const UsageError& e) {
        k.fail(e.what());
      }
      cal.exchange_kernels[kind] = read_kernel(k, kind);
    }
  }
  return cal;
}

Calibration load_calibration(const std::filesystem::path& path) {
  Json doc = read_json_file(path);
  return calibration_from_json(doc, path.string());
}

Json calibration_to_json(const Calibration& c) {
  Json out = Json::object();
  out["schema"] = kCalibrationSchema;
  if (!c.device.empty() || !c.gpu.empty()) out["gpu"] = c.device.empty() ? c.gpu : c.device;
  Json links = Json::object();
  for (const auto& [kind, l] : c.links) {
    Json j = Json::object();
    if (l.bandwidth_GBps) j["bandwidth_GBps"] = tidy(*l.bandwidth_GBps);
    if (l.latency_ns) j["latency_ns"] = tidy(*l.latency_ns);
    if (l.ll_latency_ns) j["ll_latency_ns"] = tidy(*l.ll_latency_ns);
    if (l.ll128_latency_ns) j["ll128_latency_ns"] = tidy(*l.ll128_latency_ns);
    if (l.tree_bandwidth_fraction) j["tree_bandwidth_fraction"] = tidy(*l.tree_bandwidth_fraction);
    links[std::string(to_string(kind))] = std::move(j);
  }
  out["links"] = std::move(links);
  Json bases = Json::object();
  for (const BaseLatencyField& f : kBaseLatencyFields)
    if (const std::optional<double>& v = c.collectives.*f.second) bases[f.first] = tidy(*v);
  if (!bases.empty()) out["collectives"] = std::move(bases);
  Json gemm = Json::array();
  for (const GemmEfficiencyPoint& g : c.gemm_efficiency)
    gemm.push_back({{"tokens_per_expert", tidy(g.tokens_per_expert)}, {"efficiency", tidy(g.efficiency)}});
  out["gemm_efficiency"] = std::move(gemm);
  if (c.overlap_slowdown) out["overlap_slowdown"] = tidy(*c.overlap_slowdown);
  Json kernels = Json::object();
  for (const auto& [kind, k] : c.exchange_kernels) {
    const ExchangeKernelParams& p = k.params;
    Json j = Json::object();
    j["source"] = k.source;
    j["sms"] = p.sms;
    j["device_sms"] = p.device_sms;
    j["notify_latency_us"] = tidy(p.notify_latency_us);
    j["notify_per_log2_node_us"] = tidy(p.notify_per_log2_node_us);
    j["nvlink_for_same_node"] = p.nvlink_for_same_node;
    j["header_bytes_per_token"] = tidy(p.header_bytes_per_token);
    j["dispatch"] = phase_json(p.dispatch);
    j["combine"] = phase_json(p.combine);
    if (p.one_node) j["one_node"] = {{"dispatch", phase_json(p.one_node->dispatch)}, {"combine", phase_json(p.one_node->combine)}};
    kernels[std::string(to_string(kind))] = std::move(j);
  }
  out["exchange_kernels"] = std::move(kernels);
  return out;
}

}  // namespace epsim
