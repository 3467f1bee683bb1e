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

#include "comm/exchange_cost.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "model/gpu_spec.hpp"

namespace epsim {
namespace {

// The fields of one kernel phase in the file, by their C++ names: one table for reader and writer.
using PhaseField = std::pair<const char*, double KernelPhaseParams::*>;
constexpr PhaseField kPhaseFields[] = {
    {"latency_us", &KernelPhaseParams::latency_us},
    {"latency_per_log2_node_us", &KernelPhaseParams::latency_per_log2_node_us},
    {"per_remote_expert_us", &KernelPhaseParams::per_remote_expert_us},
    {"per_peer_us", &KernelPhaseParams::per_peer_us},
    {"nvlink_efficiency", &KernelPhaseParams::nvlink_efficiency},
    {"pcie_efficiency", &KernelPhaseParams::pcie_efficiency},
    {"infiniband_efficiency", &KernelPhaseParams::infiniband_efficiency},
    {"ethernet_efficiency", &KernelPhaseParams::ethernet_efficiency},
    {"sm_rate_GBps", &KernelPhaseParams::sm_rate_GBps},
    {"sm_exponent", &KernelPhaseParams::sm_exponent},
    {"overlap_exponent", &KernelPhaseParams::overlap_exponent},
    {"self_copy_GBps", &KernelPhaseParams::self_copy_GBps},
    {"ramp_half_bytes", &KernelPhaseParams::ramp_half_bytes},
    {"ramp_exponent", &KernelPhaseParams::ramp_exponent},
    {"ll_latency_us", &KernelPhaseParams::ll_latency_us},
    {"ll_bandwidth_GBps", &KernelPhaseParams::ll_bandwidth_GBps},
    {"p2p_channels", &KernelPhaseParams::p2p_channels},
    {"channel_GBps", &KernelPhaseParams::channel_GBps},
    {"p2p_chunk_bytes", &KernelPhaseParams::p2p_chunk_bytes},
    {"net_chunk_bytes", &KernelPhaseParams::net_chunk_bytes},
    {"net_channels_per_peer", &KernelPhaseParams::net_channels_per_peer},
    {"ll_threshold_bytes", &KernelPhaseParams::ll_threshold_bytes},
    {"ll_per_log2_channel_us", &KernelPhaseParams::ll_per_log2_channel_us},
    {"per_token_round_us", &KernelPhaseParams::per_token_round_us},
    {"sm_copies_per_token", &KernelPhaseParams::sm_copies_per_token},
};

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

double calibration_links_per_gpu(const Topology& topology, LinkKind kind) {
  if (!is_network_link(kind)) return 1.0;  // nvlink, pcie: one link of the kind per GPU (calibration.hpp)
  std::vector<char> has_uplink(static_cast<std::size_t>(topology.num_hosts()), 0);
  int uplinks = 0;
  for (const Link& link : topology.links()) {
    const int host = topology.device(link.src).host;
    if (link.kind != kind || host < 0 || topology.device(link.dst).host >= 0) continue;
    ++uplinks;
    has_uplink[static_cast<std::size_t>(host)] = 1;
  }
  int gpus = 0;
  for (int g = 0; g < topology.num_gpus(); ++g) {
    const int host = topology.gpu_host(g);
    if (host >= 0 && has_uplink[static_cast<std::size_t>(host)]) ++gpus;
  }
  if (uplinks == 0 || gpus == 0) return 1.0;  // no network of that kind (one node), or no GPU behind it
  return static_cast<double>(uplinks) / gpus;
}

double calibrated_link_bandwidth_GBps(double per_gpu_GBps, const Topology& topology, LinkKind kind) {
  return per_gpu_GBps / calibration_links_per_gpu(topology, kind);
}

namespace {

// Equal up to the writer's rounding (12 significant digits, tidy): a field the file only echoes.
bool same_value(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)); }

// The p2p-channel fields of a phase: read only when its p2p_channels >= 1 (p2p_plan, phase_time).
bool is_p2p_channel_field(std::string_view name) {
  return name == "channel_GBps" || name == "p2p_chunk_bytes" || name == "net_chunk_bytes" ||
         name == "net_channels_per_peer" || name == "ll_threshold_bytes" || name == "ll_per_log2_channel_us";
}

// Read only by deepep-ll (its issue rounds, comm/link_load.hpp deepep_ll_issue_rounds).
bool is_deepep_ll_field(std::string_view name) { return name == "per_token_round_us"; }

}  // namespace

std::vector<CalibrationField> set_kernel_fields(const ExchangeKernelParams& p, ExchangeKernelKind reader) {
  const ExchangeKernelParams def = default_kernel_params(p.kind);
  std::vector<CalibrationField> out;
  auto add = [&](std::string pointer, bool read) { out.push_back({std::move(pointer), read}); };
  if (p.sms != def.sms) add("/sms", true);
  if (!same_value(p.notify_latency_us, def.notify_latency_us))
    add("/notify_latency_us", has_notify_phase(reader));
  if (!same_value(p.notify_per_log2_node_us, def.notify_per_log2_node_us))
    add("/notify_per_log2_node_us", has_notify_phase(reader));
  if (p.nvlink_for_same_node != def.nvlink_for_same_node)
    add("/nvlink_for_same_node", reader == ExchangeKernelKind::deepep_ll);
  if (p.device_sms != def.device_sms) add("/device_sms", reader == ExchangeKernelKind::deepep_ll);
  if (!same_value(p.header_bytes_per_token, def.header_bytes_per_token)) add("/header_bytes_per_token", true);
  using Compared = std::tuple<const char*, const KernelPhaseParams*, const KernelPhaseParams*>;
  std::vector<Compared> phases = {{"dispatch", &p.dispatch, &def.dispatch}, {"combine", &p.combine, &def.combine}};
  // One-node phases against the kernel's default ones (or its phases, for a kernel without them).
  const KernelPhases def_one = def.one_node ? *def.one_node : KernelPhases{def.dispatch, def.combine};
  if (p.one_node) {
    phases.emplace_back("one_node/dispatch", &p.one_node->dispatch, &def_one.dispatch);
    phases.emplace_back("one_node/combine", &p.one_node->combine, &def_one.combine);
  }
  for (const auto& [name, ph, dph] : phases)
    for (const PhaseField& f : kPhaseFields)
      if (!same_value(ph->*f.second, dph->*f.second))
        add(fmt::format("/{}/{}", name, f.first),
            is_deepep_ll_field(f.first) ? reader == ExchangeKernelKind::deepep_ll
                                        : !is_p2p_channel_field(f.first) || ph->p2p_channels >= 1);
  return out;
}

namespace {

// "a, b, c and 4 more": at most three pointers named.
std::string pointer_list(const std::vector<std::string>& pointers) {
  constexpr std::size_t kNamed = 3;
  std::vector<std::string> named(pointers.begin(), pointers.begin() + static_cast<std::ptrdiff_t>(std::min(kNamed, pointers.size())));
  std::string s = fmt::format("{}", fmt::join(named, ", "));
  if (pointers.size() > kNamed) s += fmt::format(" and {} more", pointers.size() - kNamed);
  return s;
}

// The notice on kernel fields the run does not read (calibration.hpp, calibrated_kernel_params 2.).
std::string unread_fields_notice(ExchangeKernelKind kind, const Calibration& cal, const std::string& file) {
  std::vector<std::string> unread;
  auto it = cal.exchange_kernels.find(kind);
  if (it != cal.exchange_kernels.end()) {
    for (const CalibrationField& f : set_kernel_fields(it->second.params, kind))
      if (!f.read) unread.push_back(fmt::format("/exchange_kernels/{}{}", to_string(kind), f.pointer));
    if (unread.empty()) return "";
    return fmt::format("calibration {}: {} {} not read by exchange kernel {}, the kernel this run uses", file,
                       pointer_list(unread), unread.size() == 1 ? "is" : "are", to_string(kind));
  }
  std::string text = fmt::format("calibration {} has no parameters for exchange kernel {}: its defaults are used", file,
                                 to_string(kind));
  for (const auto& [other, k] : cal.exchange_kernels)
    for (const CalibrationField& f : set_kernel_fields(k.params, other))
      if (f.read) unread.push_back(fmt::format("/exchange_kernels/{}{}", to_string(other), f.pointer));
  if (!unread.empty())
    text += fmt::format(", and {} (set for another kernel) {} not read", pointer_list(unread),
                        unread.size() == 1 ? "is" : "are");
  return text;
}

// The notice on network figures for a kind of network the topology does not have (calibration.hpp,
// calibrated_kernel_params 3.).
std::string network_kind_notice(const Calibration& cal, const std::string& file, const ExchangeKernelParams* block,
                                const std::string& block_pointer, const Topology& topology) {
  std::vector<LinkKind> topo_kinds;
  for (const Link& l : topology.links())
    if (is_network_link(l.kind) && std::find(topo_kinds.begin(), topo_kinds.end(), l.kind) == topo_kinds.end())
      topo_kinds.push_back(l.kind);
  if (topo_kinds.empty()) return "";  // one node: no network figure matters
  std::vector<LinkKind> cal_kinds;
  std::vector<std::string> pointers;
  auto note = [&](LinkKind k, std::string pointer) {
    if (std::find(cal_kinds.begin(), cal_kinds.end(), k) == cal_kinds.end()) cal_kinds.push_back(k);
    pointers.push_back(std::move(pointer));
  };
  for (const auto& [k, lc] : cal.links)
    if (is_network_link(k) && (lc.sets_rate_or_latency() || lc.tree_bandwidth_fraction))
      note(k, fmt::format("/links/{}", to_string(k)));
  if (block)
    for (const CalibrationField& f : set_kernel_fields(*block, block->kind))
      for (LinkKind k : {LinkKind::infiniband, LinkKind::ethernet})
        if (f.pointer.ends_with(fmt::format("/{}_efficiency", to_string(k)))) note(k, block_pointer + f.pointer);
  if (cal_kinds.empty()) return "";
  for (LinkKind k : cal_kinds)
    if (std::find(topo_kinds.begin(), topo_kinds.end(), k) != topo_kinds.end()) return "";  // a figure applies
  std::vector<std::string> cal_names, topo_names;
  for (LinkKind k : cal_kinds) cal_names.emplace_back(to_string(k));
  for (LinkKind k : topo_kinds) topo_names.emplace_back(to_string(k));
  // Only those figures: the file's others (a kernel's latencies and channel rate, NVLink, base
  // latencies) apply whatever the network.
  return fmt::format("calibration {} has network figures for {} only ({}), the topology's network is {}: those are "
                     "not used ({} keeps its defaults), the file's other figures are used",
                     file, fmt::join(cal_names, " and "), pointer_list(pointers), fmt::join(topo_names, " and "),
                     fmt::join(topo_names, " and "));
}

// The notice on a kernel's multi-node phases set in the file when every exchange of the topology stays
// on one node, where the kernel's one-node phases run instead (ExchangeKernelParams::one_node).
std::string one_node_notice(const ExchangeKernelParams& block, ExchangeKernelKind kind, const std::string& file,
                            const Topology& topology) {
  if (topology.num_hosts() != 1 || !block.one_node) return "";
  std::vector<std::string> pointers;
  for (const CalibrationField& f : set_kernel_fields(block, kind))
    if (f.read && (f.pointer.starts_with("/dispatch/") || f.pointer.starts_with("/combine/")))
      pointers.push_back(fmt::format("/exchange_kernels/{}{}", to_string(kind), f.pointer));
  if (pointers.empty()) return "";
  return fmt::format("calibration {}: {} {} for exchanges across nodes; this topology has one node, whose exchanges "
                     "read /exchange_kernels/{}/one_node ({}'s one-node kernel) and its defaults",
                     file, pointer_list(pointers), pointers.size() == 1 ? "is" : "are", to_string(kind), to_string(kind));
}

}  // namespace

std::string calibration_collective_notice(const Calibration& calibration, const std::string& file,
                                          const Topology& topology, std::span<const int> gpus, LinkKind network_kind) {
  if (std::string n = network_kind_notice(calibration, file, nullptr, "", topology); !n.empty()) return n;
  const CollectiveBaseLatencies& b = calibration.collectives;
  if (b.base_latency_us || b.ll_base_latency_us || b.ll128_base_latency_us) return "";
  std::set<int> hosts;
  for (int g : gpus) hosts.insert(topology.gpu_host(g));
  std::vector<LinkKind> crossed{LinkKind::nvlink};
  if (hosts.size() > 1) crossed.push_back(network_kind);
  std::vector<std::string> names;
  for (LinkKind k : crossed) {
    if (calibration.links.count(k)) return "";
    names.emplace_back(to_string(k));
  }
  return fmt::format("calibration {} holds no link figures for the links this collective crosses ({}): it is priced "
                     "with the defaults",
                     file, fmt::join(names, ", "));
}

double nominal_edge_link_GBps(const Topology& topology, LinkKind kind) {
  double nominal = std::numeric_limits<double>::infinity();
  auto edge = [&](int device) {
    const DeviceKind k = topology.device(device).kind;
    return k == DeviceKind::gpu || k == DeviceKind::nic;
  };
  for (int l = 0; l < topology.num_links(); ++l) {
    const Link& link = topology.link(l);
    if (link.kind == kind && (edge(link.src) || edge(link.dst))) nominal = std::min(nominal, link.bandwidth_GBps);
  }
  return nominal;
}

CalibratedKernel calibrated_kernel_params(ExchangeKernelKind kind, const Calibration* cal, const std::string& file,
                                          const Topology& topology) {
  CalibratedKernel out{default_kernel_params(kind), ""};
  if (!cal) return out;
  auto it = cal->exchange_kernels.find(kind);
  const bool has_block = it != cal->exchange_kernels.end();
  if (has_block) out.params = it->second.params;
  std::vector<std::string> notices;
  for (std::string n : {unread_fields_notice(kind, *cal, file),
                        network_kind_notice(*cal, file, has_block ? &it->second.params : nullptr,
                                            fmt::format("/exchange_kernels/{}", to_string(kind)), topology),
                        has_block ? one_node_notice(it->second.params, kind, file, topology) : std::string()})
    if (!n.empty()) notices.push_back(std::move(n));
  out.notice = fmt::format("{}", fmt::join(notices, "; "));
  for (const auto& [link_kind, lc] : cal->links) {
    if (!lc.bandwidth_GBps) continue;
    const double nominal = nominal_edge_link_GBps(topology, link_kind);
    if (!std::isfinite(nominal) || !(nominal > 0)) continue;  // the topology has no link of that kind
    const double per_link = calibrated_link_bandwidth_GBps(*lc.bandwidth_GBps, topology, link_kind);
    const double achieved = std::min(1.0, per_link / nominal);
    // The kernels take an efficiency of at least 0.1% (validate_kernel_params): a slower measured link
    // is refused here, naming the calibration's field, not later by a derived parameter it lacks.
    if (achieved < 1e-3)
      throw InputError(file, fmt::format("/links/{}/bandwidth_GBps", to_string(link_kind)),
                       fmt::format("a bandwidth of at least 0.1% of the topology's {} link ({:g} GB/s), since exchange "
                                   "kernels take an efficiency of at least 0.001; found {:g} GB/s per GPU ({:g} per link)",
                                   to_string(link_kind), nominal, *lc.bandwidth_GBps, per_link));
    std::vector<KernelPhaseParams*> phases = {&out.params.dispatch, &out.params.combine};
    if (out.params.one_node) phases.insert(phases.end(), {&out.params.one_node->dispatch, &out.params.one_node->combine});
    for (KernelPhaseParams* ph : phases) {
      double* eff = link_kind == LinkKind::nvlink       ? &ph->nvlink_efficiency
                    : link_kind == LinkKind::pcie       ? &ph->pcie_efficiency
                    : link_kind == LinkKind::infiniband ? &ph->infiniband_efficiency
                                                        : &ph->ethernet_efficiency;
      *eff = std::min(*eff, achieved);
    }
  }
  return out;
}

std::string calibration_gpu_warning(const Calibration& cal, const std::string& file, const std::string& scenario_gpu) {
  if (cal.gpu.empty() || scenario_gpu.empty()) return "";
  std::string scenario;
  try {
    scenario = canonical_gpu_name(scenario_gpu, file, "/gpu");
  } catch (const InputError&) {
    return "";  // a GPU epsim does not know (a topology's free-text model): nothing to compare
  }
  if (scenario == cal.gpu) return "";
  return fmt::format("calibration {} was measured on {} ({}), the scenario runs {}", file,
                     cal.device.empty() ? cal.gpu : cal.device, cal.gpu, scenario);
}

}  // namespace epsim
