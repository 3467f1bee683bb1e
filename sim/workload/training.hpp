#pragma once
// Training pieces of the workload (docs/simulator.md, "Training"): the order of forward and backward
// slots of a pipeline stage (GPipe, 1F1B), the data-parallel gradient reductions of every layer on
// the real topology, and the optimizer step.
#include <vector>

#include "comm/collectives.hpp"
#include "sim/network/network_model.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/engine/time.hpp"

namespace epsim {

/// One slot of a stage's pipeline order: the forward or the backward of one micro-batch.
struct PipelineSlot {
  int micro_batch = 0;
  bool backward = false;
  bool operator==(const PipelineSlot&) const = default;
};

/// Issue order of the forward and backward slots of `stage` (0..pp-1) for m micro-batches.
/// GPipe: F0 .. F(m-1), B0 .. B(m-1). 1F1B (PipeDream-Flush, Narayanan et al. 2021): w = min(pp - 1 -
/// stage, m) warm-up forwards, then F(w+i), B(i) alternating, then the remaining backwards. Both have
/// the bubble (pp - 1) / (m + pp - 1) of the iteration when forward and backward slots are uniform;
/// 1F1B keeps at most pp - stage micro-batches' activations alive instead of m.
/// Throws std::invalid_argument when pp < 1, m < 1 or stage outside [0, pp).
std::vector<PipelineSlot> pipeline_order(PipelineSchedule schedule, int pp, int stage, int micro_batches);

/// One gradient reduction of one layer: a collective over `gpus` (global ranks).
struct GradReduction {
  std::vector<int> gpus;
  Time time;          ///< CollectiveModel cost of the reduction
  Time gather_time;   ///< reduce_scatter: the all-gather of the updated parameters (0 otherwise)
  bool expert = false;///< expert replicas (else dense parameters over the DP group)
  double bytes = 0;        ///< gradient bytes reduced (S)
  int reduce_phases = 1;   ///< 1: reduce-scatter, 2: all-reduce (for reduction_traffic)
};

/// The link traffic of a bandwidth-optimal hierarchical reduction of `bytes` (S) over `gpus`, as one
/// exchange's transfers. Per phase (reduce-scatter, or all-gather; an all-reduce is 2 phases): inside
/// each host of g members, every member sends S / g to each other member ((g - 1) / g x S out per
/// GPU, NVLink); across the N hosts, every member sends (N - 1) / N x S / g to its peer on the next
/// host (same local index, modulo that host's member count: the rail ring of NCCL's tree / PAT and
/// hierarchical algorithms). Transfers with equal ends are merged. Empty for one GPU. Throws
/// std::invalid_argument on a GPU rank out of range, bytes < 0 or phases < 1.
std::vector<Transfer> reduction_traffic(const Topology& topology, const std::vector<int>& gpus, double bytes,
                                        int phases);

/// The gradient reductions of one layer (in `stage`): for each tp rank j, the dense parameters of the
/// layer (layer_dense_params x 2 bytes, BF16 gradients) over the dp GPUs of the stage with tp rank j,
/// all-reduce or reduce-scatter (+ all-gather after the step) per training.grad_reduce; when the
/// stage has edp > 1 EP groups, for each EP rank r the gradients of its expert slots (slots x
/// expert_weight_elements x 2 bytes) over the edp GPUs with EP rank r (the same kind); and for every
/// expert with replicas on several EP ranks (redundant slots), in every EP group, an all-reduce of
/// its gradients (expert_weight_elements / expert_tp x 2 bytes) among them. Groups of one GPU are
/// omitted.
/// Throws std::invalid_argument from the collective model.
std::vector<GradReduction> layer_grad_reductions(const ScenarioInputs& in, const CollectiveModel& collectives, int layer,
                                                 int stage);

/// Bytes the optimizer step of stage GPU i (0..dp x tp - 1) moves: kOptimizerStepBytesPerParam x (the
/// stage's dense parameters / tp, / dp with reduce_scatter, + the parameters of the GPU's expert
/// slots, / edp with reduce_scatter).
double optimizer_step_bytes(const ScenarioInputs& in, int stage, int stage_gpu);

}  // namespace epsim
