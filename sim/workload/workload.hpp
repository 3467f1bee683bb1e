#pragma once
// The workload of one iteration as a task graph on per-GPU compute and communication streams: per
// layer and micro-batch attention (+ TP all-reduce), gate, dispatch, routed experts, shared experts,
// combine; dense layers; pipeline stages with activation sends; training backward and gradient sync.
// The schedule (serial / overlap / two-batch) decides dependencies and issue order.
#include <cstdint>
#include "comm/link_load.hpp"
#include <memory>
#include <vector>

#include "comm/collectives.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/workload/stream_executor.hpp"
#include "sim/workload/training.hpp"

namespace epsim {

/// Durations of one layer's ops for one micro-batch (nominal compute time, without overlap slowdown).
struct LayerCosts {
  int layer = 0;
  bool moe = false;
  Time attention;         ///< per GPU (TP-sharded)
  /// Per micro-batch when they differ (prefill with a sequence split between micro-batches: the later
  /// part attends to the earlier one); empty: `attention` for every micro-batch.
  std::vector<Time> attention_by_mb;
  /// DP-attention imbalance (ServingConfig::replica_lengths): [replica][micro-batch] for the GPUs of each DP
  /// replica; empty: attention_by_mb / attention for every replica.
  std::vector<std::vector<Time>> attention_by_replica;
  /// Last layer only: LM head and sampling of each micro-batch (empty: none), and the fixed per-step
  /// cost once per iteration (decode).
  std::vector<Time> lm_head_by_mb;
  Time step_overhead;
  /// Last layer, decode with MTP: forwards of the MTP module whose compute is in lm_head_by_mb (the draft
  /// tokens d when the kernel tables model the module, else 0); each adds its dispatch and combine.
  int mtp_forwards = 0;
  Time tp_all_reduce;     ///< after attention when tp > 1 (0 otherwise)
  Time gate;              ///< router GEMM, per GPU
  Time shared_experts;    ///< per GPU (0 when the model has none)
  Time ffn_all_reduce;    ///< after the (expert-TP or dense-TP) FFN when sharded (0 otherwise)
  Time dense_ffn;         ///< dense layers only
  std::vector<Time> expert_chunk;  ///< per EP rank: routed-expert GEMMs of one chunk of the dispatch
  std::vector<double> gpu_tokens;  ///< per EP rank: token-expert pairs it computes (whole micro-batch)
  /// gpu_tokens shared by the layer's exchanges (their transfer generators and shape key).
  std::shared_ptr<const std::vector<double>> shared_tokens;
  double dispatch_bytes_per_token = 0;
  double combine_bytes_per_token = 0;
  /// De-duplication of the layer's routing under the exchange kernel (comm/token_router.hpp).
  ExchangeRouting routing;
  /// Training: the layer's data-parallel gradient reductions (layer_grad_reductions).
  std::vector<GradReduction> grad_reductions;
};

/// How the workload is laid out (derived from a scenario and a schedule).
struct WorkloadConfig {
  ScheduleKind schedule = ScheduleKind::overlap;
  int chunks = 1;  ///< dispatch chunks (overlap schedule; 1 for serial and two-batch)
  /// Training: each gradient reduction (and parameter all-gather) also sends its traffic
  /// (reduction_traffic, sim/workload/training.hpp) through the network model, as an exchange that lasts at
  /// least the collective model's time; under the flow models that traffic shares links with the
  /// all-to-alls. false: a fixed-time collective that uses no link.
  bool reductions_on_network = false;
  /// The EP exchange kernel of dispatch and combine (comm/exchange_kernel.hpp).
  ExchangeKernelParams kernel = default_kernel_params(ExchangeKernelKind::deepep_normal);
};

/// Per-token routing of the exchanges: `tokens` sampled per MoE layer (0: no de-duplication) with the
/// model's router rule from the layer's loads, each layer seeded with `seed`.
struct RoutingSampling {
  int tokens = 1024;  ///< 1024 x top-k selections: de-duplication factors within ~1% (binomial error)
  std::uint64_t seed = 1;
  /// Layers sampled at once (std::thread); 0 = hardware threads. The results do not depend on it
  /// (every layer has its own generator and its own slot). 1 by default: a sweep runs simulate() on
  /// many threads already; `epsim simulate` uses 0.
  int threads = 1;
};

/// Costs of every layer for one micro-batch (equal micro-batches, so one entry per layer).
/// Equations in docs/simulator.md. Throws std::invalid_argument from the models on bad values.
/// notices: where look-ups outside the kernel tables are recorded (may be null).
std::vector<LayerCosts> layer_costs(const ScenarioInputs& in, const CollectiveModel& collectives, int chunks,
                                    ComputeNotices* notices = nullptr, const RoutingSampling& sampling = {});

/// Tokens one sequence adds per decode step with multi-token prediction: 1 + sum_{i=1..d} a^i (each
/// draft token accepted with probability a given the previous one was; d = 0: 1).
double mtp_tokens_per_step(const ServingConfig& serving);

/// Tasks of a workload and the memory they take while simulated, known before it is built.
struct WorkloadSize {
  std::int64_t tasks = 0;          ///< at least what build_workload adds (exact for prefill/decode with shared experts)
  std::uint64_t memory_bytes = 0;  ///< tasks x kWorkloadBytesPerTask (+ training pp = 1 barrier deps)
};
/// Resident memory per task while simulated: ~455 B measured (DeepSeek-V3 prefill EP 32, 16 to 64
/// micro-batches, analytical network: 196 MB per 437k tasks; docs/limits.md), rounded up.
inline constexpr std::uint64_t kWorkloadBytesPerTask = 512;

/// Size of the workload of `micro_batches` micro-batches of `in` under `config` (config.chunks as
/// simulate() resolves it). O(layers).
WorkloadSize estimate_workload_size(const ScenarioInputs& in, const WorkloadConfig& config, int micro_batches);

/// Add the whole iteration to `executor` (which must have in.scenario.parallel.gpus() GPUs or more).
void build_workload(const ScenarioInputs& in, const std::vector<LayerCosts>& costs, const WorkloadConfig& config,
                    StreamExecutor& executor);

}  // namespace epsim
