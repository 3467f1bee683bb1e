#pragma once
// A placement plan for every MoE layer of a model, with the per-rank and per-link loads it implies.
#include <cstdint>
#include <string>
#include <vector>

#include "placement/algorithms/algorithms.hpp"
#include "model/expert_loads.hpp"
#include "placement/algorithms/inter_layer.hpp"
#include "placement/bounds/layer_bounds.hpp"
#include "placement/replica_choice.hpp"
#include "comm/link_load.hpp"
#include "model/moe_model.hpp"

namespace epsim {

/// Run settings of `epsim plan`.
struct PlanSettings {
  int ep = 0;                       ///< EP ranks = GPU ranks 0..ep-1 of the topology
  int redundant = 0;                ///< extra slots for replicas; (E + redundant) % ep == 0
  std::string algorithm = "epsim";
  std::string baseline = "contiguous";
  /// Loads are rescaled per layer so that every rank originates this many tokens (each routed to
  /// top_k experts) in one iteration; 0 keeps the file's counts as they are.
  double tokens_per_gpu = 4096;
  double dispatch_bytes_per_element = kFp8DispatchBytesPerElement;  ///< FP8 dispatch with its scales (DeepSeek serving default)
  double combine_bytes_per_element = 2.0;   ///< BF16 combine
  std::uint64_t seed = 1;
  ObjectiveKind objective = ObjectiveKind::link;
  /// GPU memory for routed-expert weights: every rank holds slots_per_gpu experts in each MoE layer,
  /// 3 x hidden x moe_intermediate x weight_bytes_per_element bytes each, which must fit in
  /// hbm_GiB - hbm_reserve_GiB. Defaults: H100 80 GB (datasheet); 20 GiB kept for attention and
  /// dense weights, KV cache and activations (a stated assumption, adjust per deployment).
  double hbm_GiB = 80.0;
  double hbm_reserve_GiB = 20.0;
  double weight_bytes_per_element = 1.0;  ///< FP8 expert weights (DeepSeek-V3's published checkpoint)
  /// Also solve the GLPK LP link bound per layer (slow beyond EP 16); -1 = automatic (EP <= 16).
  int lp_bounds = -1;
  int threads = 0;  ///< layers planned in parallel; 0 = hardware threads. Results do not depend on it.
  /// Certify the chosen plan: its layers' lower bounds (LayerResult::bounds, the gaps). false: the
  /// bounds stay 0 (no gap is known); the placements are the same. simulate's planning turns them off.
  bool bounds = true;
  /// With a trace: M > 0 makes `epsim` keep every token at <= M nodes where it can (a penalty
  /// sum_t max(0, nodes(t) - M) compared before the objective); 0 = no limit.
  int max_nodes_per_token = 0;
  /// With a trace of >= 2 layers: run the inter-layer affinity post-pass (inter_layer.hpp) on the
  /// `epsim` plan.
  bool inter_layer = true;
  /// Several load windows: how `epsim` combines them (objective.hpp RobustKind). max is the
  /// default: out of sample it is 1.5-2.2 points closer to each window's own plan than mean on the
  /// DeepSeek-V3 windows (bench_robust, docs/placement.md).
  RobustKind robust = RobustKind::max;
  /// Node-local replicas (algorithms/node_local.hpp): every replica of an expert on the node that
  /// holds its group; needs the model's n_group >= 2. Honoured by epsim and greedy (and by eplb's
  /// hierarchical policy by construction); contiguous ignores it.
  bool node_local_replicas = false;
  /// How each expert's tokens are split over its replicas when a plan is evaluated (the table,
  /// plan.json's loads and gaps): rule = equal shares, lp = the per-batch LP of replica_choice.hpp.
  /// The search places replicas under the rule in both cases (the LP is a dispatch-time policy).
  ReplicaChoice replica_choice = ReplicaChoice::rule;
};

/// A trace that `epsim` optimizes on (plan --trace); all pointers must outlive make_plan.
struct PlanTrace {
  const Trace* trace = nullptr;
  const RouteTable* routes = nullptr;  ///< routes of the topology of the link model
  TokenDelivery delivery = TokenDelivery::node_forwarding;
};

/// One layer under one algorithm.
struct LayerResult {
  int layer = 0;                  ///< model layer index
  LayerPlacement placement;
  std::vector<double> gpu_tokens; ///< tokens computed per EP rank (size ep)
  double max_gpu_tokens = 0;
  double mean_gpu_tokens = 0;
  ExchangeCost dispatch;
  ExchangeCost combine;
  LayerBounds bounds;             ///< certified lower bounds (computed for the chosen algorithm only)
  std::string note;               ///< what the algorithm reported (e.g. EPLB's policy), may be empty
  /// The same placement with the rule's equal shares (PlanSettings::replica_choice lp only; with rule
  /// they equal max_gpu_tokens and link_s()): the gain of the per-batch LP over the rule.
  double rule_max_gpu_tokens = 0;
  double rule_link_s = 0;

  /// The exchange kernel's dispatch + combine time (the objective the planner minimizes), seconds.
  double link_s() const { return dispatch.time_s() + combine.time_s(); }
};

/// All MoE layers under one algorithm, with totals.
struct AlgorithmResult {
  std::string algorithm;
  std::vector<LayerResult> layers;
  double sum_dispatch_s = 0;
  double sum_combine_s = 0;
  double max_gpu_tokens = 0;        ///< over layers
  double mean_imbalance = 0;        ///< mean over layers of max / mean GPU tokens (1 = balanced)
  int worst_layer = -1;             ///< layer with the slowest dispatch + combine
  double sum_link_s = 0;            ///< sum over layers of LayerResult::link_s()
  double sum_link_lb_s = 0;         ///< sum over layers of the link lower bound
  double max_link_gap = 0;          ///< max over layers of link_s / bound - 1
  double max_gpu_gap = 0;           ///< max over layers of max_gpu_tokens / bound - 1
  bool trace_objective = false;     ///< layers in the trace were optimized on the trace objective
  InterLayerReport inter_layer;     ///< what the inter-layer post-pass did (zeros when it did not run)
  ReplicaChoice replica_choice = ReplicaChoice::rule;  ///< how the figures above split replicas' tokens
  double rule_sum_link_s = 0;       ///< sum over layers of LayerResult::rule_link_s
  double rule_mean_imbalance = 0;   ///< mean_imbalance with the rule's equal shares
};

struct Plan {
  PlanSettings settings;
  std::vector<std::string> windows;  ///< sources of the load windows planned on (>= 1)
  int num_experts = 0;
  int slots_per_gpu = 0;
  double dispatch_bytes_per_token = 0;
  double combine_bytes_per_token = 0;
  std::vector<std::string> gpu_ids;  ///< topology id of each EP rank
  AlgorithmResult chosen;
  AlgorithmResult baseline;
};

/// Validate settings against the inputs (EP within the topology, slot count, loads matching the
/// model) and plan every MoE layer with the chosen algorithm and the baseline. Throws InputError /
/// UsageError with the smallest valid redundant count when slots do not divide evenly.
/// With `trace` (non-null, trace checked against model and EP), the chosen algorithm `epsim`
/// optimizes every layer present in the trace on the trace objective (trace_objective.hpp) and,
/// with >= 2 trace layers and settings.inter_layer, runs the inter-layer post-pass; the baseline
/// and the default (no trace) path are unchanged.
Plan make_plan(const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads, const PlanSettings& settings,
               const PlanTrace* trace = nullptr);

/// Robust plan over several load windows (>= 1; one window is make_plan above): every window is
/// rescaled per layer as make_plan rescales its loads, the baselines and `epsim`'s starts use their
/// mean, and `epsim` minimizes the windows' objectives combined by settings.robust (for
/// RobustKind::max each window's link time is divided by that window's certified link bound).
/// The results (chosen and baseline) are evaluated on the mean load. Throws InputError naming the
/// window whose layer or expert count disagrees with the model, and UsageError when a trace is
/// combined with more than one window.
Plan make_plan(const EpLinkModel& links, const MoeModel& model, const std::vector<const ExpertLoads*>& windows,
               const PlanSettings& settings, const PlanTrace* trace = nullptr);

/// Evaluate given placements ([model layer], as PlanFile::layers) on loads, with the bytes per token
/// and tokens per GPU of `plan` (plan.settings, plan.*_bytes_per_token) and, with_bounds, the
/// certified bounds of these loads. The result is named `name`.
AlgorithmResult evaluate_placements(const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads,
                                    const Plan& plan, const std::vector<LayerPlacement>& placements,
                                    const std::string& name, bool with_bounds);

/// The placements of a result by model layer (size model.num_layers; dense layers empty).
std::vector<LayerPlacement> placements_by_layer(const AlgorithmResult& result, const MoeModel& model);

/// The placement problem of one MoE layer as make_plan builds it (windows as in the robust
/// make_plan; `plan` from prepare_plan).
PlacementProblem make_layer_problem(const EpLinkModel& links, const MoeModel& model,
                                    const std::vector<const ExpertLoads*>& windows, const Plan& plan, int layer);

/// Check the settings of a plan against the model and the link model and fill the plan's derived
/// fields (slots per GPU, bytes per token, GPU ids); make_plan calls it. Throws as make_plan.
Plan prepare_plan(const EpLinkModel& links, const MoeModel& model, const PlanSettings& settings);

/// Bytes of routed-expert weights one rank holds: slots_per_gpu x MoE layers x expert bytes.
double expert_weight_bytes_per_gpu(const MoeModel& model, int slots_per_gpu, double weight_bytes_per_element);

/// Per-layer loads scaled to tokens_per_gpu (see PlanSettings). An all-zero layer (no routed tokens in
/// the file) is uniform over the experts when tokens_per_gpu > 0, as simulate and predict exchange
/// route it (tokens_per_gpu x ep x top_k / experts each); with tokens_per_gpu 0 (counts as they are) it
/// stays zero.
std::vector<double> scaled_layer_load(const std::vector<double>& count, const MoeModel& model, int ep,
                                      double tokens_per_gpu);

}  // namespace epsim
