#include "sim/workload.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>

#include "placement/plan.hpp"
#include "sim/attention_cost.hpp"

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

std::vector<LayerCosts> layer_costs(const ScenarioInputs& in, const CollectiveModel& coll, int chunks) {
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
    // Tokens each EP rank originates: dp x T tokens per stage over ep ranks.
    const double origin = T * p.dp / p.ep;
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
    c.combine_bytes_per_token = m.hidden_size * s.combine_bytes_per_element;
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// Builds the graph stage by stage; prev[mb][i] = what the next op of micro-batch mb on stage GPU i
// waits for.
class Builder {
 public:
  Builder(const ScenarioInputs& in, const std::vector<LayerCosts>& costs, const WorkloadConfig& cfg, StreamExecutor& ex)
      : in_(in), costs_(costs), cfg_(cfg), ex_(ex), p_(in.scenario.parallel),
        n_(p_.gpus_per_stage()), m_(in.scenario.phase.micro_batches) {}

  void build() {
    const int L = in_.model.num_layers;
    std::vector<std::vector<std::vector<TaskDep>>> prev(static_cast<std::size_t>(m_),
                                                        std::vector<std::vector<TaskDep>>(static_cast<std::size_t>(n_)));
    for (int stage = 0; stage < p_.pp; ++stage) {
      base_ = stage * n_;
      const int l0 = stage * L / p_.pp, l1 = (stage + 1) * L / p_.pp;
      const int group = cfg_.schedule == ScheduleKind::serial ? 1 : 2;
      for (int g0 = 0; g0 < m_; g0 += group) {
        std::vector<int> mbs;
        for (int mb = g0; mb < std::min(m_, g0 + group); ++mb) mbs.push_back(mb);
        for (int layer = l0; layer < l1; ++layer) {
          const LayerCosts& c = costs_[static_cast<std::size_t>(layer)];
          for (int mb : mbs) front(c, mb, prev[static_cast<std::size_t>(mb)]);
          if (c.moe)
            for (int mb : mbs) back(c, mb, prev[static_cast<std::size_t>(mb)]);
        }
        if (stage + 1 < p_.pp)
          for (int mb : mbs) send_to_next_stage(mb, prev[static_cast<std::size_t>(mb)]);
      }
    }
  }

 private:
  int gpu(int i) const { return base_ + i; }

  int compute(OpKind op, const LayerCosts& c, int mb, int i, Time d, std::vector<TaskDep> deps, int chunk = 0) {
    TaskSpec t;
    t.kind = TaskKind::compute;
    t.op = op;
    t.layer = c.layer;
    t.micro_batch = mb;
    t.chunk = chunk;
    t.gpus = {gpu(i)};
    t.duration = d;
    t.deps = std::move(deps);
    return ex_.add(std::move(t));
  }

  // Collective on each TP group of the stage; after[i] receives the dependency of GPU i.
  void tp_collective(OpKind op, const LayerCosts& c, int mb, Time d, std::vector<std::vector<TaskDep>>& after) {
    for (int r = 0; r < p_.dp; ++r) {
      TaskSpec t;
      t.kind = TaskKind::collective;
      t.op = op;
      t.layer = c.layer;
      t.micro_batch = mb;
      t.duration = d;
      for (int j = 0; j < p_.tp; ++j) {
        int i = r * p_.tp + j;
        t.gpus.push_back(gpu(i));
        for (const TaskDep& dep : after[static_cast<std::size_t>(i)]) t.deps.push_back(dep);
      }
      int id = ex_.add(std::move(t));
      for (int j = 0; j < p_.tp; ++j) after[static_cast<std::size_t>(r * p_.tp + j)] = {TaskDep{id, gpu(r * p_.tp + j)}};
    }
  }

  // Exchange among the stage's EP ranks (= stage GPUs when ep > 1): rank s sends
  // gpu_tokens[d] / ep x bytes_per_token x fraction to rank d (dispatch), the reverse for combine.
  int exchange(OpKind op, const LayerCosts& c, int mb, int chunk, double fraction, std::vector<TaskDep> deps) {
    TaskSpec t;
    t.kind = TaskKind::exchange;
    t.op = op;
    t.layer = c.layer;
    t.micro_batch = mb;
    t.chunk = chunk;
    t.gpus = iota_gpus(base_, n_);
    t.deps = std::move(deps);
    auto tokens = c.shared_tokens;
    const bool dispatch = op == OpKind::dispatch;
    // Shape: the layer's tokens and the direction (dispatch and combine are distinct shapes).
    t.shape_key = static_cast<const void*>(reinterpret_cast<const char*>(tokens.get()) + (dispatch ? 0 : 1));
    t.shape_scale = fraction;
    const double scale = (dispatch ? c.dispatch_bytes_per_token : c.combine_bytes_per_token) * fraction / p_.ep;
    t.a2a_tokens = tokens;
    t.a2a_scale = scale;
    t.a2a_dispatch = dispatch;
    const int base = base_, ep = p_.ep;
    t.make_transfers = [tokens, scale, base, ep, dispatch] {
      std::vector<Transfer> out;
      out.reserve(static_cast<std::size_t>(ep) * static_cast<std::size_t>(ep - 1));
      for (int a = 0; a < ep; ++a)
        for (int b = 0; b < ep; ++b) {
          if (a == b) continue;
          // dispatch: a -> b carries b's tokens; combine: b -> a returns them.
          double bytes = (*tokens)[static_cast<std::size_t>(b)] * scale;
          if (bytes <= 0) continue;
          out.push_back(dispatch ? Transfer{base + a, base + b, bytes} : Transfer{base + b, base + a, bytes});
        }
      return out;
    };
    return ex_.add(std::move(t));
  }

  // Attention (+ TP all-reduce), gate and dispatch of a MoE layer; the whole of a dense layer.
  void front(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    std::vector<std::vector<TaskDep>> after(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i)
      after[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::attention, c, mb, i, c.attention, prev[static_cast<std::size_t>(i)]), gpu(i)}};
    if (p_.tp > 1) tp_collective(OpKind::tp_all_reduce, c, mb, c.tp_all_reduce, after);
    if (!c.moe) {
      for (int i = 0; i < n_; ++i)
        after[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::dense_ffn, c, mb, i, c.dense_ffn, after[static_cast<std::size_t>(i)]), gpu(i)}};
      if (p_.tp > 1) tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, after);
      prev = std::move(after);
      return;
    }
    gate_.assign(static_cast<std::size_t>(n_), 0);
    std::vector<TaskDep> all_gates;
    for (int i = 0; i < n_; ++i) {
      int id = compute(OpKind::gate, c, mb, i, c.gate, after[static_cast<std::size_t>(i)]);
      gate_[static_cast<std::size_t>(i)] = id;
      all_gates.push_back(TaskDep{id, gpu(i)});
    }
    gates_by_mb_[mb] = gate_;
    auto& d = dispatch_by_mb_[mb];
    d.clear();
    if (p_.ep > 1) {
      const int C = cfg_.chunks;
      for (int k = 0; k < C; ++k) d.push_back(exchange(OpKind::dispatch, c, mb, k, 1.0 / C, all_gates));
    }
    prev = std::move(after);
  }

  // Shared experts, routed experts (per chunk), combine and the expert-TP all-reduce.
  void back(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    const std::vector<int>& gates = gates_by_mb_[mb];
    const std::vector<int>& disp = dispatch_by_mb_[mb];
    const bool serial = cfg_.schedule == ScheduleKind::serial;
    const int C = p_.ep > 1 ? cfg_.chunks : 1;
    std::vector<std::vector<TaskDep>> done(static_cast<std::size_t>(n_));
    std::vector<int> shared(static_cast<std::size_t>(n_), -1);
    std::vector<std::vector<int>> experts(static_cast<std::size_t>(C), std::vector<int>(static_cast<std::size_t>(n_)));
    for (int i = 0; i < n_; ++i) {
      const Time expert_time = p_.ep > 1 ? c.expert_chunk[static_cast<std::size_t>(i)] : c.expert_chunk[0];
      if (!serial && c.shared_experts > Time())
        shared[static_cast<std::size_t>(i)] = compute(OpKind::shared_experts, c, mb, i, c.shared_experts,
                                                      {TaskDep{gates[static_cast<std::size_t>(i)], gpu(i)}});
      for (int k = 0; k < C; ++k) {
        std::vector<TaskDep> deps{TaskDep{gates[static_cast<std::size_t>(i)], gpu(i)}};
        if (!disp.empty()) deps.push_back(TaskDep{disp[static_cast<std::size_t>(k)], gpu(i)});
        experts[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)] =
            compute(OpKind::experts, c, mb, i, expert_time, std::move(deps), k);
      }
      if (serial && c.shared_experts > Time())
        shared[static_cast<std::size_t>(i)] = compute(OpKind::shared_experts, c, mb, i, c.shared_experts,
                                                      {TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)}});
    }
    if (p_.ep > 1) {
      int last = -1;
      for (int k = 0; k < C; ++k) {
        std::vector<TaskDep> deps;
        for (int i = 0; i < n_; ++i) {
          deps.push_back(TaskDep{experts[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)], gpu(i)});
          if (serial && shared[static_cast<std::size_t>(i)] >= 0) deps.push_back(TaskDep{shared[static_cast<std::size_t>(i)], gpu(i)});
        }
        last = exchange(OpKind::combine, c, mb, k, 1.0 / C, std::move(deps));
      }
      for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)].push_back(TaskDep{last, gpu(i)});
    } else {
      for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)].push_back(TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)});
    }
    for (int i = 0; i < n_; ++i)
      if (shared[static_cast<std::size_t>(i)] >= 0) done[static_cast<std::size_t>(i)].push_back(TaskDep{shared[static_cast<std::size_t>(i)], gpu(i)});
    if (p_.expert_tp > 1) tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, done);
    prev = std::move(done);
  }

  // Activations of micro-batch mb from GPU i of this stage to GPU i of the next (BF16 hidden states
  // of the replica's tokens, split over its tp GPUs). Uses no stream (a separate P2P stream).
  void send_to_next_stage(int mb, std::vector<std::vector<TaskDep>>& prev) {
    TaskSpec t;
    t.kind = TaskKind::exchange;
    t.op = OpKind::pp_send;
    t.micro_batch = mb;
    t.occupies_streams = false;
    t.gpus = iota_gpus(base_, 2 * n_);
    for (int i = 0; i < n_; ++i)
      for (const TaskDep& d : prev[static_cast<std::size_t>(i)]) t.deps.push_back(d);
    const double bytes = in_.scenario.phase.tokens_per_micro_batch() * in_.model.hidden_size * 2.0 / p_.tp;
    const int base = base_, n = n_;
    t.make_transfers = [bytes, base, n] {
      std::vector<Transfer> out;
      for (int i = 0; i < n; ++i) out.push_back(Transfer{base + i, base + n + i, bytes});
      return out;
    };
    int id = ex_.add(std::move(t));
    for (int i = 0; i < n_; ++i) prev[static_cast<std::size_t>(i)] = {TaskDep{id, base_ + n_ + i}};
  }

  const ScenarioInputs& in_;
  const std::vector<LayerCosts>& costs_;
  const WorkloadConfig& cfg_;
  StreamExecutor& ex_;
  const ParallelConfig& p_;
  const int n_;
  const int m_;
  int base_ = 0;
  std::vector<int> gate_;
  std::map<int, std::vector<int>> gates_by_mb_;
  std::map<int, std::vector<int>> dispatch_by_mb_;
};

}  // namespace

void build_workload(const ScenarioInputs& in, const std::vector<LayerCosts>& costs, const WorkloadConfig& config,
                    StreamExecutor& executor) {
  Builder(in, costs, config, executor).build();
}

}  // namespace epsim
