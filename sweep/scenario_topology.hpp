#pragma once
// The cluster of a scenario's "topology" object: a generated DGX cluster (rail-optimized like a
// DGX SuperPOD, or a classic fat tree with one leaf per group of nodes) or a topology file.
#include <string>

#include "common/json_input.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

enum class Fabric { rail_optimized, fat_tree };

/// A topology as a scenario describes it. Bandwidths GB/s per direction.
struct TopologyVariant {
  std::string file;          ///< a topology JSON file; when set the generator fields are unused
  Fabric fabric = Fabric::rail_optimized;
  DgxClusterOptions dgx;     ///< nodes, GPUs per node, bandwidths, spines, oversubscription
  int nodes_per_leaf = 4;    ///< fat tree: nodes under one leaf (64-port leaf, 32 ports down)
  RoutingPolicy routing = RoutingPolicy::shortest;

  /// A string that is equal for equal variants (cache key).
  std::string key() const;
};

/// Read a scenario's "topology" object at `at` (absent members take DGX H100 defaults). nodes 0 or
/// absent = ceil(gpus_needed / gpus_per_node). Throws InputError naming the member for: ill-typed
/// or out-of-range values, an unknown fabric or routing, "file" together with generator members.
TopologyVariant topology_variant_from_json(const JsonCursor& at, int gpus_needed);

/// A classic fat tree of DGX-class nodes: every NIC of a node goes to the same leaf, each leaf
/// serves `nodes_per_leaf` nodes, and each of `spines` spines joins every leaf with bandwidth
/// (leaf down-link bandwidth) / (spines x oversubscription); no spines for a single leaf. Node
/// internals as generate_dgx_cluster. Throws std::invalid_argument on non-positive sizes.
Topology generate_fat_tree_cluster(const DgxClusterOptions& options, int nodes_per_leaf);

/// Build (or load) the topology of a variant. Throws InputError for a file that cannot be loaded.
Topology build_topology(const TopologyVariant& variant);

}  // namespace epsim
