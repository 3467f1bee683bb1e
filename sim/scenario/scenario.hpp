#pragma once
// Scenario files (schema "epsim.scenario/1", docs/formats.md): what `epsim simulate` replays, and the
// inputs it loads once (topology, routes, model, loads, placement) so that many simulations (a
// sweep) can share them.
#include "comm/calibration.hpp"
#include "comm/exchange_kernel.hpp"
#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "model/expert_loads.hpp"
#include "model/moe_model.hpp"
#include "model/layer_placement.hpp"
#include "placement/plan.hpp"
#include "comm/collectives.hpp"
#include "placement/objective.hpp"
#include "sim/compute/compute_model.hpp"
#include "sim/scenario/scenario_topology.hpp"
#include "sim/compute/kernel_tables.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

inline constexpr const char* kScenarioSchema = "epsim.scenario/1";

/// Parallel layout. GPU rank of (stage, replica, tp rank) = stage x dp x tp + replica x tp + tp rank:
/// a PP stage occupies dp x tp consecutive GPU ranks. Attention is data-parallel over dp replicas and
/// tensor-parallel over tp GPUs; the MoE layers of a stage use its dp x tp GPUs as ep EP ranks of
/// expert_tp GPUs each (ep x expert_tp = dp x tp). Training may use EP groups smaller than the stage
/// (expert_tp = 1, ep dividing dp x tp): the stage's GPUs form edp() consecutive EP groups of ep GPUs
/// that hold the same experts (expert-data-parallel replicas).
struct ParallelConfig {
  int dp = 1;
  int tp = 1;
  int pp = 1;
  int ep = 1;
  int expert_tp = 1;
  int gpus() const { return dp * tp * pp; }
  int gpus_per_stage() const { return dp * tp; }
  /// EP groups per stage = expert-data-parallel size: dp x tp / (ep x expert_tp) (1 for inference).
  int edp() const { return dp * tp / (ep * expert_tp); }
};

enum class PhaseKind { prefill, decode, training };
enum class ScheduleKind { serial, overlap, two_batch };
enum class PipelineSchedule { gpipe, one_f_one_b };

/// The work of one iteration, per DP replica.
struct PhaseConfig {
  PhaseKind kind = PhaseKind::prefill;
  double sequence_length = 0;  ///< prefill/training: tokens per sequence
  double batch = 0;            ///< prefill: sequences per replica; decode: sequences per replica
  double context_length = 0;   ///< decode: tokens already in the KV cache
  int micro_batches = 1;       ///< the replica's batch is split into this many micro-batches
  /// Tokens one replica processes in one micro-batch (prefill/training: sequence x batch / m;
  /// decode: batch / m).
  double tokens_per_micro_batch() const;
};

/// How data-parallel gradients are reduced in training.
enum class GradReduce {
  all_reduce,      ///< all-reduce the BF16 gradients; every rank keeps the whole optimizer state
  reduce_scatter,  ///< ZeRO-1 / distributed optimizer: reduce-scatter the gradients, each rank updates
                   ///< 1/N of the parameters (optimizer states sharded N ways), then all-gathers them
};

/// Mixed-precision Adam (Megatron-LM, DeepSpeed): bytes held per parameter. BF16 weights 2 + BF16
/// gradients 2 + FP32 master weights 4 + FP32 Adam m 4 + FP32 Adam v 4 = 16 bytes/parameter.
/// With precision fp8 the GEMMs quantize the BF16 weights on the fly (DeepSeek-V3's FP8 recipe keeps
/// BF16/FP32 copies too); FP8 weight caches are not counted.
inline constexpr double kTrainWeightBytesPerParam = 2.0;
inline constexpr double kTrainGradBytesPerParam = 2.0;
inline constexpr double kOptimizerStateBytesPerParam = 12.0;
/// HBM bytes the Adam step moves per parameter it updates: read the BF16 gradient 2, read and write
/// the FP32 master weight 8, m 8 and v 8, write the BF16 weight 2 = 28 (one fused kernel, an assumption).
inline constexpr double kOptimizerStepBytesPerParam = 28.0;
/// Backward compute / forward compute of every op: dgrad and wgrad GEMMs have each the forward GEMM's
/// FLOPs (2 x M x N x K), so backward = 2 x forward (Narayanan et al., 2021, eq. 2: 3 passes of
/// 2 x FLOPs). Applied to attention too (FlashAttention-2's backward is closer to 2.5 x; not modelled).
inline constexpr double kBackwardComputeFactor = 2.0;

/// Training options (scenario field `training`, only with phase.kind = training).
struct TrainingConfig {
  /// Reduce a layer's gradients as soon as its backward is done for the last micro-batch, on a
  /// separate communication stream, while earlier layers run their backward (Megatron-LM
  /// --overlap-grad-reduce, PyTorch DDP buckets). Default true. false: every reduction starts after
  /// the stage's whole backward.
  bool overlap_grad_reduce = true;
  GradReduce grad_reduce = GradReduce::all_reduce;
};

/// Serving settings (docs/compute_model.md "Kernel tables" and docs/simulator.md "The serving step"):
/// scenario fields /kernel_tables, /compute, /attention_backend, /mtp, /decode_step_overhead_us
/// (sim/scenario/scenario_params.cpp holds their defaults and ranges).
struct ServingConfig {
  /// Folder with kernel_tables.json; empty: the tables shipped for `gpu` (H100, H200; H800 uses H100's),
  /// none for other GPUs (rooflines then).
  std::filesystem::path kernel_tables;
  bool kernel_tables_off = false;  ///< true: rooflines only (the model before kernel tables)
  /// MLA kernels: "fa3" (SGLang's default on Hopper) or "flashinfer" (both measured in the tables).
  std::string attention_backend = "fa3";
  /// Multi-token prediction: draft tokens per step and the acceptance probability of each draft token
  /// given the previous one was accepted (tokens per step = 1 + sum_{i=1..d} a^i).
  int mtp_draft_tokens = 0;
  double mtp_acceptance_rate = 0;
  /// Fixed cost per decode step on every GPU, us: CUDA-graph launch and scheduler time not hidden by the
  /// engine. 0: SGLang's overlap scheduler runs step n + 1's scheduling while step n runs (SGLang v0.4
  /// "zero-overhead batch scheduler", lmsys.org/blog/2024-12-04-sglang-v0-4), and the tables' decode
  /// kernels were timed graph-replayed, so their launch cost is inside them.
  double decode_step_overhead_us = 0;
  /// Length per DP replica (scenario field /replica_lengths, explicit or drawn at parse time): prefill the
  /// length of the replica's sequences, decode its KV length; empty: every replica at the phase's length.
  std::vector<double> replica_lengths;
};

/// Prefill-decode disaggregation (scenario field /disaggregation, prefill scenarios only): the scenario is
/// the prefill pool and `decode_scenario` the decode pool; `epsim simulate` runs both and pairs them
/// (sim/disaggregation.hpp, docs/simulator.md "Disaggregated prefill and decode pools").
struct DisaggregationConfig {
  std::filesystem::path decode_scenario;  ///< a scenario with phase decode (resolved against this file's folder)
  double output_tokens = 0;               ///< mean output tokens per request (> 0)
  /// Bytes per KV-cache element sent from the prefill to the decode pool: 2 = BF16, SGLang's default KV
  /// dtype for DeepSeek-V3 (kv_cache_dtype "auto" = the model's dtype).
  double kv_bytes_per_element = 2;
};

/// A parsed scenario file (paths already resolved against the scenario's folder).
struct Scenario {
  std::string file;                   ///< the scenario file (for messages)
  /// Fields a command-line flag set, JSON pointer -> the flag ("/calibration" -> "--calibration"): an
  /// error on the file such a field names says the flag gave it (scenario_field_source), not the file.
  std::map<std::string, std::string> set_by;
  std::filesystem::path topology;     ///< topology file; empty when `cluster` is generated
  std::optional<DgxClusterOptions> cluster;  ///< the generated cluster when "topology" is an object
  std::filesystem::path model;
  std::filesystem::path loads;        ///< empty: uniform loads
  std::filesystem::path plan;         ///< empty: make_plan with placement_algorithm
  std::filesystem::path calibration;  ///< empty: none
  std::filesystem::path gemm_efficiency;  ///< DeepGEMM CSV of GEMM efficiency vs tokens per expert
  ParallelConfig parallel;
  PhaseConfig phase;
  ScheduleKind schedule = ScheduleKind::overlap;
  PipelineSchedule pipeline = PipelineSchedule::one_f_one_b;
  std::string network = "analytical";  ///< "analytical", "flow" or "flow-per-transfer"
  RoutingPolicy routing = RoutingPolicy::shortest;
  EcmpMode ecmp = EcmpMode::split;  ///< equal-cost paths: even split, or one hashed path per flow
  /// EP exchange kernel; empty = the phase's default (default_exchange_kernel).
  std::optional<ExchangeKernelKind> exchange_kernel;
  std::string gpu = "h100";
  Precision precision = Precision::fp8;
  std::string placement_algorithm = "greedy";
  int redundant = 0;                   ///< redundant expert slots when planning
  ObjectiveKind objective = ObjectiveKind::link;  ///< what the planner minimizes
  /// How a batch's tokens of an expert split over its replicas (placement/replica_choice.hpp); empty:
  /// the plan file's settings.replica_choice, rule without a plan file.
  std::optional<ReplicaChoice> replica_choice;
  std::uint64_t seed = 1;              ///< seed of the placement search
  int chunks = 4;                      ///< dispatch chunks of the overlap schedule
  double dispatch_bytes_per_element = kFp8DispatchBytesPerElement;  ///< FP8 dispatch with its per-128 scales
  double combine_bytes_per_element = 2.0;   ///< BF16 combine
  double nccl_buffsize_bytes = kNcclDefaultBuffsizeBytes;  ///< NCCL_BUFFSIZE: the collectives' pipeline step x 8
  TrainingConfig training;              ///< phase.kind = training only
  ServingConfig serving;                ///< prefill / decode only
  std::optional<DisaggregationConfig> disaggregation;  ///< prefill only
};

/// Names of the enumerations above, in enum order: the one list each that the parameter table, the
/// parsers, the help texts and the docs use.
const std::vector<std::string>& schedule_names();           ///< serial, overlap, two-batch
const std::vector<std::string>& phase_names();              ///< prefill, decode, training
const std::vector<std::string>& pipeline_schedule_names();  ///< gpipe, 1f1b
const std::vector<std::string>& grad_reduce_names();        ///< all_reduce, reduce_scatter

ScheduleKind parse_schedule(std::string_view name);  ///< a schedule_names() entry; UsageError otherwise
std::string_view to_string(ScheduleKind s);
std::string_view to_string(PhaseKind p);
std::string_view to_string(PipelineSchedule p);
std::string_view to_string(GradReduce g);

/// Parse a scenario document (paths relative to `file`'s folder). Checks every field against the
/// parameter table (sim/scenario/scenario_params.hpp: types, names, ranges, unknown keys, conditional
/// fields) and the rules between fields (phase fields, ep x expert_tp = dp x tp, an even number of
/// micro-batches for two-batch); throws InputError naming file + JSON pointer. Cross-checks against
/// the topology and model are done by prepare_scenario(). A scenario inside another document (a
/// sweep's base) passes its pointer as `at`: errors name `at` + the field, and relative paths stay
/// relative to the working directory (the caller resolved them).
Scenario scenario_from_json(const Json& doc, const std::string& file, const std::string& at = "");

/// The cluster of a scenario: its topology file, or its generated cluster, with its routing policy.
TopologyVariant topology_variant(const Scenario& scenario);

/// The settings the planner gets for a scenario without a plan file: EP size, redundant slots,
/// algorithm, objective, seed, wire bytes, and tokens per EP rank = tokens of one micro-batch of a
/// replica x expert_tp / tp. The caller sets baseline, bounds and threads.
PlanSettings plan_settings(const Scenario& scenario);
/// Read and parse a scenario file. Throws InputError.
Scenario load_scenario(const std::filesystem::path& path);

/// Everything a simulation reads, loaded and validated once; immutable and shareable between threads.
struct ScenarioInputs {
  Scenario scenario;
  std::shared_ptr<const Topology> topology;
  std::shared_ptr<const RouteTable> routes;
  MoeModel model;
  ExpertLoads loads;  ///< per model layer; uniform (1 per expert) when the scenario names none
  /// placement[layer] of every MoE layer (empty for dense layers), EP ranks 0..ep-1 of each stage.
  std::vector<LayerPlacement> placement;
  ComputeModel compute;
  CollectiveParams collective_params;
  /// Measured kernel tables of the GPU (null: rooflines only). Shared, immutable.
  std::shared_ptr<const KernelTableModel> kernels;
  /// The scenario's calibration.json (null: none): collectives and compute above, and the exchange
  /// kernel's parameters (exchange_kernel_params).
  std::shared_ptr<const Calibration> calibration;
  /// One line per doubtful input ("calibration X was measured on ... , the scenario runs ...").
  std::vector<std::string> warnings;
  /// Scenario::replica_choice resolved (the plan file's when the scenario names none; rule by default).
  ReplicaChoice replica_choice = ReplicaChoice::rule;
};

/// The parameters of exchange kernel `kind` for these inputs: the calibration's fitted parameters
/// of that kernel, or its defaults (with a notice when the calibration has none for it), with
/// calibrated link bandwidths capping its efficiencies (comm/calibration.hpp calibrated_kernel_params).
CalibratedKernel exchange_kernel_params(const ScenarioInputs& inputs, ExchangeKernelKind kind);

/// The kernel tables a scenario uses (ServingConfig::kernel_tables or the shipped tables of its GPU), or
/// null when it uses none. Throws InputError from the table readers.
std::shared_ptr<const KernelTableModel> load_scenario_kernels(const Scenario& scenario);

/// Load the files of a scenario, plan the placement when none is given, and validate the whole:
/// dp x tp x pp within the topology's GPUs, ep x expert_tp == dp x tp, (experts + redundant) % ep == 0,
/// heads % tp == 0, micro-batches vs schedule, and memory per GPU (expert weights + attention weights
/// + KV cache + activations <= HBM; suggests expert_tp when one expert does not fit). Throws
/// InputError naming the scenario file and field.
ScenarioInputs prepare_scenario(const Scenario& scenario);

/// Inputs already built elsewhere, shared between many scenarios (a sweep). A null member is loaded
/// or built from the scenario as usual.
struct SharedScenarioParts {
  std::shared_ptr<const Topology> topology;  ///< replaces loading scenario.topology (may be empty then)
  std::shared_ptr<const RouteTable> routes;  ///< routes of `topology` with scenario.routing; needs topology
  std::shared_ptr<const MoeModel> model;     ///< replaces load_moe_model(scenario.model)
  std::shared_ptr<const ExpertLoads> loads;  ///< replaces load_expert_loads(scenario.loads)
  std::shared_ptr<const KernelTableModel> kernels;  ///< replaces load_scenario_kernels(scenario)
  std::shared_ptr<const Calibration> calibration;   ///< replaces load_calibration(scenario.calibration)
  /// When ep > 1 and no plan file: called after every check passed with the settings make_plan would
  /// get; returns placement[layer] (empty for dense layers). May throw.
  std::function<std::vector<LayerPlacement>(const PlanSettings&)> plan;
};

/// prepare_scenario with some inputs given (same checks, same errors, same result for equal inputs).
ScenarioInputs prepare_scenario(const Scenario& scenario, const SharedScenarioParts& parts);

/// Memory one GPU needs, bytes (what prepare_scenario checks). Training: weights in BF16 and
/// gradients and optimizer states per kTrain*BytesPerParam; no KV cache.
struct MemoryEstimate {
  double expert_weights = 0;
  double other_weights = 0;  ///< attention, shared experts, dense FFN, gate (sharded by tp)
  double kv_cache = 0;
  double activations = 0;
  double gradients = 0;         ///< training only
  double optimizer_states = 0;  ///< training only (sharded over the DP group with reduce_scatter)
  double total() const { return expert_weights + other_weights + kv_cache + activations + gradients + optimizer_states; }
};
/// Parameters one GPU holds, split by how their gradients are reduced (training).
struct GpuParams {
  double dense = 0;   ///< attention, shared experts, gate, dense FFN of the stage's layers, / tp
  double expert = 0;  ///< routed-expert slots of the stage's MoE layers, / expert_tp
};
/// Parameters of one GPU of the largest stage (ceil(layers / pp) layers). slots_per_gpu: expert
/// slots of one EP rank.
GpuParams gpu_params(const Scenario& scenario, const MoeModel& model, int slots_per_gpu);
/// Dense parameters of one layer on one GPU (/ tp): attention, and shared experts + gate (MoE
/// layer) or the dense FFN.
double layer_dense_params(const MoeModel& model, int layer, int tp);

/// Memory of the busiest GPU for a scenario and model. slots_per_gpu: expert slots of one EP rank.
MemoryEstimate estimate_memory(const Scenario& scenario, const MoeModel& model, int slots_per_gpu);

}  // namespace epsim
