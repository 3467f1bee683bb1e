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
  std::string link_tight;    ///< "busiest-rank", "busiest-node" (below) or "lp" (GLPK relaxation, when larger)
  double busiest_rank_link_s = 0;  ///< link_s from the busiest-rank bound alone (the bound before the
                                   ///< busiest-node bound existed; for reporting how much it adds)
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
/// "busiest-node" bound: the same argument over the nodes (hosts) of the EP ranks: the busiest node
/// carries T >= max(W / nodes, gpu_lb) tokens and every link l then carries at least
/// T x min_{g in node} c_gl + (W - T) x min_{g outside} c_gl (a row that misses l counts 0); each
/// phase keeps the larger of the two bounds. Valid for any split of an expert's tokens over its
/// replicas (only sum_g t_g = W and the GPU bound are used).
/// With `lp` (small instances), the LP of bounds.hpp (link_time_lower_bound) is also solved for each
/// phase and the larger bound kept. load: tokens per expert; slots_per_gpu as in the plan.
LayerBounds layer_lower_bounds(const EpLinkModel& links, const std::vector<double>& load, int slots_per_gpu,
                               double dispatch_bytes_per_token, double combine_bytes_per_token, bool lp);

}  // namespace epsim
