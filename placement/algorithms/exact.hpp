#pragma once
// Exact minimum of the largest per-GPU token load for small layers: replica counts enumerated with
// pruning by lower bounds, the placement for each count vector solved as a MILP with GLPK's branch
// and bound (glp_intopt). A reference for judging heuristics such as EPLB on small cases. The method
// and why it is exact are in exact.cpp.
#include <vector>

#include "model/layer_placement.hpp"

namespace epsim {

/// Largest instance exact_min_max_load accepts.
inline constexpr int kExactMaxGpus = 16;
inline constexpr int kExactMaxExperts = 32;

/// Result of exact_min_max_load.
struct ExactPlacementResult {
  LayerPlacement placement;  ///< G GPUs x S slots, replicas of an expert on distinct GPUs, -1 = empty slot
  std::vector<int> replicas;  ///< [E] replica count r_e chosen
  double max_load = 0.0;      ///< tokens on the busiest GPU under `placement` (each replica load_e / r_e)
  double lower_bound = 0.0;   ///< = max_load when proven_optimal, else the best combinatorial bound
  bool proven_optimal = false;  ///< false when the time limit stopped the search with a solution in hand
  double solve_time_s = 0.0;    ///< wall time of the whole search (enumeration, packing, GLPK)
};

/// Chooses replica counts and a placement minimizing the largest GPU load, exactly, under the model
/// of gpu_token_loads: G GPUs x S slots, every expert >= 1 replica, at most one replica of an expert
/// per GPU, replica load = load_e / r_e. load: [E] tokens (finite, >= 0). Limits: 1 <= G <= 16,
/// 1 <= E <= 32, G*S >= E, otherwise InputError. time_limit_s > 0 caps the whole search (the best
/// solution found is then returned with proven_optimal = false and a valid lower_bound). Throws
/// std::runtime_error if GLPK fails (status in the message) or nothing was found in time.
/// Scope: proves the README-sized cases (12 experts, 8 GPUs x 2) in about a millisecond; with many
/// spare slots (e.g. 32 experts on 16 GPUs x 3) the candidate replica-count vectors exceed an
/// internal cap of 500,000 and the result comes back unproven (within seconds) with its lower bound.
/// search_node_limit (>= 0, else InputError): nodes the packing search may spend on one (counts,
/// bound) question before the GLPK MILP answers it instead (0 = always the MILP; slow, for tests).
ExactPlacementResult exact_min_max_load(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                        double time_limit_s = 60.0, long search_node_limit = 5'000'000);

}  // namespace epsim
