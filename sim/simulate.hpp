#pragma once
// simulate(): replay one iteration of a scenario event by event and summarize it. A pure function of
// its arguments (no global state): a sweep may call it from many threads at once on shared inputs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/workload/stream_executor.hpp"
#include "sim/workload/workload.hpp"

namespace epsim {

/// Run options that override or extend the scenario.
struct SimulateOptions {
  std::optional<std::string> network;        ///< "analytical" | "flow" | "flow-per-transfer"; default: the scenario's
  std::optional<ScheduleKind> schedule;      ///< default: the scenario's
  std::optional<int> chunks;                 ///< dispatch chunks of the overlap schedule
  std::optional<double> overlap_slowdown;    ///< default: ComputeModel::overlap_slowdown()
  /// Extra fixed cost of every exchange before its bytes move, us, on top of the exchange kernel's
  /// own latency terms (comm/exchange_cost.hpp), which already make chunking cost latency. 0 by default.
  double exchange_overhead_us = 0;
  /// EP exchange kernel; default: deepep-ll for decode, deepep-normal for prefill and training.
  std::optional<ExchangeKernelKind> exchange_kernel;
  /// Kernel parameters (e.g. from calibration.json); default: default_kernel_params(kernel).
  std::optional<ExchangeKernelParams> kernel_params;
  /// Per-token routing sample per MoE layer (0 tokens: no de-duplication).
  RoutingSampling routing;
  std::vector<int> trace_gpus = {0, 1};      ///< GPUs whose streams are kept for the trace
  /// Training with pp = 1 and 3 or more micro-batches: simulate 1 and 2 micro-batches and extend
  /// exactly to all of them (every micro-batch but the last takes the same time: see simulate()), so
  /// time and memory do not grow with their number. false: build every micro-batch (tests compare both).
  bool repeat_micro_batches = true;
};

/// Most tasks one simulation builds (~512 B each while simulated: ~4 GiB at the cap); above it
/// simulate() refuses with the estimate (docs/limits.md).
inline constexpr std::int64_t kMaxSimTasks = 1ll << 23;

/// One layer, at the critical GPU (the one whose compute stream finishes last), summed over
/// micro-batches. Times in us.
struct LayerBreakdown {
  int layer = 0;
  int stage = 0;
  bool moe = false;
  double compute_us = 0;        ///< compute ops of the layer (wall time, slowdown included)
  double dispatch_us = 0;       ///< dispatch exchanges: start to arrival at this GPU
  double combine_us = 0;
  double other_comm_us = 0;     ///< TP / expert-TP all-reduces
  double exposed_comm_us = 0;   ///< communication of the layer while the compute stream is idle
  double bubble_us = 0;         ///< the stage's pipeline bubble / layers of the stage
  double backward_compute_us = 0;  ///< training: the backward part of compute_us
  double grad_reduce_us = 0;       ///< training: the layer's gradient reductions at this GPU
  double grad_reduce_exposed_us = 0;  ///< training: ... after this GPU's last backward op
};

/// One GPU over the iteration.
struct GpuSummary {
  int gpu = 0;
  double compute_busy_us = 0;
  double compute_idle_us = 0;   ///< iteration - compute_busy
  double expert_compute_us = 0; ///< routed-expert GEMMs only
  double comm_busy_us = 0;      ///< communication stream busy
  double dispatch_received_bytes = 0;
  double combine_received_bytes = 0;
  double routed_tokens = 0;     ///< token-expert pairs computed, summed over layers and micro-batches
};

/// One op of the critical path.
struct CriticalOp {
  OpKind op = OpKind::fixed;
  int layer = -1;
  int micro_batch = 0;
  int chunk = 0;
  int gpu = -1;  ///< compute ops: the GPU; communication: -1 (all participants)
  double start_us = 0;
  double end_us = 0;
};

/// One trace slice (a stream interval of a traced GPU).
struct TraceSlice {
  int gpu = 0;
  bool comm = false;
  OpKind op = OpKind::fixed;
  int layer = -1;
  int micro_batch = 0;
  int chunk = 0;
  Time start;
  Time end;
};

/// One iteration at the critical GPU (the one whose streams finish last), summed over layers and
/// micro-batches, us. Compute columns are wall time on the compute stream (overlap slowdown included).
struct StepBreakdown {
  double attention_us = 0;       ///< attention blocks (MLA / GQA, with their projections)
  double moe_gemm_us = 0;        ///< routed-expert grouped GEMMs
  double other_compute_us = 0;   ///< gate, shared experts, dense FFNs
  double dispatch_us = 0;        ///< dispatch exchanges (start to arrival at this GPU)
  double combine_us = 0;
  double other_comm_us = 0;      ///< TP all-reduces, pipeline sends
  double exposed_comm_us = 0;    ///< communication while the compute stream is idle
  double overheads_us = 0;       ///< LM head, sampling, MTP draft, per-step overhead
};

/// The result of one simulated iteration.
struct SimulationResult {
  std::string scenario_file;
  PhaseKind phase = PhaseKind::prefill;
  ScheduleKind schedule = ScheduleKind::overlap;
  std::string network;
  std::string exchange_kernel;        ///< the EP exchange kernel the exchanges were costed with
  std::string replica_choice = "rule";  ///< how an expert's tokens split over its replicas (rule, lp)
  ParallelConfig parallel;
  int micro_batches = 1;
  int chunks = 1;
  double overlap_slowdown = 1;
  Time iteration;                     ///< makespan of the iteration
  double tokens_per_iteration = 0;    ///< all replicas (prefill: prompt tokens; decode: new tokens)
  double throughput_tokens_per_s = 0;
  double throughput_tokens_per_s_per_gpu = 0;
  /// Per node of the topology (GPUs used / their hosts): prefill input tokens/s per node, decode
  /// output tokens/s per node, the units deployments publish.
  double throughput_tokens_per_s_per_node = 0;
  int nodes = 0;                      ///< hosts of the GPUs used
  double tokens_per_step = 1;         ///< decode: tokens one sequence gains per step (MTP: 1 + sum a^i)
  StepBreakdown step;
  /// Where compute times come from: "kernel tables <folder>" or "roofline".
  std::string compute_source;
  /// Look-ups outside the measured kernel tables (one line per table, once per run).
  std::vector<std::string> notices;
  std::string latency_name;           ///< "ttft" (prefill), "tpot" (decode), "step" (training)
  double latency_ms = 0;
  double pipeline_bubble_fraction = 0;  ///< (p - 1) / (m + p - 1)
  int critical_gpu = 0;
  std::vector<LayerBreakdown> layers;
  std::vector<GpuSummary> gpus;
  int busiest_gpu = 0;                ///< most compute-busy GPU
  int busiest_link = -1;              ///< -1: no byte crossed a link
  std::string busiest_link_name;
  double busiest_link_bytes = 0;
  double busiest_link_utilization = 0;  ///< bytes / (bandwidth x iteration)
  std::vector<double> link_bytes;     ///< bytes per topology link (index = link id) over the iteration
  std::vector<CriticalOp> critical_path;
  std::vector<TraceSlice> trace;
  std::uint64_t events = 0;           ///< simulator events executed
  int tasks = 0;
  /// Micro-batches built and simulated when fewer than micro_batches (repeat_micro_batches); 0 = all.
  int micro_batches_simulated = 0;
  // Training only (0 otherwise), at the critical GPU (the one that finishes last):
  double forward_compute_us = 0;      ///< forward compute-stream time
  double backward_compute_us = 0;     ///< backward compute-stream time
  double grad_reduce_us = 0;          ///< gradient reductions (all-reduce / reduce-scatter)
  double grad_reduce_exposed_us = 0;  ///< ... after the GPU's last backward op (delays the optimizer)
  double optimizer_us = 0;            ///< optimizer step
  double param_gather_us = 0;         ///< reduce_scatter: all-gathers of the updated parameters
  /// Model FLOPs of the iteration: 3 x forward FLOPs (forward + backward = 2 x forward) of every
  /// token: per layer 2 x (active FFN and gate parameters) + attention_prefill FLOPs per token.
  double model_flops = 0;
  /// Model FLOPs utilization: model_flops / (iteration x GPUs x dense peak of the scenario's precision).
  double mfu = 0;
};

/// Simulate one iteration. Throws InputError for a scenario the simulator does not model (named
/// field), or one whose task graph would pass kMaxSimTasks (naming /phase/micro_batches and the
/// estimate), std::invalid_argument from the models.
/// Training with pp = 1: micro-batches run one after another (each waits for the previous one on every
/// GPU), so every one but the last takes the same time T_micro and the step is
/// K x T_micro + final = T(1) + (K - 1) x (T(2) - T(1)), exactly, where T(m) is the step of m
/// micro-batches; every additive figure (busy times, bytes, per-layer sums) extends the same way.
/// With options.repeat_micro_batches and K >= 3 only 1 and 2 micro-batches are simulated; the trace
/// and the critical path then show the first micro-batch and the last one (moved to its place).
SimulationResult simulate(const ScenarioInputs& inputs, const SimulateOptions& options = {});

/// Stream-level metrics of an executed graph (used by simulate and by tests of the executor):
/// per GPU busy time and exposed communication = communication intervals not covered by compute.
struct StreamMetrics {
  Time compute_busy;
  Time comm_busy;
  Time exposed_comm;
};
StreamMetrics stream_metrics(const StreamExecutor& executor, int gpu);

}  // namespace epsim
