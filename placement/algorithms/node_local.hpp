#pragma once
// Node-local replicas (`--replicas node-local`, EPLB's hierarchical rule): every replica of an
// expert lives on the node that holds the expert's group. Groups (DeepSeek n_group, experts
// e / (E / n_group)) are assigned to nodes first; every algorithm then places inside each node.
#include <vector>

#include "placement/algorithms/algorithms.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Node of each EP rank 0..ep-1: the topology's hosts renumbered 0..N-1 in order of their first
/// rank. Size ep.
std::vector<int> node_of_ranks(const Topology& topology, int ep);

/// Assign expert groups to nodes: num_groups equal contiguous groups of E / num_groups experts;
/// groups in decreasing load (ties: lower group) each go to the node with the smallest load per
/// rank after taking it, among nodes whose slots (ranks x slots_per_gpu) still hold the group's
/// experts (ties: lower node). Returns expert_node [E].
/// Throws InputError when num_groups < 2 ("no group information"), E % num_groups != 0, or the
/// groups do not fit the nodes' slots (the message says how many slots each node has).
std::vector<int> assign_groups_to_nodes(const std::vector<double>& load, int num_groups,
                                        const std::vector<int>& node_of_gpu, int slots_per_gpu);

/// True when every replica of the placement sits on its expert's node (always true when the
/// problem is not node-local).
bool respects_node_local(const PlacementProblem& problem, const LayerPlacement& placement);

/// greedy inside every node: per node, the replica counts of place_greedy over the node's experts
/// and slots (at most one replica per rank of the node), then longest-processing-time onto the
/// node's ranks. Requires problem.node_local(). Throws InputError when a node cannot hold its experts.
LayerPlacement place_node_local_greedy(const PlacementProblem& problem);

}  // namespace epsim
