#pragma once
// Generators for standard systems (written by `epsim topo generate`).
#include <string>
#include <string_view>
#include <vector>

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
/// How NICs attach to leaves.
enum class FabricKind {
  rail_optimized,  ///< NIC r of every node in an SU on leaf r of that SU (DGX SuperPOD)
  fat_tree,        ///< NICs of an SU numbered node-major and spread over the SU's leaves in blocks,
                   ///< so a leaf holds all NICs of a few nodes (any-to-any, not rail-aligned)
};

/// Names of the fabrics ("rail-optimized", "fat-tree"), in enum order; the one list parsers and docs use.
const std::vector<std::string>& fabric_names();
/// The fabric named `name`; throws std::invalid_argument naming the valid ones.
FabricKind parse_fabric(std::string_view name);
std::string_view to_string(FabricKind fabric);

/// Options of generate_dgx_cluster (also used for GB200 NVL72 racks; see nvl72_options()).
/// Core tier: when spine_radix > 0 and the leaves exceed spine_radix / 2 (half of a spine's ports
/// face down), leaves are split into spine groups of spine_radix / 2 leaves, each with `spines`
/// spines (ids "sg{k}/spine{s}"), and every spine joins each of `cores` core switches ("core{c}")
/// with bandwidth = (spine down-link bandwidth) / cores, i.e. the core tier is non-blocking.
struct DgxClusterOptions {
  FabricKind fabric = FabricKind::rail_optimized;
  std::string name;                  ///< topology name; empty = derived from fabric, model and size
  std::string host_prefix = "node";  ///< host and device id prefix: "{prefix}{n}/gpu{g}"
  std::string nic_model = "cx7";
  int spine_radix = 0;  ///< ports per spine switch; 0 = unlimited (no core tier)
  int cores = 8;        ///< core switches when a core tier is built
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

/// Default DGX H100 options for `nodes` nodes (shorthand for tests, benches and sweeps).
inline DgxClusterOptions dgx_options_for_nodes(int nodes) {
  DgxClusterOptions o;
  o.nodes = nodes;
  return o;
}

/// Build the cluster. Throws std::invalid_argument on non-positive sizes or bandwidths.
Topology generate_dgx_cluster(const DgxClusterOptions& options);

/// Options for `racks` GB200 NVL72 racks: 72 GPUs ("b200") per rack in one NVLink domain, NVLink 5
/// 900 GB/s per direction per GPU (1.8 TB/s bidirectional, NVIDIA GB200 NVL72 datasheet), one
/// ConnectX-7 400 Gb/s = 50 GB/s NIC per GPU on PCIe Gen5 x16 (64 GB/s), racks joined by a
/// rail-optimized InfiniBand fabric (one leaf per rail per SU of 8 racks). Host = rack ("rack{r}").
DgxClusterOptions nvl72_options(int racks);

/// The DGX-1 (V100) hybrid cube-mesh: one host "node0", 8 GPUs, 16 NVLink pairs with per-direction
/// bandwidth 25 GB/s per NVLink 2 link (pairs with two links: 50 GB/s), no NVSwitch and no NIC.
/// Pairs (GB/s): 0-1 25, 0-2 25, 0-3 50, 0-4 50, 1-2 50, 1-3 25, 1-5 50, 2-3 50, 2-6 25, 3-7 25,
/// 4-5 25, 4-6 25, 4-7 50, 5-6 50, 5-7 25, 6-7 50 (NVIDIA DGX-1 system architecture white paper).
/// Each GPU has 4 neighbours and 6 links = 150 GB/s of NVLink egress; 12 GPU pairs need two hops.
Topology generate_dgx1_mesh();

}  // namespace epsim
