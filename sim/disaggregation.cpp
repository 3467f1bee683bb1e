#include "sim/disaggregation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/workload/workload.hpp"

namespace epsim {

namespace {

// Scale-out link: a network link (InfiniBand / Ethernet) between a host's device and a fabric device.
bool leaves_host(const Topology& t, const Link& l) {
  return is_network_link(l.kind) && t.device(l.src).host >= 0 && t.device(l.dst).host < 0;
}
bool enters_host(const Topology& t, const Link& l) {
  return is_network_link(l.kind) && t.device(l.src).host < 0 && t.device(l.dst).host >= 0;
}

}  // namespace

PoolPair pair_pools(const PoolFigures& p, const PoolFigures& d, double input_tokens, double output_tokens,
                    double kv_bytes_per_token, double tokens_per_step) {
  if (!(input_tokens > 0) || !(output_tokens > 0) || !(kv_bytes_per_token > 0) || !(tokens_per_step >= 1))
    throw std::invalid_argument("pair_pools: input and output tokens, KV bytes per token > 0, tokens per step >= 1");
  for (const PoolFigures* f : {&p, &d})
    if (!(f->tokens_per_s_per_node > 0) || !(f->node_network_GBps > 0) || !(f->replica_network_GBps > 0) ||
        !(f->nic_ep_fraction >= 0))
      throw std::invalid_argument("pair_pools: a pool with tokens/s, NIC bandwidths > 0 and a NIC fraction >= 0");
  PoolPair r;
  r.input_tokens = input_tokens;
  r.output_tokens = output_tokens;
  r.kv_bytes_per_token = kv_bytes_per_token;
  r.kv_bytes_per_request = input_tokens * kv_bytes_per_token;
  r.kv_transfer_ms = r.kv_bytes_per_request / (std::min(p.replica_network_GBps, d.replica_network_GBps) * 1e9) * 1e3;
  // NIC time the KV takes at the simulated rates: prefill egress = input tokens/s x bytes per token;
  // decode ingress = requests/s (output tokens/s / output tokens) x bytes per request.
  r.prefill_kv_nic_fraction = p.tokens_per_s_per_node * kv_bytes_per_token / (p.node_network_GBps * 1e9);
  r.decode_kv_nic_fraction =
      d.tokens_per_s_per_node / output_tokens * r.kv_bytes_per_request / (d.node_network_GBps * 1e9);
  r.prefill_rate_scale = std::min(1.0, 1.0 / (p.nic_ep_fraction + r.prefill_kv_nic_fraction));
  r.decode_rate_scale = std::min(1.0, 1.0 / (d.nic_ep_fraction + r.decode_kv_nic_fraction));
  r.prefill_input_tokens_per_s_per_node = p.tokens_per_s_per_node * r.prefill_rate_scale;
  r.decode_output_tokens_per_s_per_node = d.tokens_per_s_per_node * r.decode_rate_scale;
  r.prefill_requests_per_s_per_node = r.prefill_input_tokens_per_s_per_node / input_tokens;
  r.decode_requests_per_s_per_node = r.decode_output_tokens_per_s_per_node / output_tokens;
  r.prefill_nodes_per_decode_node = r.decode_requests_per_s_per_node / r.prefill_requests_per_s_per_node;
  r.requests_per_s_per_node = 1.0 / (1.0 / r.prefill_requests_per_s_per_node + 1.0 / r.decode_requests_per_s_per_node);
  r.input_tokens_per_s_per_node = r.requests_per_s_per_node * input_tokens;
  r.output_tokens_per_s_per_node = r.requests_per_s_per_node * output_tokens;
  r.ttft_ms = p.latency_ms / r.prefill_rate_scale + r.kv_transfer_ms;
  r.tpot_ms = d.latency_ms / r.decode_rate_scale / tokens_per_step;
  return r;
}

PoolFigures pool_figures(const ScenarioInputs& in, const SimulationResult& r, bool egress) {
  const Topology& t = *in.topology;
  const ParallelConfig& par = in.scenario.parallel;
  PoolFigures f;
  f.tokens_per_s_per_node = r.throughput_tokens_per_s_per_node;
  f.nodes = r.nodes;
  f.latency_ms = r.latency_ms;
  // Per host: NIC bandwidth and the pool's bytes on it, in the direction the KV uses.
  std::vector<double> bw(static_cast<std::size_t>(t.num_hosts()), 0.0), bytes(bw.size(), 0.0);
  for (int li = 0; li < t.num_links(); ++li) {
    const Link& l = t.link(li);
    if (!(egress ? leaves_host(t, l) : enters_host(t, l))) continue;
    const auto h = static_cast<std::size_t>(t.device(egress ? l.src : l.dst).host);
    bw[h] += l.bandwidth_GBps;
    if (static_cast<std::size_t>(li) < r.link_bytes.size()) bytes[h] += r.link_bytes[static_cast<std::size_t>(li)];
  }
  // GPUs used per host; NIC bandwidth per GPU = the host's / its GPUs (the KV of one replica leaves
  // through its tp GPUs' share).
  std::vector<int> gpus_on(bw.size(), 0);
  for (int g = 0; g < t.num_gpus(); ++g) ++gpus_on[static_cast<std::size_t>(t.gpu_host(g))];
  const std::size_t h0 = static_cast<std::size_t>(t.gpu_host(0));
  f.node_network_GBps = bw[h0];
  f.replica_network_GBps = gpus_on[h0] > 0 ? bw[h0] / gpus_on[h0] * par.tp : 0;
  const double T_s = r.iteration.to_seconds();
  for (int g = 0; g < par.gpus(); ++g) {
    const auto h = static_cast<std::size_t>(t.gpu_host(g));
    if (bw[h] > 0 && T_s > 0) f.nic_ep_fraction = std::max(f.nic_ep_fraction, bytes[h] / (bw[h] * 1e9 * T_s));
  }
  if (!(f.node_network_GBps > 0))
    throw InputError(in.scenario.file, "/topology",
                     "a topology whose nodes have scale-out NICs (InfiniBand or Ethernet links into a fabric): the "
                     "KV cache of a disaggregated pair moves between nodes");
  return f;
}

DisaggregatedResult simulate_disaggregated(const ScenarioInputs& prefill, const SimulateOptions& options) {
  const Scenario& ps = prefill.scenario;
  if (!ps.disaggregation) throw std::invalid_argument("simulate_disaggregated: a scenario with /disaggregation");
  const DisaggregationConfig& dc = *ps.disaggregation;
  DisaggregatedResult out;
  out.decode_file = dc.decode_scenario.string();
  const Scenario ds = load_scenario(dc.decode_scenario);
  const char* field = "/disaggregation/decode_scenario";
  if (ds.phase.kind != PhaseKind::decode)
    throw InputError(ps.file, field, fmt::format("a scenario with phase decode ({} has phase {})", out.decode_file,
                                                 to_string(ds.phase.kind)));
  const ScenarioInputs decode = prepare_scenario(ds);
  const MoeModel &a = prefill.model, &b = decode.model;
  if (a.num_layers != b.num_layers || a.hidden_size != b.hidden_size || a.num_experts != b.num_experts ||
      a.top_k != b.top_k || a.kv_lora_rank != b.kv_lora_rank || a.qk_rope_head_dim != b.qk_rope_head_dim ||
      a.num_kv_heads != b.num_kv_heads || a.head_dim != b.head_dim)
    throw InputError(ps.file, field,
                     fmt::format("a decode pool serving the same model as the prefill pool ({}: {} layers, hidden {}, "
                                 "{} experts; {}: {} layers, hidden {}, {} experts)",
                                 ps.model.string(), a.num_layers, a.hidden_size, a.num_experts, ds.model.string(),
                                 b.num_layers, b.hidden_size, b.num_experts));
  out.prefill = simulate(prefill, options);
  SimulateOptions dopt;
  dopt.trace_gpus.clear();
  out.decode = simulate(decode, dopt);
  const double kv_per_token = kv_cache_bytes_per_token(a, dc.kv_bytes_per_element) * a.num_layers;
  out.pair = pair_pools(pool_figures(prefill, out.prefill, true), pool_figures(decode, out.decode, false),
                        ps.phase.sequence_length, dc.output_tokens, kv_per_token, out.decode.tokens_per_step);
  if (ds.phase.context_length < ps.phase.sequence_length)
    out.notices.push_back(fmt::format("the decode pool's context_length ({:g}) is shorter than a request's input "
                                      "({:g} tokens): its KV caches hold less than one prompt",
                                      ds.phase.context_length, ps.phase.sequence_length));
  return out;
}

}  // namespace epsim
