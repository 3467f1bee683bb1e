#pragma once
// Inter-layer expert affinity from a trace whose tokens keep their order across layers.
//
// Counts: for consecutive trace layers (l, l') and every token i, each pair (e in experts_l(i),
// e' in experts_l'(i)) counts one shared token: shared[e][e'].
//
// Plan metric and what it saves. Under the standard DP-attention execution (combine returns every
// token to its source rank, attention runs there, the next dispatch starts from the source), placing
// e and e' together saves NOTHING: both all-to-alls run between the source and the expert GPUs.
// Savings exist only under an expert-to-expert hand-off execution (the token's next-layer input is
// rebuilt where its layer-l experts ran, e.g. attention state available there, as in affinity-based
// MoE inference schemes), where the layer-l' dispatch starts from the GPUs (nodes) that computed
// the token at layer l. In that model, for token i with layer-l serving GPUs D and layer-l' serving
// GPUs D' (replica rule of trace_traffic.hpp):
//   gpu copies saved   = |D ∩ D'|                 (a GPU already holding the token needs no copy)
//   node copies saved  = |hosts(D) ∩ hosts(D')|   (with node forwarding: no cross-node copy into a
//                                                   node that already holds the token)
// relative to sending every layer-l' copy over the network. Bytes saved = copies x bytes_per_token.
#include <functional>
#include <vector>

#include "common/json_input.hpp"
#include "model/layer_placement.hpp"
#include "model/trace.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Shared tokens between the experts of two consecutive trace layers.
struct LayerPairAffinity {
  int layer_from = 0, layer_to = 0;
  int num_experts = 0;
  std::vector<double> shared;  ///< shared[e * E + e2]
  double at(int e, int e2) const { return shared[static_cast<std::size_t>(e) * num_experts + e2]; }
};

/// One entry per consecutive pair of trace layers (both must have the same token count and sources;
/// throws InputError naming the trace otherwise).
std::vector<LayerPairAffinity> inter_layer_affinity(const Trace& trace);

struct AffinityReport {
  int layer_pairs = 0;
  double token_expert_pairs = 0;  ///< sum over tokens and layer pairs of top_k^2
  double same_gpu_pairs = 0;      ///< (e, e') pairs whose serving GPUs coincide
  double same_node_pairs = 0;
  double gpu_copies_saved = 0;    ///< sum over tokens of |D ∩ D'|
  double node_copies_saved = 0;   ///< sum over tokens of |hosts(D) ∩ hosts(D')|
  double bytes_saved_gpu = 0;     ///< gpu_copies_saved x bytes_per_token
  double bytes_saved_cross_node = 0;  ///< node_copies_saved x bytes_per_token
};

/// Affinity metric of a plan: placement_of(layer) returns the layer's placement (nullptr = skip the
/// pair). Topology: for hosts of EP ranks.
AffinityReport plan_affinity(const Trace& trace, const std::function<const LayerPlacement*(int)>& placement_of,
                             const Topology& topology, double bytes_per_token);
Json affinity_report_json(const AffinityReport& r);

}  // namespace epsim
