#pragma once
// `epsim` with a trace: local search on the trace objective (trace_objective.hpp).
//
// Starts (the best on the trace objective is searched from): greedy, contiguous (when E >= G),
// eplb, the uniform-model epsim result, a group-per-node start (coactivation_start) and, when
// every node has >= E slots, a full copy of the experts on every node (node_copy_start). Moves:
// swap two replicas between ranks (bottleneck: a replica on the node at an end of the busiest link
// with a random slot on another node; targeted: a random token's expert on another node is swapped
// onto the node of one of its other experts; uniformly random), and re-replicate (as the uniform
// search). Mix: 40% bottleneck, 30% targeted, 20% random, 10% re-replication (random instead when
// there is no spare slot). Only improving moves are accepted (TraceLayerState::value(), compared with the
// --max-nodes-per-token penalty first), so the result is never worse than the best start on the
// trace objective. Deterministic for a given seed.
#include <vector>

#include "placement/algorithms/algorithms.hpp"

namespace epsim {

/// Requires problem.trace and problem.links. Throws InputError when the trace does not fit the
/// placement problem (sources >= G, experts >= E).
LayerPlacement place_epsim_trace(const PlacementProblem& problem);

/// Group-per-node start: experts are packed node by node (nodes = hosts of the EP ranks, each with
/// E x ranks(node) / G primaries, remainders to the first nodes), each node seeded with the
/// heaviest unassigned expert and then filled with the unassigned expert that shares the most
/// tokens with the node's experts so far (ties: heavier, then lower id). On a trace from
/// DeepSeek's group-limited routing this recovers the routing groups without being told them.
/// A node's redundant slots replicate its own experts (largest load per replica first, at most one
/// replica per rank); replicas go longest-processing-time first onto the node's least-loaded rank.
/// Throws InputError when a node's replicas cannot be packed without two on one rank.
LayerPlacement coactivation_start(const PlacementProblem& problem, const TraceLayer& layer, int top_k);

/// Node-copy start: when every node has at least E slots, every node holds every expert (its
/// spare slots replicate its heaviest experts, place_node_local_greedy inside the node), so every
/// token is served on its own node: no cross-node byte with per-GPU delivery. Throws InputError
/// when a node has fewer slots than experts.
LayerPlacement node_copy_start(const PlacementProblem& problem);

}  // namespace epsim
