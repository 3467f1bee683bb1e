#pragma once
// Certified lower bounds for one layer under the link model (comm/link_load.hpp), used to
// report how far a plan can be from the optimum (the gap).
#include <string>
#include <vector>

#include "comm/link_load.hpp"

namespace epsim {

/// Lower bounds of one layer. Both are certified: no placement with the given slots, at most one
/// replica of an expert per rank and replicas sharing load evenly does better.
struct LayerBounds {
  double gpu_tokens = 0;     ///< on the busiest rank's tokens (bounds.hpp: average, hottest expert, replica
                             ///< budget; and full_slots_bound when there is no redundant slot)
  std::string gpu_tight;     ///< which of those is tight
  double link_s = 0;         ///< on the kernel's dispatch time + combine time (comm/exchange_cost.hpp
                             ///< evaluated at the busiest-link bounds below and the busiest rank's bound)
  std::string link_tight;    ///< "busiest-rank" (below) or "lp" (GLPK relaxation, when it is larger)
};

/// When slots exactly match experts (G x S = E, no redundant slot), every expert has one replica and
/// every slot is filled, so the rank of the hottest expert also computes S - 1 other experts:
/// max load >= max_e load_e + (sum of the S - 1 smallest other loads). Returns 0 otherwise.
double full_slots_bound(const std::vector<double>& load, int num_gpus, int slots_per_gpu);

/// Bound on T = max_l dispatch(l)/bw(l) + max_l combine(l)/bw(l) (each phase bounded separately).
/// "busiest-rank" bound: in any plan some rank g carries tau >= gpu_lb tokens (tau <= W, W = total
/// tokens), and every other rank's bytes on link l are at least (W - tau) x m_l with
/// m_l = min over ranks g' != g of the route coefficient of g' on l, so
///   dispatch >= min_g min_{gpu_lb <= tau <= W} max_l (tau x c_gl + (W - tau) x m_gl) x B / (EP x bw_l).
/// With `lp` (small instances), the LP of bounds.hpp (link_time_lower_bound) is also solved for each
/// phase and the larger bound kept. load: tokens per expert; slots_per_gpu as in the plan.
LayerBounds layer_lower_bounds(const EpLinkModel& links, const std::vector<double>& load, int slots_per_gpu,
                               double dispatch_bytes_per_token, double combine_bytes_per_token, bool lp);

}  // namespace epsim
