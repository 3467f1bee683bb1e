#pragma once
// Replica counts chosen for packing, not only for the largest replica: a start for `epsim` when
// there are redundant slots.
//
// With S slots per GPU the busiest GPU holds S replicas, so what matters is how replicas pack, not
// only the largest one (the greedy rule "next replica to the largest load per replica" makes many
// replicas of nearly equal size, which then cannot be paired with light ones). This start searches
// the replica counts r_e (1 <= r_e <= G, sum r_e <= G x S) by moving one replica at a time from one
// expert to another, scoring each choice by a packing of its replicas (load_e / r_e each) onto the G
// GPUs: replicas in decreasing size, each onto the least-loaded GPU with a free slot (for S = 2 this
// is the sorted pairing a_i + a_{2G+1-i}, the optimal pairing). A change is kept when the packing's
// (largest GPU load, sum of squared GPU loads) does not get worse. The final packing also keeps two
// replicas of one expert off one GPU (the next least-loaded GPU is taken).
#include "placement/algorithms/algorithms.hpp"

namespace epsim {

/// Requires G x S > E (spare slots); deterministic for problem.seed. Cost: O(moves x n log n),
/// n = G x S, moves = min(3000, 10 x E).
LayerPlacement place_replica_packing(const PlacementProblem& problem);

}  // namespace epsim
