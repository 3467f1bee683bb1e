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
  return fmt::format("{}:{}x{}:{}:nv{}:nic{}:pcie{}:su{}:sp{}:os{}:lat{},{},{}:npl{}:r{}", static_cast<int>(fabric),
                     o.nodes, o.gpus_per_node, o.gpu_model, o.nvlink_GBps, o.nic_GBps, o.pcie_GBps, o.nodes_per_su,
                     o.spines, o.oversubscription, o.nvlink_latency_ns, o.pcie_latency_ns, o.ib_latency_ns,
                     nodes_per_leaf, static_cast<int>(routing));
}

TopologyVariant topology_variant_from_json(const JsonCursor& at, int gpus_needed) {
  TopologyVariant v;
  at.require_object();
  static const std::vector<std::string> known = {"file", "fabric", "nodes", "gpus_per_node", "gpu_model",
                                                 "nvlink_GBps", "nic_GBps", "pcie_GBps", "nodes_per_su", "spines",
                                                 "oversubscription", "nodes_per_leaf", "routing"};
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
  if (fabric == "fat_tree") v.fabric = Fabric::fat_tree;
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
  v.nodes_per_leaf = static_cast<int>(at.int_or("nodes_per_leaf", 4, 1, 1 << 16));
  return v;
}

Topology generate_fat_tree_cluster(const DgxClusterOptions& o, int nodes_per_leaf) {
  if (o.nodes < 1 || o.gpus_per_node < 1 || nodes_per_leaf < 1 || o.spines < 1)
    throw std::invalid_argument("nodes, gpus_per_node, nodes_per_leaf and spines must be >= 1");
  if (!(o.nvlink_GBps > 0 && o.nic_GBps > 0 && o.pcie_GBps > 0)) throw std::invalid_argument("bandwidths must be > 0");
  if (!(o.oversubscription >= 1.0)) throw std::invalid_argument("oversubscription must be >= 1");
  Topology topo;
  topo.name = fmt::format("fat-tree-{}-{}node", o.gpu_model, o.nodes);
  const int num_leaves = (o.nodes + nodes_per_leaf - 1) / nodes_per_leaf;
  std::vector<int> leaf(static_cast<std::size_t>(num_leaves));
  for (int l = 0; l < num_leaves; ++l)
    leaf[static_cast<std::size_t>(l)] = topo.add_device(Device{fmt::format("leaf{}", l), DeviceKind::leaf, -1, -1, ""});
  std::vector<int> spine(static_cast<std::size_t>(o.spines));
  if (num_leaves > 1)
    for (int s = 0; s < o.spines; ++s)
      spine[static_cast<std::size_t>(s)] = topo.add_device(Device{fmt::format("spine{}", s), DeviceKind::spine, -1, -1, ""});
  for (int n = 0; n < o.nodes; ++n) {
    int host = topo.add_host(fmt::format("node{}", n));
    int nvswitch = topo.add_device(Device{fmt::format("node{}/nvswitch", n), DeviceKind::nvswitch, host, -1, ""});
    for (int g = 0; g < o.gpus_per_node; ++g) {
      int gpu = topo.add_device(Device{fmt::format("node{}/gpu{}", n, g), DeviceKind::gpu, host, g, o.gpu_model});
      int nic = topo.add_device(Device{fmt::format("node{}/nic{}", n, g), DeviceKind::nic, host, g, "cx7"});
      topo.add_bidirectional(gpu, nvswitch, LinkKind::nvlink, o.nvlink_GBps, o.nvlink_latency_ns);
      topo.add_bidirectional(gpu, nic, LinkKind::pcie, o.pcie_GBps, o.pcie_latency_ns);
      topo.add_bidirectional(nic, leaf[static_cast<std::size_t>(n / nodes_per_leaf)], LinkKind::infiniband, o.nic_GBps,
                             o.ib_latency_ns);
    }
  }
  if (num_leaves > 1)
    for (int l = 0; l < num_leaves; ++l) {
      int nodes_here = std::min(nodes_per_leaf, o.nodes - l * nodes_per_leaf);
      double uplink = nodes_here * o.gpus_per_node * o.nic_GBps / (o.spines * o.oversubscription);
      for (int s = 0; s < o.spines; ++s)
        topo.add_bidirectional(leaf[static_cast<std::size_t>(l)], spine[static_cast<std::size_t>(s)],
                               LinkKind::infiniband, uplink, o.ib_latency_ns);
    }
  return topo;
}

Topology build_topology(const TopologyVariant& v) {
  if (!v.file.empty()) return load_topology(v.file);
  try {
    return v.fabric == Fabric::fat_tree ? generate_fat_tree_cluster(v.dgx, v.nodes_per_leaf) : generate_dgx_cluster(v.dgx);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("topology of the scenario: {}", e.what()));
  }
}

}  // namespace epsim
