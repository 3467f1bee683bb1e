#pragma once
// The cluster of a scenario's "topology" object: a DGX cluster from topology/generators
// (rail-optimized like a DGX SuperPOD, or the fat tree of FabricKind::fat_tree) or a topology file.
#include <memory>
#include <string>

#include "common/json_input.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// A topology as a scenario describes it. Bandwidths GB/s per direction.
struct TopologyVariant {
  std::string file;          ///< a topology JSON file; when set the generator fields are unused
  DgxClusterOptions dgx;     ///< fabric, nodes, GPUs per node, bandwidths, spines, oversubscription
  RoutingPolicy routing = RoutingPolicy::shortest;

  /// A string that is equal for equal variants (cache key).
  std::string key() const;
};

/// Read a scenario's "topology" object at `at` (absent members take DGX H100 defaults). nodes 0 or
/// absent = ceil(gpus_needed / gpus_per_node). Throws InputError naming the member for: ill-typed
/// or out-of-range values, an unknown fabric or routing, "file" together with generator members.
TopologyVariant topology_variant_from_json(const JsonCursor& at, int gpus_needed);

/// Build (generate_dgx_cluster) or load the topology of a variant. Throws InputError for a file that
/// cannot be loaded or generator options it rejects.
Topology build_topology(const TopologyVariant& variant);

/// A topology with its route table (routing policy of the variant). Both on the heap at stable
/// addresses: the route table and EP link models point into the topology. Immutable, shareable.
struct RoutedTopology {
  std::shared_ptr<const Topology> topology;
  std::shared_ptr<const RouteTable> routes;
};

/// build_topology + RouteTable. O(G^2 x hops) for G GPUs. Throws InputError like build_topology.
RoutedTopology build_routed_topology(const TopologyVariant& variant);

}  // namespace epsim
