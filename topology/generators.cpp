#include "topology/generators.hpp"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace epsim {

Topology generate_dgx_cluster(const DgxClusterOptions& o) {
  if (o.nodes < 1 || o.gpus_per_node < 1 || o.nodes_per_su < 1 || o.spines < 1)
    throw std::invalid_argument("nodes, gpus_per_node, nodes_per_su and spines must be >= 1");
  if (!(o.nvlink_GBps > 0 && o.nic_GBps > 0 && o.pcie_GBps > 0))
    throw std::invalid_argument("bandwidths must be > 0");
  if (!(o.oversubscription >= 1.0)) throw std::invalid_argument("oversubscription must be >= 1");

  Topology topo;
  topo.name = fmt::format("dgx-{}-{}node", o.gpu_model, o.nodes);
  const int num_su = (o.nodes + o.nodes_per_su - 1) / o.nodes_per_su;

  // Fabric switches first so that their ids sort before node devices in the file.
  std::vector<int> leaf(static_cast<std::size_t>(num_su * o.gpus_per_node));
  for (int su = 0; su < num_su; ++su)
    for (int r = 0; r < o.gpus_per_node; ++r)
      leaf[static_cast<std::size_t>(su * o.gpus_per_node + r)] =
          topo.add_device(Device{fmt::format("su{}/leaf{}", su, r), DeviceKind::leaf, -1, r, ""});
  std::vector<int> spine(static_cast<std::size_t>(o.spines));
  if (o.nodes > 1)
    for (int s = 0; s < o.spines; ++s)
      spine[static_cast<std::size_t>(s)] = topo.add_device(Device{fmt::format("spine{}", s), DeviceKind::spine, -1, -1, ""});

  for (int n = 0; n < o.nodes; ++n) {
    int host = topo.add_host(fmt::format("node{}", n));
    int nvswitch = topo.add_device(Device{fmt::format("node{}/nvswitch", n), DeviceKind::nvswitch, host, -1, ""});
    int su = n / o.nodes_per_su;
    for (int g = 0; g < o.gpus_per_node; ++g) {
      int gpu = topo.add_device(Device{fmt::format("node{}/gpu{}", n, g), DeviceKind::gpu, host, g, o.gpu_model});
      int nic = topo.add_device(Device{fmt::format("node{}/nic{}", n, g), DeviceKind::nic, host, g, "cx7"});
      topo.add_bidirectional(gpu, nvswitch, LinkKind::nvlink, o.nvlink_GBps, o.nvlink_latency_ns);
      topo.add_bidirectional(gpu, nic, LinkKind::pcie, o.pcie_GBps, o.pcie_latency_ns);
      topo.add_bidirectional(nic, leaf[static_cast<std::size_t>(su * o.gpus_per_node + g)], LinkKind::infiniband,
                             o.nic_GBps, o.ib_latency_ns);
    }
  }
  if (o.nodes > 1) {
    for (int su = 0; su < num_su; ++su) {
      int nodes_in_su = std::min(o.nodes_per_su, o.nodes - su * o.nodes_per_su);
      double uplink = nodes_in_su * o.nic_GBps / (o.spines * o.oversubscription);
      for (int r = 0; r < o.gpus_per_node; ++r)
        for (int s = 0; s < o.spines; ++s)
          topo.add_bidirectional(leaf[static_cast<std::size_t>(su * o.gpus_per_node + r)],
                                 spine[static_cast<std::size_t>(s)], LinkKind::infiniband, uplink, o.ib_latency_ns);
    }
  }
  return topo;
}

}  // namespace epsim
