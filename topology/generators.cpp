#include "common/names.hpp"
#include "topology/generators.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "topology/validate.hpp"

namespace epsim {

const std::vector<std::string>& fabric_names() {
  static const std::vector<std::string> names = {"rail-optimized", "fat-tree"};
  return names;
}
FabricKind parse_fabric(std::string_view name) { return enum_from_name<FabricKind>(name, fabric_names(), "fabric"); }
std::string_view to_string(FabricKind fabric) { return name_of(fabric, fabric_names()); }


namespace {

std::size_t idx(int i) { return static_cast<std::size_t>(i); }

// NICs of one node: one rail each (rail = the NIC's index in its node, g x nics_per_gpu + j).
int rails_per_node(const DgxClusterOptions& o) { return o.gpus_per_node * o.nics_per_gpu; }

// Leaf (within its SU) of the NIC on rail `r` of the `local`-th node of an SU with `nodes_in_su` nodes.
// An SU has one leaf per rail, so every leaf has nodes_in_su NIC ports in either fabric.
int leaf_of(const DgxClusterOptions& o, int local, int r, int nodes_in_su) {
  if (o.fabric == FabricKind::rail_optimized) return r;
  // Fat tree: node-major NIC numbering, contiguous blocks of nodes_in_su NICs per leaf.
  return (local * rails_per_node(o) + r) / nodes_in_su;
}

}  // namespace

Topology generate_dgx_cluster(const DgxClusterOptions& o) {
  if (o.nodes < 1 || o.gpus_per_node < 1 || o.nodes_per_su < 1 || o.spines < 1 || o.cores < 1 || o.spine_radix < 0)
    throw InputError(fmt::format("generated cluster: nodes, gpus_per_node, nodes_per_su, spines and cores must be >= 1 "
                                 "(got {}, {}, {}, {}, {})",
                                 o.nodes, o.gpus_per_node, o.nodes_per_su, o.spines, o.cores));
  if (o.nodes > kMaxGeneratedNodes || o.gpus_per_node > kMaxGeneratedGpusPerNode)
    throw InputError(fmt::format("generated cluster: {} nodes x {} GPUs: at most {} nodes and {} GPUs per node "
                                 "(docs/limits.md)",
                                 o.nodes, o.gpus_per_node, kMaxGeneratedNodes, kMaxGeneratedGpusPerNode));
  for (double bw : {o.nvlink_GBps, o.nic_GBps, o.pcie_GBps})
    if (std::string why = link_range_error(bw, 0.0); !why.empty()) throw InputError("generated cluster: " + why);
  if (o.nics_per_gpu < 1 || o.nics_per_gpu > kMaxNicsPerGpu)
    throw InputError(fmt::format("generated cluster: nics_per_gpu must be in [1, {}], got {}", kMaxNicsPerGpu, o.nics_per_gpu));
  if (!is_network_link(o.network_kind))
    throw InputError(fmt::format("generated cluster: network_kind must be infiniband or ethernet, got {}", to_string(o.network_kind)));
  if (!(o.oversubscription >= 1.0 && std::isfinite(o.oversubscription)))
    throw InputError(fmt::format("generated cluster: oversubscription must be finite and >= 1, got {}", o.oversubscription));

  Topology topo;
  topo.name = !o.name.empty() ? o.name
                              : fmt::format("{}-{}-{}node", o.fabric == FabricKind::fat_tree ? "fat-tree" : "dgx", o.gpu_model,
                                            o.nodes);
  const int num_su = (o.nodes + o.nodes_per_su - 1) / o.nodes_per_su;
  const int rails = rails_per_node(o);
  const int num_leaves = num_su * rails;
  const bool rail = o.fabric == FabricKind::rail_optimized;
  // Spine groups: one unless the spine radix cannot serve every leaf (then a core tier joins them).
  const int leaves_per_group = o.spine_radix > 0 ? std::max(1, o.spine_radix / 2) : num_leaves;
  const int groups = (num_leaves + leaves_per_group - 1) / leaves_per_group;

  // Fabric switches first so that their ids sort before node devices in the file.
  std::vector<int> leaf(idx(num_leaves));
  for (int su = 0; su < num_su; ++su)
    for (int r = 0; r < rails; ++r)
      leaf[idx(su * rails + r)] =
          topo.add_device(Device{fmt::format("su{}/leaf{}", su, r), DeviceKind::leaf, -1, rail ? r : -1, ""});
  std::vector<int> spine(idx(groups * o.spines));
  std::vector<int> core;
  if (o.nodes > 1) {
    for (int k = 0; k < groups; ++k)
      for (int s = 0; s < o.spines; ++s)
        spine[idx(k * o.spines + s)] = topo.add_device(
            Device{groups == 1 ? fmt::format("spine{}", s) : fmt::format("sg{}/spine{}", k, s), DeviceKind::spine, -1, -1, ""});
    if (groups > 1)
      for (int c = 0; c < o.cores; ++c) core.push_back(topo.add_device(Device{fmt::format("core{}", c), DeviceKind::core, -1, -1, ""}));
  }

  for (int n = 0; n < o.nodes; ++n) {
    const std::string prefix = fmt::format("{}{}", o.host_prefix, n);
    int host = topo.add_host(prefix);
    int nvswitch = topo.add_device(Device{prefix + "/nvswitch", DeviceKind::nvswitch, host, -1, ""});
    int su = n / o.nodes_per_su;
    int nodes_in_su = std::min(o.nodes_per_su, o.nodes - su * o.nodes_per_su);
    const int local = n - su * o.nodes_per_su;
    const int k = o.nics_per_gpu;
    for (int g = 0; g < o.gpus_per_node; ++g) {
      int gpu = topo.add_device(
          Device{fmt::format("{}/gpu{}", prefix, g), DeviceKind::gpu, host, k == 1 ? g : g * k, o.gpu_model});
      topo.add_bidirectional(gpu, nvswitch, LinkKind::nvlink, o.nvlink_GBps, o.nvlink_latency_ns);
      // One NIC: on the GPU's own PCIe link. Several: GPU and NICs behind one PCIe switch (AWS p5).
      int pcie = gpu;
      if (k > 1) {
        pcie = topo.add_device(Device{fmt::format("{}/pcie{}", prefix, g), DeviceKind::pcie_switch, host, -1, ""});
        topo.add_bidirectional(gpu, pcie, LinkKind::pcie, o.pcie_GBps, o.pcie_latency_ns);
      }
      for (int j = 0; j < k; ++j) {
        const int r = g * k + j;
        int nic = topo.add_device(Device{fmt::format("{}/nic{}", prefix, r), DeviceKind::nic, host, r, o.nic_model});
        topo.add_bidirectional(pcie, nic, LinkKind::pcie, o.pcie_GBps, o.pcie_latency_ns);
        int l = leaf_of(o, local, r, nodes_in_su);
        topo.add_bidirectional(nic, leaf[idx(su * rails + l)], o.network_kind, o.nic_GBps, o.ib_latency_ns);
      }
    }
  }
  if (o.nodes == 1) return topo;
  // Leaf -> spine: each leaf's down-link bandwidth split over the spines of its group.
  std::vector<double> spine_down(idx(groups * o.spines), 0.0);
  for (int su = 0; su < num_su; ++su) {
    int nodes_in_su = std::min(o.nodes_per_su, o.nodes - su * o.nodes_per_su);
    for (int r = 0; r < rails; ++r) {
      int nics = 0;
      for (int local = 0; local < nodes_in_su; ++local)
        for (int q = 0; q < rails; ++q) nics += leaf_of(o, local, q, nodes_in_su) == r;
      if (nics == 0) continue;
      int li = su * rails + r;
      int k = li / leaves_per_group;
      double uplink = nics * o.nic_GBps / (o.spines * o.oversubscription);
      for (int s = 0; s < o.spines; ++s) {
        topo.add_bidirectional(leaf[idx(li)], spine[idx(k * o.spines + s)], o.network_kind, uplink, o.ib_latency_ns);
        spine_down[idx(k * o.spines + s)] += uplink;
      }
    }
  }
  for (int sp = 0; sp < static_cast<int>(core.size() ? spine.size() : 0); ++sp)
    for (int c : core)
      topo.add_bidirectional(spine[idx(sp)], c, o.network_kind, spine_down[idx(sp)] / o.cores, o.ib_latency_ns);
  return topo;
}

DgxClusterOptions nvl72_options(int racks) {
  DgxClusterOptions o;
  o.nodes = racks;
  o.gpus_per_node = 72;
  o.gpu_model = "b200";
  o.host_prefix = "rack";
  o.nvlink_GBps = 900.0;
  o.nic_GBps = 50.0;
  o.pcie_GBps = 64.0;
  o.nodes_per_su = 8;
  o.name = fmt::format("nvl72-{}rack", racks);
  return o;
}

DgxClusterOptions aws_p5_options(int nodes) {
  DgxClusterOptions o;  // H100, NVLink 450 GB/s, PCIe Gen5 x16 64 GB/s: the DGX H100 defaults
  o.nodes = nodes;
  o.fabric = FabricKind::fat_tree;
  o.nics_per_gpu = 4;
  o.nic_GBps = 12.5;  // 100 Gb/s
  o.nic_model = "efa";
  o.network_kind = LinkKind::ethernet;
  o.name = fmt::format("aws-p5-{}node", nodes);
  return o;
}

Topology generate_dgx1_mesh() {
  struct Pair {
    int a, b;
    double GBps;
  };
  static constexpr std::array<Pair, 16> kPairs = {{{0, 1, 25}, {0, 2, 25}, {0, 3, 50}, {0, 4, 50}, {1, 2, 50}, {1, 3, 25},
                                                   {1, 5, 50}, {2, 3, 50}, {2, 6, 25}, {3, 7, 25}, {4, 5, 25}, {4, 6, 25},
                                                   {4, 7, 50}, {5, 6, 50}, {5, 7, 25}, {6, 7, 50}}};
  Topology topo;
  topo.name = "dgx1-mesh";
  int host = topo.add_host("node0");
  std::array<int, 8> gpu{};
  for (int g = 0; g < 8; ++g)
    gpu[idx(g)] = topo.add_device(Device{fmt::format("node0/gpu{}", g), DeviceKind::gpu, host, g, "v100"});
  for (const Pair& p : kPairs) topo.add_bidirectional(gpu[idx(p.a)], gpu[idx(p.b)], LinkKind::nvlink, p.GBps, 500.0);
  return topo;
}

}  // namespace epsim
