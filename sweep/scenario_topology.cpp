#include "sweep/scenario_topology.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "topology/topology_json.hpp"

namespace epsim {

std::string TopologyVariant::key() const {
  if (!file.empty()) return fmt::format("file:{}:{}", file, static_cast<int>(routing));
  const DgxClusterOptions& o = dgx;
  return fmt::format("{}:{}x{}:{}:nv{}:nic{}:pcie{}:su{}:sp{}:os{}:lat{},{},{}:r{}", static_cast<int>(o.fabric), o.nodes,
                     o.gpus_per_node, o.gpu_model, o.nvlink_GBps, o.nic_GBps, o.pcie_GBps, o.nodes_per_su, o.spines,
                     o.oversubscription, o.nvlink_latency_ns, o.pcie_latency_ns, o.ib_latency_ns,
                     static_cast<int>(routing));
}

TopologyVariant topology_variant_from_json(const JsonCursor& at, int gpus_needed) {
  TopologyVariant v;
  at.require_object();
  static const std::vector<std::string> known = {"file", "fabric", "nodes", "gpus_per_node", "gpu_model",
                                                 "nvlink_GBps", "nic_GBps", "pcie_GBps", "nodes_per_su", "spines",
                                                 "oversubscription", "routing"};
  for (const auto& [key, val] : at.node().items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      at.at(key).fail(fmt::format("a topology member: {}", fmt::join(known, ", ")));
  std::string routing = at.string_or("routing", "shortest");
  if (routing == "pxn") v.routing = RoutingPolicy::pxn;
  else if (routing != "shortest") at.at("routing").fail("\"shortest\" or \"pxn\"");
  if (at.has("file")) {
    for (const auto& [key, val] : at.node().items())
      if (key != "file" && key != "routing") at.at(key).fail("no generator member next to \"file\"");
    v.file = at.at("file").as_string();
    return v;
  }
  std::string fabric = at.string_or("fabric", "rail_optimized");
  if (fabric == "fat_tree") v.dgx.fabric = FabricKind::fat_tree;
  else if (fabric != "rail_optimized") at.at("fabric").fail("\"rail_optimized\" or \"fat_tree\"");
  DgxClusterOptions& o = v.dgx;
  o.gpus_per_node = static_cast<int>(at.int_or("gpus_per_node", 8, 1, 1024));
  int auto_nodes = std::max(1, (gpus_needed + o.gpus_per_node - 1) / o.gpus_per_node);
  o.nodes = static_cast<int>(at.int_or("nodes", 0, 0, 1 << 16));
  if (o.nodes == 0) o.nodes = auto_nodes;
  o.gpu_model = at.string_or("gpu_model", o.gpu_model);
  auto positive = [&](const char* key, double fallback) {
    return at.has(key) ? at.at(key).as_positive() : fallback;
  };
  o.nvlink_GBps = positive("nvlink_GBps", o.nvlink_GBps);
  o.nic_GBps = positive("nic_GBps", o.nic_GBps);
  o.pcie_GBps = positive("pcie_GBps", o.pcie_GBps);
  o.nodes_per_su = static_cast<int>(at.int_or("nodes_per_su", o.nodes_per_su, 1, 1 << 16));
  o.spines = static_cast<int>(at.int_or("spines", o.spines, 1, 1 << 12));
  o.oversubscription = at.number_or("oversubscription", 1.0);
  if (!(o.oversubscription >= 1.0)) at.at("oversubscription").fail("a number >= 1");
  return v;
}

Topology build_topology(const TopologyVariant& v) {
  if (!v.file.empty()) return load_topology(v.file);
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
  r.routes = std::make_shared<const RouteTable>(*r.topology, ro);
  return r;
}

}  // namespace epsim
