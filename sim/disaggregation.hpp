#pragma once
// Prefill-decode disaggregation as a pair of pools (docs/simulator.md "Disaggregated prefill and decode
// pools"): a prefill scenario with /disaggregation names the decode pool's scenario; both are simulated
// and paired into the units deployments publish: input tokens/s per prefill node, output tokens/s per
// decode node, and the balanced pair (prefill nodes per decode node, requests/s per node). The KV cache
// of each request moves from the prefill pool to the decode pool over the nodes' scale-out NICs.
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/simulate.hpp"

namespace epsim {

/// What the pairing needs from one simulated pool.
struct PoolFigures {
  double tokens_per_s_per_node = 0;  ///< prefill: input tokens/s per node; decode: output tokens/s per node
  int nodes = 0;                     ///< hosts of the pool's GPUs
  double latency_ms = 0;             ///< prefill: TTFT of one iteration; decode: TPOT
  /// Busiest host's scale-out NIC bandwidth busy with the pool's own (EP) traffic over the iteration, as
  /// a fraction: prefill the egress (the KV leaves), decode the ingress (the KV arrives). In [0, 1].
  double nic_ep_fraction = 0;
  double node_network_GBps = 0;      ///< scale-out NIC bandwidth of one node, per direction (> 0)
  double replica_network_GBps = 0;   ///< NIC bandwidth of the tp GPUs of one DP replica (> 0)
};

/// The pair, per node. Rates after the NIC check: when a pool's NICs would be busy more than the whole
/// iteration with its EP traffic plus the KV transfer (u_ep + u_kv > 1), the pool's rate is scaled by
/// 1 / (u_ep + u_kv) (both parts stretch with the iteration).
struct PoolPair {
  double input_tokens = 0;            ///< per request (the prefill scenario's sequence length)
  double output_tokens = 0;           ///< per request
  double kv_bytes_per_token = 0;      ///< all layers
  double kv_bytes_per_request = 0;    ///< input_tokens x kv_bytes_per_token
  /// One request's KV from its prefill replica to its decode replica: bytes / min(replica NIC bandwidths).
  double kv_transfer_ms = 0;
  double prefill_kv_nic_fraction = 0;  ///< u_kv of the prefill nodes' NIC egress at the simulated rate
  double decode_kv_nic_fraction = 0;   ///< u_kv of the decode nodes' NIC ingress at the simulated rate
  double prefill_rate_scale = 1;       ///< min(1, 1 / (u_ep + u_kv))
  double decode_rate_scale = 1;
  double prefill_input_tokens_per_s_per_node = 0;   ///< simulated x prefill_rate_scale
  double decode_output_tokens_per_s_per_node = 0;   ///< simulated x decode_rate_scale
  double prefill_requests_per_s_per_node = 0;       ///< prefill_input / input_tokens
  double decode_requests_per_s_per_node = 0;        ///< decode_output / output_tokens
  /// Prefill nodes per decode node that keep both pools busy: decode requests / prefill requests per node.
  double prefill_nodes_per_decode_node = 0;
  /// The balanced pair: requests/s per node of both pools = 1 / (1 / prefill_req + 1 / decode_req),
  /// and its input and output tokens/s per node.
  double requests_per_s_per_node = 0;
  double input_tokens_per_s_per_node = 0;
  double output_tokens_per_s_per_node = 0;
  double ttft_ms = 0;                 ///< prefill latency + kv_transfer_ms (no queueing)
  double tpot_ms = 0;                 ///< the decode pool's step / tokens per step
};

/// Pair two pools (equations above and in docs/simulator.md). input_tokens, output_tokens,
/// kv_bytes_per_token > 0; tokens_per_step >= 1 (the decode pool's MTP tokens per step). Throws
/// std::invalid_argument on values out of range (callers pass validated scenarios).
PoolPair pair_pools(const PoolFigures& prefill, const PoolFigures& decode, double input_tokens, double output_tokens,
                    double kv_bytes_per_token, double tokens_per_step);

/// The figures of one simulated pool from its inputs and result: NIC bandwidths from the topology (links
/// from a host's devices into the fabric), the busiest host's NIC busy fraction from the result's link
/// bytes. egress: true for the prefill pool (the KV leaves it), false for the decode pool.
PoolFigures pool_figures(const ScenarioInputs& inputs, const SimulationResult& result, bool egress);

/// Both pools and their pair.
struct DisaggregatedResult {
  SimulationResult prefill;
  SimulationResult decode;
  std::string decode_file;
  PoolPair pair;
  std::vector<std::string> notices;  ///< e.g. a decode context shorter than the prompt
};

/// Simulate the prefill pool `prefill` (whose scenario has /disaggregation) with `options`, load and
/// simulate its decode pool (default options, no trace), and pair them. Throws InputError naming the
/// prefill scenario's /disaggregation/decode_scenario when the decode scenario is not phase decode or
/// describes another model, and whatever loading and simulating either pool throws.
DisaggregatedResult simulate_disaggregated(const ScenarioInputs& prefill, const SimulateOptions& options);

}  // namespace epsim
