#pragma once
// Placement algorithms for one MoE layer, selected by name (`epsim plan --algorithm`).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "comm/link_load.hpp"
#include "placement/objective.hpp"
#include "model/layer_placement.hpp"
#include "placement/trace_objective.hpp"

namespace epsim {

/// One layer's placement problem. load[e] >= 0 is the token load of logical expert e (any unit);
/// num_gpus x slots_per_gpu >= num_experts slots. Topology-aware algorithms also read `links`
/// (may be null for the others) and the bytes per token of dispatch and combine.
struct PlacementProblem {
  int num_gpus = 0;
  int slots_per_gpu = 0;
  std::vector<double> load;
  const EpLinkModel* links = nullptr;
  /// links' RowSplit (objective.hpp), built once per plan: makes `epsim`'s moves cheaper; null = the
  /// full rows (same search, slower). Must outlive the call.
  const RowSplit* row_split = nullptr;
  double dispatch_bytes_per_token = 0;
  double combine_bytes_per_token = 0;
  std::uint64_t seed = 0;
  int num_nodes = 1;   ///< hosts spanned by the EP ranks (EPLB's hierarchical policy)
  int num_groups = 1;  ///< expert groups (DeepSeek n_group)
  ObjectiveKind objective = ObjectiveKind::link;  ///< what `epsim` minimizes
  int max_moves = 0;   ///< local-search budget of `epsim` per layer; 0 = automatic
  /// With a trace layer (plan --trace), `epsim` minimizes the trace objective (trace_objective.hpp)
  /// instead of the uniform-source model; null = the uniform model. Must outlive the call.
  const TraceObjectiveInput* trace = nullptr;
  /// Robust planning over several load windows (plan --loads A --loads B ...): every window's load
  /// per expert (each of size E; `load` is then their mean, which the baselines and starts use).
  /// Empty = the single window `load`. `epsim` minimizes the windows' objectives combined by
  /// `robust`; window_scale[w] > 0 (size = windows) is RobustKind::max's per-window scale.
  std::vector<std::vector<double>> windows;
  RobustKind robust = RobustKind::mean;
  std::vector<double> window_scale;
  /// Node-local replicas (--replicas node-local): expert_node[e] = the only node whose ranks may
  /// hold expert e (size E), node_of_gpu[g] = node of rank g (size G), nodes numbered 0..N-1.
  /// Empty = any rank may hold any expert.
  std::vector<int> expert_node;
  std::vector<int> node_of_gpu;
  /// Warm start (rebalancing): when set, `epsim` searches from this placement only, so that the
  /// result differs from it only by the moves that improved it. Must outlive the call.
  const LayerPlacement* warm_start = nullptr;

  int num_experts() const { return static_cast<int>(load.size()); }
  bool node_local() const { return !expert_node.empty(); }
  /// May rank `gpu` hold expert e (-1, an empty slot, may go anywhere)?
  bool allowed(int gpu, int e) const {
    return e < 0 || expert_node.empty() ||
           expert_node[static_cast<std::size_t>(e)] == node_of_gpu[static_cast<std::size_t>(gpu)];
  }
};

/// Smallest number of redundant slots that makes num_experts + R a multiple of num_gpus:
/// (G - E mod G) mod G. E.g. E=256: G=3 -> 2, G=24 -> 8, G=32 -> 0; E=60, G=16 -> 4.
int smallest_valid_redundant(int num_experts, int num_gpus);

/// contiguous: expert e on rank floor(e x G / E) (= floor(e / (E/G)) when G divides E), the usual
/// default without a load balancer; redundant slots stay empty.
LayerPlacement place_contiguous(const PlacementProblem& problem);

/// greedy: load-aware baseline. Replica counts: each redundant slot goes to the expert with the
/// largest load per replica (ties: lowest expert id), at most one replica per rank. Placement:
/// replicas in decreasing load share, each onto the least-loaded rank with a free slot that does not
/// hold that expert yet (longest-processing-time first).
LayerPlacement place_greedy(const PlacementProblem& problem);

/// epsim: topology-aware local search. Starts from the best (by `objective`) of the baselines
/// (greedy, contiguous when it fits) and improves it with moves whose cost is evaluated
/// incrementally on the links they touch (LayerEvaluator): swap two replicas between ranks, fill an
/// empty slot, and re-replicate (take a replica from an expert with a light per-replica load and
/// give it to the expert with the heaviest). Only improving moves are accepted, so the result is
/// never worse than the best baseline. Deterministic for a given seed. Requires problem.links.
/// With problem.trace set, it runs the trace search of trace_search.hpp instead.
LayerPlacement place_epsim(const PlacementProblem& problem);

/// Evaluate a complete placement with the objective of `problem` (requires problem.links).
ObjectiveValue evaluate_placement(const PlacementProblem& problem, const LayerPlacement& placement);

/// Names accepted by run_placement, in the order shown in --help.
std::vector<std::string> placement_algorithm_names();

/// eplb: DeepSeek EPLB (eplb.hpp) with num_nodes/num_groups of the problem: the hierarchical policy
/// when the groups divide over the nodes, else the global one (the note says which). EPLB may put two
/// replicas of one expert on one rank; they are then swapped with a replica on another rank (the
/// note says how many), since a rank gains nothing from holding an expert twice.
LayerPlacement place_eplb(const PlacementProblem& problem, std::string* note);

/// Dispatch by name. Throws UsageError naming the valid algorithms on an unknown name, and
/// InputError when the problem is infeasible (fewer slots than experts). `note`, when given,
/// receives what the algorithm reports (may be empty).
LayerPlacement run_placement(std::string_view algorithm, const PlacementProblem& problem, std::string* note = nullptr);

}  // namespace epsim
