#pragma once
// Trace-driven evaluation of one layer's placement: every token of the trace is sent to the GPUs of
// the replicas its experts are served by, with per-GPU or node-forwarding delivery (dispatch only).
//
// Replica rule (deterministic): token i from EP rank s is served for expert e by
//   1. the replica on s itself, if s holds one;
//   2. else a replica on s's node (host): the node's replicas of e in ascending rank order, the
//      (i mod count)-th;
//   3. else the replicas of e in ascending rank order, the (i mod replicas)-th (round-robin by token
//      index, which splits a hot expert's remote tokens evenly over its replicas).
// Delivery (comm/node_forwarding.hpp): per_gpu sends one copy per destination GPU (experts of a
// token that share a GPU cost one copy; the source GPU itself costs nothing); node_forwarding sends
// one copy per destination node over the rail to the source's rail peer there, which forwards it over
// NVLink. The result equals summing add_token_link_bytes over the tokens; it is computed by counting
// copies per (GPU, GPU) pair first and expanding each pair's route once.
#include <vector>

#include "common/json_input.hpp"
#include "model/layer_placement.hpp"
#include "model/trace.hpp"
#include "comm/link_load.hpp"
#include "comm/node_forwarding.hpp"
#include "topology/routing.hpp"

namespace epsim {

struct TraceTraffic {
  std::vector<double> link_bytes;  ///< per topology link
  std::vector<double> gpu_tokens;  ///< token-expert pairs computed per EP rank
  double cross_node_bytes = 0;     ///< bytes on links that leave a host
  double intra_node_bytes = 0;     ///< bytes on links with both ends in one host (NVLink, PCIe)
  int busiest_link = -1;
  double busiest_link_bytes = 0;
  double bottleneck_s = 0;  ///< max over links of bytes / bandwidth
  double latency_s = 0;     ///< slowest first leg that carries bytes + slowest forwarding (NVLink) leg, if any
  /// nodes_histogram[n] = tokens whose serving GPUs lie on n distinct nodes (hosts), n = 1..top_k.
  std::vector<double> nodes_histogram;
  double time_s() const { return bottleneck_s + latency_s; }
};

/// The replica (EP rank) serving `expert` for token `token` from `source` under the rule above.
/// expert_gpus: ranks holding the expert, ascending. Throws std::invalid_argument when empty.
int serving_rank(const std::vector<int>& expert_gpus, int source, int token, const Topology& topology);

/// Evaluate one layer. placement.num_gpus = EP ranks = GPU ranks 0..ep-1 of the routes' topology;
/// every source rank of the layer must be < ep. Throws InputError on a mismatch.
TraceTraffic trace_layer_traffic(const RouteTable& routes, const LayerPlacement& placement, const TraceLayer& layer,
                                 int top_k, int num_experts, double bytes_per_token, TokenDelivery delivery);

/// One trace layer reduced to what the exchange closed form takes (comm/link_load.hpp), each token
/// served by serving_rank: the selections each EP rank computes and the de-duplication of the
/// tokens' copies. gpu_factor = sum over tokens of distinct serving GPUs / selections; node_factor =
/// distinct serving hosts (the token's own host counted like any other) / selections.
struct TraceRouting {
  std::vector<double> gpu_selections;  ///< per EP rank (size placement.num_gpus)
  ExchangeRouting routing;             ///< experts = num_experts
  int tokens = 0;
};

/// Throws InputError as trace_layer_traffic on a source rank >= EP or an expert without a replica.
TraceRouting trace_layer_routing(const Topology& topology, const LayerPlacement& placement, const TraceLayer& layer,
                                 int top_k, int num_experts);

/// Totals over layers (plan --trace).
struct TraceEvaluation {
  std::string delivery;  ///< "per-gpu" or "node-forwarding"
  int layers = 0;
  double tokens = 0;                 ///< tokens over all evaluated layers
  double cross_node_bytes = 0;       ///< sum over layers
  double intra_node_bytes = 0;
  double sum_bottleneck_s = 0;       ///< sum over layers of the busiest link's time
  double sum_dispatch_s = 0;         ///< sum over layers of bottleneck + latency
  double max_gpu_tokens = 0;         ///< over layers and ranks
  int worst_layer = -1;              ///< slowest dispatch
  double worst_time_s = 0;
  std::string worst_link;            ///< its busiest link
  std::vector<double> nodes_histogram;  ///< summed over layers (TraceTraffic::nodes_histogram)
  int max_nodes_limit = 0;           ///< --max-nodes-per-token M shown with the histogram; 0 = none
};

void accumulate(TraceEvaluation& total, const TraceTraffic& layer, int layer_index, const Topology& topology);
/// {"delivery", "layers", "tokens", "cross_node_bytes", "intra_node_bytes", "sum_bottleneck_us",
///  "sum_dispatch_us", "max_gpu_tokens", "worst_layer", "worst_layer_link", "nodes_per_token":
///  {"mean", "max", "histogram" (index = nodes), "limit", "tokens_over_limit", "excess"}}
Json trace_evaluation_json(const TraceEvaluation& e);

TokenDelivery parse_delivery(const std::string& name);  ///< per-gpu | node-forwarding (UsageError otherwise)

}  // namespace epsim
