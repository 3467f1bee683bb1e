#pragma once
// Per-token routing traces, schema "epsim.trace/1" (docs/formats.md), and per-source-rank expert
// loads {"per_source_count": [layer][source_rank][expert]}.
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "model/expert_loads.hpp"
#include "model/moe_model.hpp"

namespace epsim {

inline constexpr const char* kTraceSchema = "epsim.trace/1";

/// The tokens of one MoE layer. Token i originates on EP rank source[i] and is routed to the top_k
/// distinct experts experts[i*top_k .. i*top_k+top_k-1]. Tokens are in the same order in every
/// layer of a trace (token i of layer l is token i of layer l+1), which inter-layer affinity uses.
struct TraceLayer {
  int layer = 0;  ///< model layer index
  std::vector<int> source;
  std::vector<int> experts;

  int num_tokens() const { return static_cast<int>(source.size()); }
  std::span<const int> token_experts(int token, int top_k) const {
    return std::span<const int>(experts).subspan(static_cast<std::size_t>(token) * static_cast<std::size_t>(top_k),
                                                 static_cast<std::size_t>(top_k));
  }
};

struct Trace {
  std::string file;  ///< where it came from (for messages); empty for generated traces
  int num_experts = 0;
  int top_k = 0;
  int num_ranks = 0;  ///< EP ranks the sources refer to
  std::vector<TraceLayer> layers;  ///< ascending, distinct layer indices

  /// The layer with this model index, or nullptr.
  const TraceLayer* find_layer(int layer) const;
};

/// Parse a trace. Throws InputError naming the file and JSON pointer for: wrong schema, non-positive
/// num_experts/top_k/num_ranks, top_k > num_experts, a source rank outside [0, num_ranks), an expert
/// outside [0, num_experts), the same expert twice in one token, experts.size() != top_k x
/// source.size(), and layer indices that are negative, repeated or not ascending. With `model`, the
/// header (num_experts, top_k, num_ranks) is checked against the model and `ep` first, so a trace of
/// another model is named at /num_experts rather than at its first out-of-range expert id.
Trace trace_from_json(const Json& doc, const std::string& file, const MoeModel* model = nullptr, int ep = 0);
Trace load_trace(const std::filesystem::path& path, const MoeModel* model = nullptr, int ep = 0);
/// Compact form (one flat array per layer). Deterministic.
Json trace_to_json(const Trace& trace);
/// trace_to_json(trace).dump(), byte for byte, written straight from the vectors: no JSON document is
/// built, so writing a trace takes its text and nothing more (a document would take 16-32 B per id).
std::string trace_to_json_text(const Trace& trace);

/// Check a trace against a model (experts, top_k, layers are MoE layers) and an EP size (num_ranks).
/// Throws InputError naming the trace file.
void check_trace_matches(const Trace& trace, const MoeModel& model, int ep);

/// count[layer][source_rank][expert] = token-expert pairs that source rank sent to the expert.
struct PerSourceLoads {
  std::string source;
  std::vector<std::vector<std::vector<double>>> count;
  /// Sum over sources: the per-expert loads.
  ExpertLoads total() const;
};

/// Parse {"per_source_count": [layer][source_rank][expert]} (same checks as logical_count, plus equal
/// rank counts in every layer). Throws InputError naming file and pointer.
PerSourceLoads per_source_loads_from_json(const Json& doc, const std::string& file);

/// Sibling of load_expert_loads that accepts either SGLang's {"logical_count": ...} or
/// {"per_source_count": ...} (loads = sum over sources). Throws InputError when neither key is present.
ExpertLoads expert_loads_any_from_json(const Json& doc, const std::string& file);
ExpertLoads load_expert_loads_any(const std::filesystem::path& path);

/// Per-source loads of a trace (layers 0..num_layers-1; layers absent from the trace are zero).
PerSourceLoads trace_per_source_loads(const Trace& trace, int num_layers);
/// The per-source form as JSON {"per_source_count": ...}.
Json per_source_loads_to_json(const PerSourceLoads& loads);

}  // namespace epsim
