// layer_costs(): durations of one layer's ops for one micro-batch (docs/simulator.md, "Workload
// per layer and micro-batch"; the training gradient reductions: docs/simulator.md "Training").
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <map>
#include <numeric>
#include <optional>
#include <thread>

#include "comm/token_router.hpp"
#include "placement/layer_replica_split.hpp"
#include "placement/plan.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/compute/kernel_tables.hpp"
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

// Op times from the kernel tables (docs/simulator.md "The serving step"); rooflines where a table does
// not cover an op. All times in us, per GPU.
class TableCosts {
 public:
  TableCosts(const ScenarioInputs& in, const KernelTableModel* kt, ComputeNotices* notices)
      : in_(in), kt_(kt), notices_(notices),
        weights_(in.scenario.precision == Precision::fp8 ? GemmDtype::fp8_block : GemmDtype::bf16),
        decode_(in.scenario.phase.kind == PhaseKind::decode),
        heads_(static_cast<double>(in.model.num_attention_heads) / in.scenario.parallel.tp) {}

  bool on() const { return kt_ != nullptr; }
  bool mla() const {
    if (!kt_ || !kt_->covers_mla(in_.model)) return false;
    const KernelTable* t = kt_->tables().find(decode_ ? KernelTableKind::mla_generation : KernelTableKind::mla_context);
    return t && t->grid(in_.scenario.serving.attention_backend);
  }

  double gemm(double m, double n, double k, GemmDtype d) const {
    if (!(m > 0)) return 0;
    if (auto v = kt_->gemm_us(m, n, k, d, notices_)) return *v;
    return in_.compute.gemm_time_us(m, n, k, d == GemmDtype::bf16 ? Precision::bf16 : Precision::fp8);
  }

  // SwiGLU MLP of `width` over T tokens: the MLP table, else its gate_up and down GEMMs.
  double mlp(double T, double width) const {
    if (!(T > 0)) return 0;
    if (auto v = kt_->mlp_us(in_.model, T, width, notices_)) return *v;
    const double h = in_.model.hidden_size;
    return gemm(T, 2 * width, h, weights_) + gemm(T, h, width, weights_);
  }

  // MLA module + the fused q_a / kv_a projection (the tables measure the module without it). Decode: rows
  // query rows over kv_len cached tokens; prefill: seqs sequences of rows / seqs new tokens after prefix.
  double attention(double rows, double seqs, double prefix, double kv_len) const {
    const MoeModel& m = in_.model;
    const ServingConfig& sv = in_.scenario.serving;
    const double qkv_a = gemm(rows, m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim, m.hidden_size, weights_);
    const std::optional<double> core =
        decode_ ? kt_->mla_decode_us(m, rows, kv_len, heads_, sv.attention_backend, notices_)
                : kt_->mla_prefill_us(m, seqs, rows / seqs, prefix, heads_, sv.attention_backend, notices_);
    return qkv_a + *core;
  }

  // Per micro-batch at length L (prefill: of the sequences; decode: of the KV caches): prefill splits by
  // tokens (a sequence longer than a micro-batch continues in the next one with the earlier part as
  // prefix); decode by sequences (T query rows at KV length L).
  std::vector<Time> attention_by_mb(double T, double L) const {
    const PhaseConfig& ph = in_.scenario.phase;
    std::vector<Time> out;
    for (int mb = 0; mb < ph.micro_batches; ++mb) {
      if (decode_) {
        out.push_back(us(attention(T, T, 0, L)));
      } else if (T >= L) {
        out.push_back(us(attention(T, T / L, 0, 0)));
      } else {
        out.push_back(us(attention(T, 1, std::fmod(mb * T, L), 0)));
      }
    }
    return out;
  }

  // Grouped GEMM of one GPU's local experts (token counts per slot); nullopt when the tables do not
  // cover the model (rooflines then).
  std::optional<double> experts(const std::vector<double>& local, const MoeModel& expert_model) const {
    if (!kt_) return std::nullopt;
    double pairs = 0, active = 0;
    for (double t : local) {
      pairs += t;
      active += t > 0 ? 1 : 0;
    }
    // Rows received = token-expert pairs (the dispatch's convention: one copy per expert).
    return decode_ ? kt_->moe_decode_us(expert_model, active, pairs, notices_)
                   : kt_->moe_prefill_us(expert_model, active, pairs, pairs, notices_);
  }

  // Rows of the LM head per micro-batch: decode every query row; prefill the last token of every
  // sequence that ends in the micro-batch.
  std::vector<double> lm_head_rows(double T) const {
    const PhaseConfig& ph = in_.scenario.phase;
    std::vector<double> rows;
    for (int mb = 0; mb < ph.micro_batches; ++mb) {
      if (decode_ || T >= ph.sequence_length) rows.push_back(decode_ ? T : std::floor(T / ph.sequence_length));
      else rows.push_back(std::fmod((mb + 1) * T, ph.sequence_length) == 0 ? 1.0 : 0.0);
    }
    return rows;
  }

  // LM head (BF16 GEMM rows x vocab x hidden, data-parallel as SGLang's large-EP setup) and sampling
  // (reading the FP32 logits twice: softmax and the draw, an HBM roofline), plus the MTP draft module's
  // forwards in decode.
  // Forwards of the MTP module whose compute lm_head includes (0 when it is not modelled).
  int mtp_forwards() const { return decode_ && mla() ? std::max(0, in_.scenario.serving.mtp_draft_tokens) : 0; }

  double lm_head(double rows) const {
    const MoeModel& m = in_.model;
    if (!(rows > 0) || m.vocab_size <= 0) return 0;
    const double head = gemm(rows, m.vocab_size, m.hidden_size, GemmDtype::bf16);
    const double sampling = rows * m.vocab_size * 4.0 * 2.0 / (in_.compute.gpu().hbm_TBps * 1e12) * 1e6;
    return head + sampling + (decode_ ? mtp_draft(rows) : 0.0);
  }

 private:
  // d forwards of DeepSeek's MTP module (one MLA + MoE layer and the LM head) on the step's sequences,
  // experts taken as balanced; its dispatch and combine are exchanges of the workload (workload.cpp,
  // mtp_exchanges).
  double mtp_draft(double rows) const {
    const ServingConfig& sv = in_.scenario.serving;
    if (sv.mtp_draft_tokens <= 0 || !mla()) return 0;
    const MoeModel& m = in_.model;
    const ParallelConfig& p = in_.scenario.parallel;
    const double S = rows / (1.0 + sv.mtp_draft_tokens);
    const double slots = static_cast<double>(m.num_experts) / p.ep;
    std::vector<double> local(static_cast<std::size_t>(std::max(1.0, std::floor(slots))),
                              S * p.dp * m.top_k / static_cast<double>(m.num_experts));
    const double experts = this->experts(local, m).value_or(0);
    const double one = attention(S, S, 0, in_.scenario.phase.context_length) + gemm(S, m.num_experts, m.hidden_size, GemmDtype::bf16) +
                       mlp(S, static_cast<double>(m.shared_intermediate_size) * m.num_shared_experts) + experts +
                       gemm(S, m.vocab_size, m.hidden_size, GemmDtype::bf16);
    return sv.mtp_draft_tokens * one;
  }

  const ScenarioInputs& in_;
  const KernelTableModel* kt_;
  ComputeNotices* notices_;
  GemmDtype weights_;
  bool decode_;
  double heads_;
};

// One MoE layer's per-token routing sample: the layer's slot in layer_costs' output and its expert loads.
struct RoutingJob {
  std::size_t slot;
  std::vector<double> load;
  std::vector<double> slot_tokens;  ///< replica split the replica draws follow; empty: uniform
};

// Per-token routing of every job: tokens sampled with the model's router rule from the layer's loads,
// and the copies the layer's placement leaves after de-duplication (comm/token_router.hpp), written to
// out[slot].routing. One seed for every layer (identical loads and placements give identical
// exchanges), so the result does not depend on the thread count or order; `sampling.threads` layers at
// once. The first exception in layer order is rethrown.
void sample_routing(const ScenarioInputs& in, const RoutingSampling& sampling, const std::vector<RoutingJob>& jobs,
                    std::vector<LayerCosts>& out) {
  if (jobs.empty()) return;
  const MoeModel& m = in.model;
  const int gpus_per_node = ep_gpus_per_node(*in.topology, in.scenario.parallel.ep);
  std::vector<std::exception_ptr> errors(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      try {
        LayerCosts& c = out[jobs[i].slot];
        TokenRouter router(m.num_experts, m.top_k, m.n_group, m.topk_group, jobs[i].load);
        c.routing = routing_statistics(router, in.placement[static_cast<std::size_t>(c.layer)], gpus_per_node,
                                       sampling.tokens, sampling.seed, jobs[i].slot_tokens);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  int threads = sampling.threads > 0 ? sampling.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, static_cast<int>(jobs.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

double mtp_tokens_per_step(const ServingConfig& sv) {
  double tokens = 1, a_i = 1;
  for (int i = 1; i <= sv.mtp_draft_tokens; ++i) {
    a_i *= sv.mtp_acceptance_rate;
    tokens += a_i;
  }
  return tokens;
}

std::vector<LayerCosts> layer_costs(const ScenarioInputs& in, const CollectiveModel& coll, int chunks,
                                    ComputeNotices* notices, const RoutingSampling& sampling) {
  const Scenario& s = in.scenario;
  const ParallelConfig& p = s.parallel;
  const MoeModel& m = in.model;
  const ComputeModel& cm = in.compute;
  const bool decode = s.phase.kind == PhaseKind::decode;
  // Tokens of one replica in one micro-batch; a decode step with d draft tokens verifies 1 + d per sequence.
  const double T = s.phase.tokens_per_micro_batch() * (decode ? 1.0 + s.serving.mtp_draft_tokens : 1.0);
  const double wb = bytes_per_element(s.precision);
  const KernelTableModel* kt = s.phase.kind == PhaseKind::training ? nullptr : in.kernels.get();
  const TableCosts tc(in, kt, notices);

  // Attention of each micro-batch on one GPU at length L (prefill: of the sequences; decode: of the KV
  // caches): the MLA tables per micro-batch, else one roofline time (TP-sharded: FLOPs and bytes / tp,
  // BF16 core) for every micro-batch.
  auto attention_at = [&](double L) {
    if (tc.mla()) return tc.attention_by_mb(T, L);
    OpCost attn;
    if (decode) {
      attn = attention_decode(m, T, L, wb, 2.0);
    } else {
      OpCost one = attention_prefill(m, L, wb, 2.0);
      const double weights = attention_weight_elements(m) * wb;
      const double seqs = T / L;
      attn = OpCost{one.flops * seqs, weights + (one.bytes - weights) * seqs};
    }
    attn.flops /= p.tp;
    attn.bytes /= p.tp;
    return std::vector<Time>(static_cast<std::size_t>(s.phase.micro_batches),
                             us(cm.attention_time_us(attn, Precision::bf16, kAttentionKernels)));
  };
  const double phase_length = decode ? s.phase.context_length : s.phase.sequence_length;
  std::vector<Time> attention_by_mb = attention_at(phase_length);
  const Time attention = attention_by_mb.front();
  if (!tc.mla()) attention_by_mb.clear();  // one time for every micro-batch
  // DP-attention imbalance: each replica at its own length (equal lengths share one computation).
  std::vector<std::vector<Time>> attention_by_replica;
  {
    std::map<double, std::vector<Time>> at_length;
    for (double L : s.serving.replica_lengths) {
      auto it = at_length.find(L);
      if (it == at_length.end()) it = at_length.emplace(L, attention_at(L)).first;
      attention_by_replica.push_back(it->second);
    }
  }
  std::vector<int> tp_group = iota_gpus(0, p.tp);
  const double act_bytes = T * m.hidden_size * 2.0;  // BF16 hidden states of the micro-batch
  const Time tp_ar = p.tp > 1 ? us(coll.cost(CollectiveKind::all_reduce, tp_group, act_bytes).time_us) : Time();

  MoeModel expert_model = m;
  expert_model.moe_intermediate_size = m.moe_intermediate_size / p.expert_tp;
  MoeModel shared_model = m;
  shared_model.moe_intermediate_size = std::max(1, m.shared_intermediate_size * m.num_shared_experts / p.tp);
  MoeModel dense_model = m;
  dense_model.moe_intermediate_size = std::max(1, m.dense_intermediate_size / p.tp);

  // The replica split of every layer, lp's stage 2 on the scenario's kernel (placement/layer_replica_split.hpp).
  const LayerReplicaSplitter splitter(
      in.replica_choice, *in.routes, p.ep, m,
      exchange_kernel_params(in, s.exchange_kernel.value_or(default_exchange_kernel(decode))).params,
      m.hidden_size * s.dispatch_bytes_per_element, m.hidden_size * s.combine_bytes_per_element);

  std::vector<LayerCosts> out;
  std::vector<RoutingJob> routing_jobs;
  for (int layer = 0; layer < m.num_layers; ++layer) {
    LayerCosts c;
    c.layer = layer;
    c.moe = m.is_moe_layer(layer);
    c.attention = attention;
    c.attention_by_mb = attention_by_mb;
    c.attention_by_replica = attention_by_replica;
    c.tp_all_reduce = tp_ar;
    if (!c.moe) {
      double tokens[1] = {T};
      c.dense_ffn = tc.on() ? us(tc.mlp(T, dense_model.moe_intermediate_size))
                            : us(cm.expert_ffn_time_us(tokens, dense_model, s.precision));
      c.ffn_all_reduce = tp_ar;
      out.push_back(std::move(c));
      continue;
    }
    c.gate = tc.on() ? us(tc.gemm(T, m.num_experts, m.hidden_size, GemmDtype::bf16))
                     : us(cm.gemm_time_us(T, m.num_experts, m.hidden_size, Precision::bf16));
    if (m.num_shared_experts > 0 && m.shared_intermediate_size > 0) {
      double tokens[1] = {T};
      c.shared_experts = tc.on() ? us(tc.mlp(T, shared_model.moe_intermediate_size))
                                 : us(cm.expert_ffn_time_us(tokens, shared_model, s.precision));
    }
    c.ffn_all_reduce = p.expert_tp > 1 ? tp_ar : Time();
    // Tokens each EP rank originates: dp x T tokens per stage over the ep x edp GPUs of its EP groups.
    const double origin = T * p.dp / (p.ep * p.edp());
    const LayerPlacement& pl = in.placement[static_cast<std::size_t>(layer)];
    std::vector<double> load = scaled_layer_load(in.loads.count[static_cast<std::size_t>(layer)], m, p.ep, origin);
    if (std::accumulate(load.begin(), load.end(), 0.0) <= 0)  // an all-zero layer in the loads: uniform
      load.assign(load.size(), origin * p.ep * m.top_k / static_cast<double>(load.size()));
    // Tokens of each slot: equal shares of an expert's replicas (rule) or the per-batch LP's split.
    const ReplicaSplit split = splitter.split(pl, load);
    c.gpu_tokens.assign(static_cast<std::size_t>(p.ep), 0.0);
    c.expert_chunk.assign(static_cast<std::size_t>(p.ep), Time());
    std::vector<double> local;
    for (int r = 0; r < p.ep; ++r) {
      local.clear();
      for (int k = 0; k < pl.slots_per_gpu; ++k) {
        const auto slot = static_cast<std::size_t>(r * pl.slots_per_gpu + k);
        if (pl.slot_expert[slot] < 0) continue;
        const double t = split.slot_tokens[slot];
        local.push_back(t / chunks);
        c.gpu_tokens[static_cast<std::size_t>(r)] += t;
      }
      if (c.gpu_tokens[static_cast<std::size_t>(r)] > 0) {
        const std::optional<double> table = tc.experts(local, expert_model);
        c.expert_chunk[static_cast<std::size_t>(r)] =
            us(table ? *table : cm.expert_ffn_time_us(local, expert_model, s.precision));
      }
    }
    c.shared_tokens = std::make_shared<const std::vector<double>>(c.gpu_tokens);
    c.dispatch_bytes_per_token = m.hidden_size * s.dispatch_bytes_per_element;
    // Per-token routing: sampled after the loop, layers in parallel (sample_routing); lp: each token's
    // replica drawn in proportion to the split (rule: uniformly).
    if (sampling.tokens > 0)
      routing_jobs.push_back(RoutingJob{out.size(), load, splitter.replica_draw_weights(split)});
    c.combine_bytes_per_token = m.hidden_size * s.combine_bytes_per_element;
    out.push_back(std::move(c));
  }
  sample_routing(in, sampling, routing_jobs, out);
  if (tc.on() && !out.empty()) {
    LayerCosts& last = out.back();
    for (double rows : tc.lm_head_rows(T)) last.lm_head_by_mb.push_back(us(tc.lm_head(rows)));
    if (decode) last.step_overhead = us(s.serving.decode_step_overhead_us);
    if (decode) last.mtp_forwards = tc.mtp_forwards();
  }
  if (s.phase.kind == PhaseKind::training)
    for (int st = 0; st < p.pp; ++st)
      for (int layer = st * m.num_layers / p.pp; layer < (st + 1) * m.num_layers / p.pp; ++layer)
        out[static_cast<std::size_t>(layer)].grad_reductions = layer_grad_reductions(in, coll, layer, st);
  return out;
}

}  // namespace epsim
