#pragma once
// Generators for standard systems (written by `epsim topo generate`).
#include <string>

#include "topology/topology.hpp"

namespace epsim {

/// A rail-optimized cluster of DGX-class nodes (DGX SuperPOD style).
/// Per node: `gpus_per_node` GPUs, each with an NVLink port of `nvlink_GBps` per direction into one
/// aggregated NVSwitch device, and its own NIC (PCIe `pcie_GBps`, network `nic_GBps`) on rail = local
/// GPU index. Fabric: scalable units (SU) of `nodes_per_su` nodes; one leaf per rail per SU; `spines`
/// spine switches each joined to every leaf with bandwidth = (leaf down-link bandwidth) /
/// (spines x oversubscription).
/// Defaults are DGX H100 datasheet values: NVLink 4 = 18 links, 450 GB/s per direction per GPU;
/// ConnectX-7 400 Gb/s = 50 GB/s; PCIe Gen5 x16 = 64 GB/s; SuperPOD SU = 32 nodes.
/// Latencies are order-of-magnitude estimates (NVLink hop 500 ns, PCIe 250 ns, IB hop 600 ns),
/// to be replaced by `epsim calibrate`.
struct DgxClusterOptions {
  int nodes = 2;
  int gpus_per_node = 8;
  std::string gpu_model = "h100";
  double nvlink_GBps = 450.0;
  double nic_GBps = 50.0;
  double pcie_GBps = 64.0;
  int nodes_per_su = 32;
  int spines = 8;
  double oversubscription = 1.0;  ///< leaf down-link : up-link bandwidth ratio (>= 1)
  double nvlink_latency_ns = 500.0;
  double pcie_latency_ns = 250.0;
  double ib_latency_ns = 600.0;
};

/// Build the cluster. Throws std::invalid_argument on non-positive sizes or bandwidths.
Topology generate_dgx_cluster(const DgxClusterOptions& options);

}  // namespace epsim
