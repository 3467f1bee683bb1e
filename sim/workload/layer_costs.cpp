// layer_costs(): durations of one layer's ops for one micro-batch (docs/simulator.md, "Workload
// per layer and micro-batch"; the training gradient reductions: docs/simulator.md "Training").
#include <algorithm>
#include <numeric>

#include "comm/token_router.hpp"
#include "placement/plan.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/workload/training.hpp"
#include "sim/workload/workload.hpp"

namespace epsim {

namespace {

Time us(double v) { return Time::from_ps_ceil(v * 1e6); }

// Kernels of an attention block: QKV projection, attention core, output projection, norm (an
// assumption; each pays the compute model's launch overhead).
constexpr int kAttentionKernels = 4;

std::vector<int> iota_gpus(int base, int n) {
  std::vector<int> g(static_cast<std::size_t>(n));
  std::iota(g.begin(), g.end(), base);
  return g;
}

}  // namespace

std::vector<LayerCosts> layer_costs(const ScenarioInputs& in, const CollectiveModel& coll, int chunks,
                                    const RoutingSampling& sampling) {
  const Scenario& s = in.scenario;
  const ParallelConfig& p = s.parallel;
  const MoeModel& m = in.model;
  const ComputeModel& cm = in.compute;
  const double T = s.phase.tokens_per_micro_batch();  // tokens of one replica in one micro-batch
  const double wb = bytes_per_element(s.precision);

  // Attention of one micro-batch on one GPU (TP-sharded: FLOPs and bytes / tp), BF16 core.
  OpCost attn;
  if (s.phase.kind == PhaseKind::decode) {
    attn = attention_decode(m, T, s.phase.context_length, wb, 2.0);
  } else {
    OpCost one = attention_prefill(m, s.phase.sequence_length, wb, 2.0);
    const double weights = attention_weight_elements(m) * wb;
    const double seqs = T / s.phase.sequence_length;
    attn = OpCost{one.flops * seqs, weights + (one.bytes - weights) * seqs};
  }
  attn.flops /= p.tp;
  attn.bytes /= p.tp;
  const Time attention = us(cm.attention_time_us(attn, Precision::bf16, kAttentionKernels));
  std::vector<int> tp_group = iota_gpus(0, p.tp);
  const double act_bytes = T * m.hidden_size * 2.0;  // BF16 hidden states of the micro-batch
  const Time tp_ar = p.tp > 1 ? us(coll.cost(CollectiveKind::all_reduce, tp_group, act_bytes).time_us) : Time();

  MoeModel expert_model = m;
  expert_model.moe_intermediate_size = m.moe_intermediate_size / p.expert_tp;
  MoeModel shared_model = m;
  shared_model.moe_intermediate_size = std::max(1, m.shared_intermediate_size * m.num_shared_experts / p.tp);
  MoeModel dense_model = m;
  dense_model.moe_intermediate_size = std::max(1, m.dense_intermediate_size / p.tp);

  std::vector<LayerCosts> out;
  for (int layer = 0; layer < m.num_layers; ++layer) {
    LayerCosts c;
    c.layer = layer;
    c.moe = m.is_moe_layer(layer);
    c.attention = attention;
    c.tp_all_reduce = tp_ar;
    if (!c.moe) {
      double tokens[1] = {T};
      c.dense_ffn = us(cm.expert_ffn_time_us(tokens, dense_model, s.precision));
      c.ffn_all_reduce = tp_ar;
      out.push_back(std::move(c));
      continue;
    }
    c.gate = us(cm.gemm_time_us(T, m.num_experts, m.hidden_size, Precision::bf16));
    if (m.num_shared_experts > 0 && m.shared_intermediate_size > 0) {
      double tokens[1] = {T};
      c.shared_experts = us(cm.expert_ffn_time_us(tokens, shared_model, s.precision));
    }
    c.ffn_all_reduce = p.expert_tp > 1 ? tp_ar : Time();
    // Tokens each EP rank originates: dp x T tokens per stage over the ep x edp GPUs of its EP groups.
    const double origin = T * p.dp / (p.ep * p.edp());
    const LayerPlacement& pl = in.placement[static_cast<std::size_t>(layer)];
    std::vector<double> load = scaled_layer_load(in.loads.count[static_cast<std::size_t>(layer)], m, p.ep, origin);
    if (std::accumulate(load.begin(), load.end(), 0.0) <= 0)  // an all-zero layer in the loads: uniform
      load.assign(load.size(), origin * p.ep * m.top_k / static_cast<double>(load.size()));
    std::vector<int> replicas = pl.replica_counts(m.num_experts);
    c.gpu_tokens.assign(static_cast<std::size_t>(p.ep), 0.0);
    c.expert_chunk.assign(static_cast<std::size_t>(p.ep), Time());
    std::vector<double> local;
    for (int r = 0; r < p.ep; ++r) {
      local.clear();
      for (int k = 0; k < pl.slots_per_gpu; ++k) {
        int e = pl.slot_expert[static_cast<std::size_t>(r * pl.slots_per_gpu + k)];
        if (e < 0) continue;
        double t = load[static_cast<std::size_t>(e)] / replicas[static_cast<std::size_t>(e)];
        local.push_back(t / chunks);
        c.gpu_tokens[static_cast<std::size_t>(r)] += t;
      }
      if (c.gpu_tokens[static_cast<std::size_t>(r)] > 0)
        c.expert_chunk[static_cast<std::size_t>(r)] = us(cm.expert_ffn_time_us(local, expert_model, s.precision));
    }
    c.shared_tokens = std::make_shared<const std::vector<double>>(c.gpu_tokens);
    c.dispatch_bytes_per_token = m.hidden_size * s.dispatch_bytes_per_element;
    // Per-token routing: sample tokens with the model's router rule from this layer's loads and
    // count the copies the placement's de-duplication leaves (comm/token_router.hpp).
    if (sampling.tokens > 0) {
      TokenRouter router(m.num_experts, m.top_k, m.n_group, m.topk_group, load);
      // One seed for every layer: identical loads and placements give identical exchanges.
      c.routing = routing_statistics(router, pl, ep_gpus_per_node(*in.topology, p.ep), sampling.tokens, sampling.seed);
    }
    c.combine_bytes_per_token = m.hidden_size * s.combine_bytes_per_element;
    out.push_back(std::move(c));
  }
  if (s.phase.kind == PhaseKind::training)
    for (int st = 0; st < p.pp; ++st)
      for (int layer = st * m.num_layers / p.pp; layer < (st + 1) * m.num_layers / p.pp; ++layer)
        out[static_cast<std::size_t>(layer)].grad_reductions = layer_grad_reductions(in, coll, layer, st);
  return out;
}

}  // namespace epsim
