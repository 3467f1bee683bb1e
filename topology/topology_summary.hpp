#pragma once
// Figures a person checks first about a cluster (printed by `epsim topo show`).
#include <string>

#include "topology/topology.hpp"

namespace epsim {

/// Summary of a topology. Bandwidths in GB/s per direction.
struct TopologySummary {
  int hosts = 0, gpus = 0, devices = 0, links = 0;
  /// Distinct rails of the NICs GPUs use (Device::rail of a NIC: its position in its node, the leaf
  /// it attaches to in a rail-optimized fabric): 8 for DGX H100, 32 for AWS p5 (4 NICs per GPU, NIC j
  /// of GPU g on rail 4g + j); 0 without NICs. A GPU's own rail is that of its first NIC, so counting
  /// GPU rails would say 8 on p5.
  int rails = 0;
  int gpus_per_host = 0;         ///< GPUs on the first host (generators make hosts uniform)
  double nics_per_gpu = 0;       ///< NICs GPUs use on GPU 0's host / its GPUs (p5: 4; 0.5 when 2 GPUs share one)
  double gpu_nvlink_GBps = 0;    ///< NVLink egress of GPU 0
  double gpu_pcie_GBps = 0;      ///< PCIe egress of GPU 0
  double gpu_network_GBps = 0;   ///< scale-out injection per GPU on GPU 0's host: bandwidth of
                                 ///< its host's links into the fabric / GPUs on the host; NICs no
                                 ///< GPU uses (validate.hpp unused_nics) left out
  double nic_to_leaf_GBps = 0;   ///< sum of host -> fabric link bandwidth
  double leaf_up_GBps = 0;       ///< sum of leaf -> spine/core link bandwidth
  double oversubscription = 0;   ///< nic_to_leaf / leaf_up (0 without a spine tier)
  double bisection_GBps = 0;     ///< estimate, see summarize_topology
};

/// Compute the summary. Bisection bandwidth is estimated as min(injection of half the hosts,
/// leaf up-link bandwidth / 2) when a spine tier exists, the injection of half the hosts when all
/// NICs share leaves, and 0 for a single host: an upper bound of the true minimum cut for the
/// symmetric fabrics the generators and importer build, not a max-flow computation.
TopologySummary summarize_topology(const Topology& topology);

}  // namespace epsim
