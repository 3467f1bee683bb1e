#pragma once
// Certified lower bounds for one MoE layer's placement: on the largest per-GPU token load and on the
// largest link time. "Certified" = no placement allowed by the model below can do better.
//
// The placement model bounded here (the one of LayerPlacement + gpu_token_loads): G GPUs with S slots
// each; every expert has at least one replica; at most one replica of an expert per GPU (so
// 1 <= r_e <= G and sum_e r_e <= G*S); each replica of expert e computes load_e / r_e tokens.
#include <string>
#include <utility>
#include <vector>

namespace epsim {

/// Lower bounds on min over placements of max_g (tokens computed by GPU g), in tokens.
struct GpuLoadBounds {
  double average = 0.0;         ///< W / G, W = sum_e load_e (every token is computed somewhere)
  double hottest_expert = 0.0;  ///< max_e load_e / min(G, G*S - E + 1) (most replicas expert e can get)
  /// min over integer replica counts (1 <= r_e <= G, sum r_e <= G*S) of max_e load_e / r_e: some GPU
  /// holds the largest replica. Computed exactly by the greedy "split the largest replica" rule.
  double replica_budget = 0.0;
  /// LP relaxation solved with GLPK (see gpu_load_lower_bounds), shaved by 1e-6 relative against
  /// solver tolerances; -1 when not requested.
  double lp = -1.0;
  double best = 0.0;  ///< max of the above
  std::string tight;  ///< name of the first bound equal to best: average, hottest_expert, replica_budget, lp
};

/// Lower bounds on the max GPU load of one layer. load: [E] tokens per expert (finite, >= 0);
/// num_gpus G >= 1; slots_per_gpu S >= 1 with G*S >= E. With solve_lp, also solves with GLPK the
/// relaxation
///   min T  s.t.  sum_g x_{e,g} = 1 (all e),  sum_e x_{e,g} <= S,  sum_e load_e x_{e,g} <= T (all g),
///                0 <= x_{e,g} <= 1,
/// where x_{e,g} is the share of expert e's tokens computed on GPU g. What it relaxes: the replica
/// indicators y_{e,g} in {0,1} become y in [0,1] (with x <= y, sum_e y_{e,g} <= S; y = x is then
/// optimal, so y is eliminated), and "replicas share load evenly" (x_{e,g} = y_{e,g} / r_e) becomes
/// any split. Because GPUs are interchangeable, averaging an LP solution over GPU permutations gives
/// x_{e,g} = 1/G, so this LP always equals `average`; it is kept because link_time_lower_bound uses
/// its feasible region, where GPUs differ. Throws InputError on invalid input and std::runtime_error
/// if GLPK fails (status in the message).
GpuLoadBounds gpu_load_lower_bounds(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                    bool solve_lp = true);

/// Lower bounds on min over placements of max_l (bytes on link l / bandwidth of l), in seconds.
struct LinkTimeBounds {
  /// max over links of the best that link alone can do: GPU loads L_g filled cheapest-first
  /// (coefficient coef_{g,l}), each up to the sum of the S largest expert loads, summing to W.
  double single_link_s = 0.0;
  double lp_s = 0.0;  ///< LP over all links at once (see link_time_lower_bound), shaved by 1e-6 relative
  double best_s = 0.0;       ///< max(single_link_s, lp_s)
  std::string tight;         ///< "lp" or "single_link" (the latter when lp_s does not exceed it)
  int bottleneck_link = -1;  ///< a link whose time equals lp_s at the LP optimum (-1 if no link carries bytes)
  std::vector<double> gpu_loads;  ///< [G] tokens per GPU at the LP optimum
};

/// Lower bound on the largest link time of one layer. load: [E] tokens per expert; coef: [G] per GPU a
/// sparse list of (link id, bytes per token computed on that GPU) so that
/// bytes_on_link[l] = sum_g gpu_load[g] * coef_{g,l} (repeated link ids add up); link_bw_Bps: [links]
/// bytes/s per link. LP: min T s.t. sum_g coef_{g,l} L_g / bw_l <= T for every link l, with the GPU
/// loads L_g = sum_e load_e x_{e,g} ranging over the feasible region of gpu_load_lower_bounds' LP
/// (so it relaxes the same two things; no cap on the largest GPU load is imposed).
/// Throws InputError on invalid input (sizes, unknown link id, negative or non-finite values,
/// non-positive bandwidth, G*S < E) and std::runtime_error if GLPK fails.
LinkTimeBounds link_time_lower_bound(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                     const std::vector<std::vector<std::pair<int, double>>>& coef,
                                     const std::vector<double>& link_bw_Bps);

/// Frees the calling thread's GLPK environment (GLPK 5.0 keeps one per thread, see glpk_model.hpp).
/// A worker thread that called gpu_load_lower_bounds, link_time_lower_bound or exact_min_max_load
/// should call this once before it exits, or the environment (about 10 KiB) leaks; calling it in a
/// thread that never solved is harmless. Must not be called while a solve runs in this thread.
void release_lp_solver_thread_state();

}  // namespace epsim
