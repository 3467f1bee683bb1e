#pragma once
// Graph-level checks of a topology, with messages that name the device or link at fault.
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace epsim {

/// Why a link's bandwidth (GB/s per direction) or latency (ns) is outside the physical ranges of
/// common/limits.hpp (kMinLinkBandwidthGBps..kMaxLinkBandwidthGBps, 0..kMaxLinkLatencyNs); empty when
/// both are inside. One rule for the topology reader, the validator and the generators' options.
std::string link_range_error(double bandwidth_GBps, double latency_ns);

/// NICs (device indices) that serve no GPU on a host whose GPUs share NICs: no GPU of the NIC's host has
/// the NIC's rail while two or more GPUs of that host have one rail in common (a mis-detected PCIe
/// topology: GPU0 and GPU1 both on NIC0, NIC1 idle). Hosts with more NICs than GPUs and one rail per
/// GPU (AWS p5: 4 EFA NICs per GPU) have none.
std::vector<int> unused_nics(const Topology& topology);

/// Check a topology; throws InputError (file = `source`) on the first error found:
/// no GPU; a link with bandwidth not finite and > 0 or negative latency, or outside link_range_error's
/// ranges; a GPU that cannot reach
/// another GPU (names both); in a multi-host cluster, a GPU without a host or with no path to a NIC on its host that avoids
/// other GPUs. Messages name the GPUs and links at fault.
/// Returns warnings (not errors): devices that no link touches, unused_nics (each named, with the GPUs
/// that share a rail).
std::vector<std::string> validate_topology(const Topology& topology, const std::string& source);

}  // namespace epsim
