#include "sim/scenario/scenario_topology.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "model/gpu_spec.hpp"
#include "sim/scenario/scenario_params.hpp"
#include "topology/topology_json.hpp"

namespace epsim {

std::string TopologyVariant::key() const {
  if (!file.empty()) return fmt::format("file:{}:{}:e{}", file, static_cast<int>(routing), static_cast<int>(ecmp));
  const DgxClusterOptions& o = dgx;
  return fmt::format("{}:{}x{}:{}:nv{}:nic{}:pcie{}:su{}:sp{}:os{}:lat{},{},{}:r{}:e{}", static_cast<int>(o.fabric), o.nodes,
                     o.gpus_per_node, o.gpu_model, o.nvlink_GBps, o.nic_GBps, o.pcie_GBps, o.nodes_per_su, o.spines,
                     o.oversubscription, o.nvlink_latency_ns, o.pcie_latency_ns, o.ib_latency_ns,
                     static_cast<int>(routing), static_cast<int>(ecmp));
}

DgxClusterOptions cluster_from_json(const Json& topology_object, int gpus_needed) {
  // The members' defaults come from the scenario's parameter table (which takes them from
  // DgxClusterOptions), read through a document holding just this object.
  const Json doc = {{"topology", topology_object}};
  const ParamTable table = scenario_params();
  auto get = [&](const char* member) { return param_or_default(doc, table, std::string("/topology/") + member); };
  DgxClusterOptions o;
  o.fabric = parse_fabric(get("fabric").get<std::string>());
  o.gpus_per_node = get("gpus_per_node").get<int>();
  const Json nodes = get("nodes");
  o.nodes = nodes.is_null() ? std::max(1, (gpus_needed + o.gpus_per_node - 1) / o.gpus_per_node) : nodes.get<int>();
  o.gpu_model = get("gpu_model").get<std::string>();
  o.nvlink_GBps = get("nvlink_GBps").get<double>();
  o.nic_GBps = get("nic_GBps").get<double>();
  o.pcie_GBps = get("pcie_GBps").get<double>();
  o.nodes_per_su = get("nodes_per_su").get<int>();
  o.spines = get("spines").get<int>();
  o.oversubscription = get("oversubscription").get<double>();
  return o;
}

Topology build_topology(const TopologyVariant& v) {
  if (!v.file.empty()) return load_topology(v.file);
  // A scenario routes its cluster: refused before it is built (65,536 nodes took 6 s and 1.2 GB first).
  if (static_cast<long long>(v.dgx.nodes) * v.dgx.gpus_per_node > limits::kMaxRoutedGpus)
    throw InputError(fmt::format("topology of the scenario: {} nodes x {} GPUs: epsim routes at most {} GPUs "
                                 "(docs/limits.md)",
                                 v.dgx.nodes, v.dgx.gpus_per_node, limits::kMaxRoutedGpus));
  try {
    return generate_dgx_cluster(v.dgx);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("topology of the scenario: {}", e.what()));
  }
}

RoutedTopology build_routed_topology(const TopologyVariant& v) {
  RoutedTopology r;
  r.topology = std::make_shared<const Topology>(build_topology(v));
  RoutingOptions ro;
  ro.policy = v.routing;
  ro.ecmp = v.ecmp;
  r.routes = std::make_shared<const RouteTable>(*r.topology, ro);
  return r;
}

// The topology's GPUs are another model than the one simulated (an imported DGX A100 dump, an sm89
// PCIe box, an H200 cluster run with the default h100): its links are the file's, the compute the
// simulated GPU's figures. Said once with the first such GPU; empty when every labelled GPU matches.
std::string gpu_model_notice(const Topology& topo, const std::string& simulated) {
  auto lower = [](std::string x) {
    for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return x;
  };
  const std::string sim = lower(simulated);
  int other = 0;
  std::string first;
  for (int g = 0; g < topo.num_gpus(); ++g) {
    const Device& d = topo.device(topo.gpu_device(g));
    if (d.model.empty() || lower(d.model) == sim) continue;
    if (other++ == 0) first = fmt::format("{} ({})", d.id, d.model);
  }
  if (other == 0) return {};
  return fmt::format("topology {}: {} of its {} GPUs are another model than the simulated {} (first {}); compute and "
                     "kernel tables are the {}'s (the scenario's gpu: one of {})",
                     topo.name, other, topo.num_gpus(), simulated, first, simulated, fmt::join(known_gpu_names(), ", "));
}

}  // namespace epsim
