// What a run takes from a calibration (comm/calibration.hpp): a network figure per link, the fields a
// kernel block sets and whether the run's kernel reads them, the one-line notice on what is not used,
// the calibrated kernel parameters and the GPU warning. The file's reader and writer: calibration.cpp.
#include "comm/calibration.hpp"

#include <algorithm>
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

namespace epsim {

using calibration_detail::kPhaseFields;
using calibration_detail::PhaseField;

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
  return fmt::format("calibration {} was measured on {} ({}), the GPUs here are {}", file,
                     cal.device.empty() ? cal.gpu : cal.device, cal.gpu, scenario);
}

}  // namespace epsim
