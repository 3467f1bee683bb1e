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

/// Most NICs one GPU may have in a generated cluster (AWS p5 has 4; 16 leaves room for any design).
inline constexpr int kMaxNicsPerGpu = 16;
/// Size limits of a generated cluster (topo generate, a scenario's generated /topology): nodes (racks)
/// at most 4096 and GPUs per node at most 72 (an NVL72 rack). A scenario also caps nodes x GPUs at
/// limits::kMaxRoutedGpus before building (65,536 nodes took 6 s and 1.2 GB before routing refused them).
inline constexpr int kMaxGeneratedNodes = 4096;
inline constexpr int kMaxGeneratedGpusPerNode = 72;

/// Options of generate_dgx_cluster (also used for GB200 NVL72 racks; see nvl72_options()).
/// NICs: `nics_per_gpu` NICs per GPU, each of `nic_GBps`. With one, the NIC hangs off the GPU by its
/// own PCIe link and sits on rail g (the GPU's local index). With k > 1 (AWS p5: 4 x 100 Gb/s EFA),
/// the GPU and its k NICs share one PCIe switch ("{prefix}{n}/pcie{g}": GPU-switch and switch-NIC links
/// of pcie_GBps), NIC j of GPU g is "{prefix}{n}/nic{g k + j}" on rail g k + j, and the GPU takes the
/// rail of its first NIC (g k), as the NCCL XML importer numbers them. Routes split a GPU's network
/// bytes evenly over its k NICs (equal-cost next hops at the PCIe switch, topology/routing.hpp), so each
/// NIC carries 1/k of them: the aggregation rule docs/topology.md states.
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
  double ib_latency_ns = 600.0;   ///< per NIC-leaf and fabric hop, whatever the network kind
  int nics_per_gpu = 1;           ///< NICs per GPU, 1..kMaxNicsPerGpu (see above)
  /// Kind of the NIC-leaf and fabric links: infiniband, or ethernet (RoCE, AWS EFA), which the
  /// communication models give their own efficiency and latency (comm/collectives.hpp).
  LinkKind network_kind = LinkKind::infiniband;
};

/// Default DGX H100 options for `nodes` nodes (shorthand for tests, benches and sweeps).
inline DgxClusterOptions dgx_options_for_nodes(int nodes) {
  DgxClusterOptions o;
  o.nodes = nodes;
  return o;
}

/// Build the cluster. Throws InputError on non-positive sizes or bandwidths, nics_per_gpu outside
/// [1, kMaxNicsPerGpu], or a network_kind that is not a scale-out kind (infiniband, ethernet).
Topology generate_dgx_cluster(const DgxClusterOptions& options);

/// Options for `nodes` AWS p5.48xlarge instances: 8 H100 SXM on NVSwitch (450 GB/s per GPU), 32 EFA
/// NICs = 4 per GPU at 100 Gb/s = 12.5 GB/s each, 3200 Gb/s per instance (AWS p5 instance page;
/// aws-ofi-nccl's p5 topology file topology/p5.48xl-topo.xml: one GPU and four NICs behind each PCIe
/// switch; its tuner's NCCL_OFI_TUNER_NET_NUM_RAILS 4 and 12.5 GB/s per rail), links of kind ethernet
/// (EFA runs AWS's SRD transport over Ethernet). Fabric: fat-tree, non-blocking (AWS describes
/// EC2 UltraClusters as non-blocking and publishes no rail alignment; SRD sprays each flow over many
/// paths, which the even ECMP split models). Host prefix "node", name "aws-p5-{nodes}node".
DgxClusterOptions aws_p5_options(int nodes);

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
