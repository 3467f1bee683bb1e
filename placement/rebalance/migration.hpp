#pragma once
// Moving from one placement to the next with few expert-weight copies, and what the copies cost on
// the real links.
#include <functional>
#include <vector>

#include "model/layer_placement.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// Re-label `fresh` (a new placement of one layer) so that it copies few expert weights when it
/// replaces `old` (same GPUs and slots): first the GPUs' contents are assigned to GPUs by a
/// maximum-weight assignment with weight(g, h) = experts that GPU g holds in `old` and fresh GPU h
/// holds (max_weight_assignment); that re-labelling is kept only when acceptable(candidate) (the
/// caller checks that its objective does not get worse: on an asymmetric topology GPUs are not
/// interchangeable). Then inside every GPU the experts it already held keep their slot (slot order
/// inside a GPU costs nothing). Returns the re-labelled placement (the same replicas per GPU as
/// `fresh` or as the accepted re-labelling).
LayerPlacement match_placement(const LayerPlacement& old, const LayerPlacement& fresh,
                               const std::function<bool(const LayerPlacement&)>& acceptable);

/// Number of (GPU, expert) pairs of `fresh` that `old` does not have: replicas to copy.
int replicas_to_copy(const LayerPlacement& old, const LayerPlacement& fresh);

/// One expert-weight copy.
struct ReplicaCopy {
  int layer = 0;
  int expert = 0;
  int source = 0;       ///< EP rank that holds the expert in the old placement
  int destination = 0;  ///< EP rank that gets it
};

/// All copies of one rebalance and their cost in the closed-form link model (every copy drains at
/// its route's bandwidth share; time = max_l bytes(l) / bw(l) + the slowest route's latency).
struct Migration {
  std::vector<ReplicaCopy> copies;
  double bytes = 0;                ///< copies x bytes per replica
  std::vector<double> link_bytes;  ///< per topology link
  double bottleneck_s = 0;
  double latency_s = 0;
  int busiest_link = -1;
  double time_s() const { return bottleneck_s + latency_s; }
};

/// Copies from old[layer] to fresh[layer] for every layer (dense layers: empty placements). Each
/// new replica comes from an old holder of its expert on the destination's host if there is one
/// (NVLink), else from the old holder that has sent the fewest bytes so far (ties: lower rank).
/// bytes_per_replica: one expert's weights (3 x hidden x moe_intermediate x bytes per element).
Migration plan_migration(const RouteTable& routes, const std::vector<LayerPlacement>& old,
                         const std::vector<LayerPlacement>& fresh, double bytes_per_replica);

}  // namespace epsim
