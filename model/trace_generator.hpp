#pragma once
// Seeded synthetic traces that reproduce given per-expert loads under DeepSeek's group-limited routing.
//
// Sampling model, per token: experts are split into n_group equal contiguous groups (expert e in
// group e / (E / n_group)); the token picks topk_group distinct groups, one after another, each with
// probability proportional to the group's weight (the sum of its experts' weights) among the groups
// not yet picked; then top_k distinct experts from the picked groups, one after another, each with
// probability proportional to its weight among the experts not yet picked. Experts whose target is 0
// have weight 0 and are never picked (unless a token runs out of positive-weight experts in its
// groups, when the rest are picked uniformly). Without group limits (n_group = 1) this is plain
// weighted sampling of top_k experts without replacement.
//
// Load matching: weights start at the target loads and are corrected multiplicatively,
// w_e <- w_e x (target_e / count_e)^0.7, where count_e are the counts of the trace sampled with the
// current weights and the SAME random numbers (common random numbers), until every expert whose
// target is >= min_target_count pairs is within `tolerance` (relative) of its target, or
// max_iterations is reached. The reported max relative error is what the final trace achieved.
// Targets above one pick per token (count_e > tokens) are infeasible and are capped at the token count.
//
// Determinism: std::mt19937_64 seeded per layer with splitmix64(seed ^ layer x golden ratio);
// uniform doubles are (x >> 11) x 2^-53 from the raw 64-bit output, so a seed gives the same trace
// on every platform and standard library. Layers are independent (no inter-layer correlation).
// Token i originates on EP rank i / tokens_per_gpu in every layer.
#include <cstdint>
#include <functional>
#include <vector>

#include "model/expert_loads.hpp"
#include "model/moe_model.hpp"
#include "model/trace.hpp"

namespace epsim {

struct TraceGeneratorOptions {
  int ep = 0;                  ///< EP ranks originating tokens
  int tokens_per_gpu = 0;      ///< tokens each rank originates per MoE layer
  std::uint64_t seed = 1;
  double tolerance = 0.01;     ///< relative error allowed for experts with target >= min_target_count (finite, >= 0)
  double min_target_count = 100;  ///< finite, >= 0
  int max_iterations = 60;     ///< 1 to kMaxTraceIterations
  int threads = 0;             ///< layers generated in parallel; 0 = hardware threads; output does not depend on it
  /// Called after each layer with (layers done, layers in all), from the generating threads one at a
  /// time (calls are serialized); empty: none. For progress on long runs.
  std::function<void(int, int)> on_layer_done;
};

/// Most weight corrections per layer: each samples the whole layer again; the fit converges in ~10-60
/// (docs/placement.md), 1000 bounds a layer's time at ~1000 x tokens x top_k samples.
inline constexpr int kMaxTraceIterations = 1000;

/// What a trace will take, known before it is sampled.
struct TraceSize {
  int layers = 0;                     ///< MoE layers with a non-zero load row
  std::int64_t tokens_per_layer = 0;  ///< ep x tokens_per_gpu
  std::int64_t ids = 0;               ///< layers x tokens x (top_k + 1): expert ids and source ranks
  std::uint64_t memory_bytes = 0;     ///< peak of generate + write: ids x 4 B + the JSON text
  std::uint64_t text_bytes = 0;       ///< the JSON text, at most (digits + comma per id)
  std::uint64_t parsed_bytes = 0;     ///< the document a reader of the file builds (common/json_budget.hpp)
};

/// Size of the trace generate_trace would make. Throws InputError (naming the estimate, the limit
/// and docs/limits.md) when ids pass limits::kMaxTraceIds, tokens per layer pass 2^31 - 1, or the file
/// could not be read back (parsed_bytes > limits::kMaxJsonParsedBytes); UsageError-free: options are
/// checked by check_trace_options.
TraceSize check_trace_size(const ExpertLoads& loads, const MoeModel& model, const TraceGeneratorOptions& options);

/// Throws InputError when an option is outside its range (ep, tokens_per_gpu >= 1; tolerance and
/// min_target_count finite >= 0; max_iterations 1..kMaxTraceIterations; threads >= 0).
void check_trace_options(const TraceGeneratorOptions& options);

/// How well one layer's trace matches its target loads.
struct LayerFit {
  int layer = 0;
  int iterations = 0;
  double max_rel_error = 0;  ///< over experts with target >= min_target_count
  double l1_rel_error = 0;   ///< sum |count - target| / sum target
};

/// Sample one layer: target[e] = token-expert pairs wanted for expert e (rescaled so that the total
/// is tokens x top_k). Throws InputError when num_experts % n_group != 0 or the groups cannot supply
/// top_k experts.
TraceLayer generate_trace_layer(const std::vector<double>& target, const MoeModel& model, int layer,
                                const TraceGeneratorOptions& options, LayerFit* fit = nullptr);

/// Every MoE layer of the model with a non-zero load row. Loads must match the model; options and
/// size are checked first (check_trace_options, check_trace_size).
Trace generate_trace(const ExpertLoads& loads, const MoeModel& model, const TraceGeneratorOptions& options,
                     std::vector<LayerFit>* fits = nullptr);

/// The uniform double in [0, 1) derived from one raw 64-bit output (53 random bits).
inline double uniform_from_bits(std::uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

}  // namespace epsim
