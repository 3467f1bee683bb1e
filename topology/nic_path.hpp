#pragma once
// The path between a GPU and the scale-out fabric through the GPU's own NICs, for traffic that a
// kernel sends through the network although both ends share a host (DeepEP's low-latency kernels with
// NVLink disabled: every peer, same-node ones included, is reached by RDMA).
//
// Rule (NVSHMEM and NCCL pick the NIC nearest to the GPU on PCIe): the NICs of the GPU's host at the
// fewest host-internal, non-NVLink hops from the GPU, never through another GPU; among those, a NIC
// that another GPU reaches in as few hops (a PCIe switch shared by two GPUs and two NICs) only when it
// is on the GPU's rail, and every NIC no other GPU is as near to (AWS p5: one GPU and four EFA NICs per
// PCIe switch, all four used); none left: all nearest ones. The bytes split evenly over the chosen
// NICs (1/k each for k NICs: the multi-NIC aggregation rule routes follow too), then evenly over
// each NIC's links to devices without a host (its leaf switches). The fabric between two NICs is not
// part of the path: the caller charges the sender's uplink and the receiver's downlink only (a
// rail-optimized fabric's spines are non-blocking, and a generated single-node topology has none).
// Cost: one breadth-first search over the host's devices per call, plus one per nearest NIC.
#include <vector>

#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Which way the path runs.
enum class NicDirection {
  up,    ///< GPU -> PCIe -> NIC -> fabric
  down,  ///< fabric -> NIC -> PCIe -> GPU
};

/// The hops (each link once, fractions summing to 1 over each cut of the path) between GPU rank
/// `gpu_rank` and the fabric. Throws InputError naming the GPU when it has no host, reaches no NIC of
/// its host, or its nearest NICs have no link to the fabric.
std::vector<RouteHop> nic_path(const Topology& topology, int gpu_rank, NicDirection direction);

}  // namespace epsim
