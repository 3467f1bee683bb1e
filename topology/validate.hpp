#pragma once
// Graph-level checks of a topology, with messages that name the device or link at fault.
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace epsim {

/// Check a topology; throws InputError (file = `source`) on the first error found:
/// no GPU; a link with bandwidth not finite and > 0 or negative latency; a GPU that cannot reach
/// another GPU (names both); in a multi-host cluster, a GPU without a host or with no path to a NIC on its host that avoids
/// other GPUs. Messages name the GPUs and links at fault.
/// Returns warnings (not errors), e.g. devices that no link touches.
std::vector<std::string> validate_topology(const Topology& topology, const std::string& source);

}  // namespace epsim
