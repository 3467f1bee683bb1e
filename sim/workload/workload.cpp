#include "sim/workload/workload.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "comm/kernel_legs.hpp"
#include "placement/plan.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/workload/training.hpp"

namespace epsim {

namespace {

Time us(double v) { return Time::from_ps_ceil(v * 1e6); }

std::vector<int> iota_gpus(int base, int n) {
  std::vector<int> g(static_cast<std::size_t>(n));
  std::iota(g.begin(), g.end(), base);
  return g;
}

}  // namespace

namespace {

// Builds the graph stage by stage; prev[mb][i] = what the next op of micro-batch mb on stage GPU i
// waits for.
class Builder {
 public:
  Builder(const ScenarioInputs& in, const std::vector<LayerCosts>& costs, const WorkloadConfig& cfg, StreamExecutor& ex)
      : in_(in), costs_(costs), cfg_(cfg), ex_(ex), p_(in.scenario.parallel),
        n_(p_.gpus_per_stage()), m_(in.scenario.phase.micro_batches) {}

  void build() {
    if (in_.scenario.phase.kind == PhaseKind::training) {
      build_training();
      return;
    }
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
        else
          for (int mb : mbs) tail(costs_[static_cast<std::size_t>(L - 1)], mb, prev[static_cast<std::size_t>(mb)]);
      }
    }
    // Fixed per-step cost of the last stage's GPUs after their last micro-batch.
    const LayerCosts& last = costs_[static_cast<std::size_t>(L - 1)];
    if (last.step_overhead > Time())
      for (int i = 0; i < n_; ++i) {
        std::vector<TaskDep> deps;
        for (int mb = 0; mb < m_; ++mb)
          for (const TaskDep& d : prev[static_cast<std::size_t>(mb)][static_cast<std::size_t>(i)]) deps.push_back(d);
        compute(OpKind::step_overhead, last, m_ - 1, i, last.step_overhead, std::move(deps));
      }
  }

 private:
  int gpu(int i) const { return base_ + i; }
  /// EP group of stage GPU i: the stage's n_ GPUs form edp() consecutive groups of n_ / edp() GPUs
  /// (ep x expert_tp each; one group of all stage GPUs when edp() == 1, e.g. a TP-only layout).
  int group_of(int i) const { return i / (n_ / p_.edp()); }

  // Attention of micro-batch mb on stage GPU i (of DP replica i / tp).
  Time attention_of(const LayerCosts& c, int mb, int i) const {
    if (!c.attention_by_replica.empty())
      return c.attention_by_replica[static_cast<std::size_t>(i / p_.tp)][static_cast<std::size_t>(mb)];
    return c.attention_by_mb.empty() ? c.attention : c.attention_by_mb[static_cast<std::size_t>(mb)];
  }

  // LM head and sampling of micro-batch mb after the last layer (serving; none when not set), then the
  // MTP draft module's exchanges (decode).
  void tail(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    if (c.lm_head_by_mb.empty() || !(c.lm_head_by_mb[static_cast<std::size_t>(mb)] > Time())) return;
    for (int i = 0; i < n_; ++i)
      prev[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::lm_head, c, mb, i, c.lm_head_by_mb[static_cast<std::size_t>(mb)],
                                                           prev[static_cast<std::size_t>(i)]), gpu(i)}};
    mtp_exchanges(mb, prev);
  }

  // Decode with MTP (scenario /mtp): each of the d draft forwards runs DeepSeek's MTP module, one MoE
  // layer, on the S = T / (1 + d) sequences of the micro-batch (its compute is in the LM head task,
  // layer_costs.cpp mtp_draft). Its dispatch and combine are exchanges of S tokens per rank under the
  // scenario's kernel, one after the other and after the LM head: fraction 1 / (1 + d) of the traffic
  // of the last MoE layer, whose placement and loads stand in for the MTP module's experts (the
  // module's own expert loads are not in the loads files). No-op without EP or when the
  // module's compute is not modelled (LayerCosts::mtp_forwards 0).
  void mtp_exchanges(int mb, std::vector<std::vector<TaskDep>>& prev) {
    const int d = costs_.back().mtp_forwards;
    if (d <= 0 || p_.ep <= 1) return;
    const LayerCosts* moe = nullptr;
    for (auto it = costs_.rbegin(); it != costs_.rend() && !moe; ++it)
      if (it->moe) moe = &*it;
    if (!moe) return;
    const double fraction = 1.0 / (1.0 + d);
    const int E = p_.edp(), per_group = n_ / E;
    for (int k = 0; k < d; ++k)
      for (OpKind op : {OpKind::dispatch, OpKind::combine})
        for (int g = 0; g < E; ++g) {
          std::vector<TaskDep> deps;
          for (int i = g * per_group; i < (g + 1) * per_group; ++i)
            for (const TaskDep& dep : prev[static_cast<std::size_t>(i)]) deps.push_back(dep);
          const int id = exchange(op, *moe, mb, 0, fraction, std::move(deps), E == 1 ? 0 : g);
          for (int i = g * per_group; i < (g + 1) * per_group; ++i) prev[static_cast<std::size_t>(i)] = {TaskDep{id, gpu(i)}};
        }
  }

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
    t.backward = backward_;
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
      t.backward = backward_;
      for (int j = 0; j < p_.tp; ++j) {
        int i = r * p_.tp + j;
        t.gpus.push_back(gpu(i));
        for (const TaskDep& dep : after[static_cast<std::size_t>(i)]) t.deps.push_back(dep);
      }
      int id = ex_.add(std::move(t));
      for (int j = 0; j < p_.tp; ++j) after[static_cast<std::size_t>(r * p_.tp + j)] = {TaskDep{id, gpu(r * p_.tp + j)}};
    }
  }

  // Exchange among the stage's EP ranks (= stage GPUs when ep > 1) under the exchange kernel
  // (cfg_.kernel): rank d computes gpu_tokens[d] x fraction selections, originated evenly by the ep
  // ranks; the closed form (ClosedFormExchange::all_to_all, comm/exchange_cost.hpp) costs it, and a
  // network model gets the kernel's legs as transfers (kernel_legs). Backward (training): the
  // combine's gradients go the dispatch way with the combine's bytes and the dispatch's gradients go
  // the combine way with the dispatch's bytes.
  // `group`: the EP group of the stage (GPUs base + group x ep .. + ep - 1; 0 unless training with
  // edp > 1).
  int exchange(OpKind op, const LayerCosts& c, int mb, int chunk, double fraction, std::vector<TaskDep> deps,
               int group = 0) {
    TaskSpec t;
    t.kind = TaskKind::exchange;
    t.op = op;
    t.layer = c.layer;
    t.micro_batch = mb;
    t.chunk = chunk;
    // Participants: the whole stage when it is one EP group (expert-TP shards included), else the group.
    t.gpus = p_.edp() == 1 ? iota_gpus(base_, n_) : iota_gpus(base_ + group * p_.ep, p_.ep);
    t.deps = std::move(deps);
    t.backward = backward_;
    auto tokens = c.shared_tokens;
    const bool dispatch_bytes = op == OpKind::dispatch;
    const bool dispatch = dispatch_bytes != backward_;  // direction
    // Shape: the layer's tokens, the direction and the bytes per token (4 distinct shapes).
    // Other EP groups (training, edp > 1) move between other GPUs: no shared shape.
    if (group == 0)
      t.shape_key = static_cast<const void*>(reinterpret_cast<const char*>(tokens.get()) + (dispatch ? 0 : 1) +
                                             (backward_ ? 2 : 0));
    t.shape_scale = fraction;
    const double bpt = dispatch_bytes ? c.dispatch_bytes_per_token : c.combine_bytes_per_token;
    t.a2a_tokens = tokens;
    t.a2a_bytes_per_token = bpt;
    t.a2a_fraction = fraction;
    t.a2a_dispatch = dispatch;
    t.a2a_routing = c.routing;
    const int base = base_ + group * p_.ep, ep = p_.ep;
    t.start_latency = us(kernel_latency_us(cfg_.kernel, dispatch, *in_.topology, base, ep, c.routing.experts));
    const double scale = (bpt + cfg_.kernel.header_bytes_per_token) * fraction / ep;
    const ExchangeKernelParams* kernel = &cfg_.kernel;
    const RouteTable* routes = in_.routes.get();
    const ExchangeRouting routing = c.routing;
    t.make_transfers = [tokens, scale, base, ep, dispatch, kernel, routes, routing] {
      std::vector<Transfer> out;
      out.reserve(static_cast<std::size_t>(ep) * static_cast<std::size_t>(ep - 1));
      for (int a = 0; a < ep; ++a)
        for (int b = 0; b < ep; ++b) {
          if (a == b) continue;
          // dispatch: a -> b carries b's selections originated at a; combine returns them.
          double bytes = (*tokens)[static_cast<std::size_t>(b)] * scale;
          if (bytes <= 0) continue;
          kernel_legs(kernel->kind, *routes, base, ep, base + a, base + b, bytes, routing, dispatch, out);
        }
      return out;
    };
    return ex_.add(std::move(t));
  }
  // Attention (+ TP all-reduce), gate and dispatch of a MoE layer; the whole of a dense layer.
  void front(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    std::vector<std::vector<TaskDep>> after(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i)
      after[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::attention, c, mb, i, attention_of(c, mb, i), prev[static_cast<std::size_t>(i)]), gpu(i)}};
    if (p_.tp > 1) tp_collective(OpKind::tp_all_reduce, c, mb, c.tp_all_reduce, after);
    if (!c.moe) {
      for (int i = 0; i < n_; ++i)
        after[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::dense_ffn, c, mb, i, c.dense_ffn, after[static_cast<std::size_t>(i)]), gpu(i)}};
      if (p_.tp > 1) tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, after);
      prev = std::move(after);
      return;
    }
    gate_.assign(static_cast<std::size_t>(n_), 0);
    std::vector<std::vector<TaskDep>> group_gates(static_cast<std::size_t>(p_.edp()));
    for (int i = 0; i < n_; ++i) {
      int id = compute(OpKind::gate, c, mb, i, c.gate, after[static_cast<std::size_t>(i)]);
      gate_[static_cast<std::size_t>(i)] = id;
      group_gates[static_cast<std::size_t>(group_of(i))].push_back(TaskDep{id, gpu(i)});
    }
    gates_by_mb_[mb] = gate_;
    auto& d = dispatch_by_mb_[mb];  // [chunk x edp + group]
    d.clear();
    if (p_.ep > 1) {
      const int C = cfg_.chunks;
      for (int k = 0; k < C; ++k)
        for (int g = 0; g < p_.edp(); ++g)
          d.push_back(exchange(OpKind::dispatch, c, mb, k, 1.0 / C, group_gates[static_cast<std::size_t>(g)], g));
    }
    prev = std::move(after);
  }

  // The exchange that follows the experts (forward: combine; backward: the dispatch gradients), one per
  // (chunk k, EP group g), gated by chunk k of the group's experts (and, serial, its shared experts);
  // done[i] then waits for the last chunk's exchange of GPU i's group. experts: [chunk][stage GPU]
  // task ids; shared: [stage GPU] task id or -1.
  void exchange_after_experts(OpKind op, const LayerCosts& c, int mb, bool serial,
                              const std::vector<std::vector<int>>& experts, const std::vector<int>& shared,
                              std::vector<std::vector<TaskDep>>& done) {
    const int C = static_cast<int>(experts.size()), E = p_.edp(), per_group = n_ / E;
    std::vector<int> last(static_cast<std::size_t>(E), -1);
    for (int k = 0; k < C; ++k)
      for (int g = 0; g < E; ++g) {
        std::vector<TaskDep> deps;
        for (int i = g * per_group; i < (g + 1) * per_group; ++i) {
          deps.push_back(TaskDep{experts[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)], gpu(i)});
          if (serial && shared[static_cast<std::size_t>(i)] >= 0) deps.push_back(TaskDep{shared[static_cast<std::size_t>(i)], gpu(i)});
        }
        last[static_cast<std::size_t>(g)] = exchange(op, c, mb, k, 1.0 / C, std::move(deps), g);
      }
    for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)].push_back(TaskDep{last[static_cast<std::size_t>(group_of(i))], gpu(i)});
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
      const Time expert_time = c.expert_chunk[static_cast<std::size_t>(p_.ep > 1 ? i % p_.ep : 0)];
      if (!serial && c.shared_experts > Time())
        shared[static_cast<std::size_t>(i)] = compute(OpKind::shared_experts, c, mb, i, c.shared_experts,
                                                      {TaskDep{gates[static_cast<std::size_t>(i)], gpu(i)}});
      for (int k = 0; k < C; ++k) {
        std::vector<TaskDep> deps{TaskDep{gates[static_cast<std::size_t>(i)], gpu(i)}};
        if (!disp.empty()) deps.push_back(TaskDep{disp[static_cast<std::size_t>(k * p_.edp() + group_of(i))], gpu(i)});
        experts[static_cast<std::size_t>(k)][static_cast<std::size_t>(i)] =
            compute(OpKind::experts, c, mb, i, expert_time, std::move(deps), k);
      }
      if (serial && c.shared_experts > Time())
        shared[static_cast<std::size_t>(i)] = compute(OpKind::shared_experts, c, mb, i, c.shared_experts,
                                                      {TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)}});
    }
    if (p_.ep > 1) {
      exchange_after_experts(OpKind::combine, c, mb, serial, experts, shared, done);
    } else {
      for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)].push_back(TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)});
    }
    for (int i = 0; i < n_; ++i)
      if (shared[static_cast<std::size_t>(i)] >= 0) done[static_cast<std::size_t>(i)].push_back(TaskDep{shared[static_cast<std::size_t>(i)], gpu(i)});
    if (p_.expert_tp > 1) tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, done);
    prev = std::move(done);
  }

  // Activations of micro-batch mb from GPU i of this stage to GPU i of the next (BF16 hidden states
  // of the replica's tokens, split over its tp GPUs); backward: their gradients to the previous stage.
  // Uses no stream (a separate P2P stream).
  void send_to_next_stage(int mb, std::vector<std::vector<TaskDep>>& prev) { send(mb, +1, prev); }
  void send(int mb, int direction, std::vector<std::vector<TaskDep>>& prev) {
    TaskSpec t;
    t.kind = TaskKind::exchange;
    t.op = OpKind::pp_send;
    t.micro_batch = mb;
    t.backward = backward_;
    t.occupies_streams = false;
    const int to = base_ + direction * n_;
    t.gpus = iota_gpus(std::min(base_, to), 2 * n_);
    for (int i = 0; i < n_; ++i)
      for (const TaskDep& d : prev[static_cast<std::size_t>(i)]) t.deps.push_back(d);
    const double bytes = in_.scenario.phase.tokens_per_micro_batch() * in_.model.hidden_size * 2.0 / p_.tp;
    const int base = base_, n = n_;
    t.make_transfers = [bytes, base, to, n] {
      std::vector<Transfer> out;
      for (int i = 0; i < n; ++i) out.push_back(Transfer{base + i, to + i, bytes});
      return out;
    };
    int id = ex_.add(std::move(t));
    for (int i = 0; i < n_; ++i) prev[static_cast<std::size_t>(i)] = {TaskDep{id, to + i}};
  }

  // ---- Training (docs/simulator.md, "Training") ----

  static Time bwd(Time forward) {
    return Time::from_ps_ceil(static_cast<double>(forward.count_ps()) * kBackwardComputeFactor);
  }

  // Slots of every stage in pipeline order; a slot is issued once its input from the neighbouring
  // stage has been issued (task ids must point backwards; streams run in issue order per GPU).
  void build_training() {
    const int P = p_.pp;
    const std::size_t M = static_cast<std::size_t>(m_);
    std::vector<std::vector<PipelineSlot>> order(static_cast<std::size_t>(P));
    std::size_t remaining = 0;
    for (int st = 0; st < P; ++st) {
      order[static_cast<std::size_t>(st)] = pipeline_order(in_.scenario.pipeline, P, st, m_);
      remaining += order[static_cast<std::size_t>(st)].size();
    }
    std::vector<std::size_t> cursor(static_cast<std::size_t>(P), 0);
    using Deps = std::vector<std::vector<TaskDep>>;
    std::vector<Deps> fwd_in(M, Deps(static_cast<std::size_t>(n_))), bwd_in(M, Deps(static_cast<std::size_t>(n_)));
    std::vector<int> fwd_stage(M, 0), bwd_stage(M, -1);
    last_grad_.assign(static_cast<std::size_t>(p_.gpus()), -1);
    stage_done_.assign(static_cast<std::size_t>(P), Deps(static_cast<std::size_t>(n_)));
    while (remaining > 0) {
      bool progress = false;
      for (int st = 0; st < P; ++st) {
        auto& ord = order[static_cast<std::size_t>(st)];
        auto& cur = cursor[static_cast<std::size_t>(st)];
        base_ = st * n_;
        while (cur < ord.size()) {
          const PipelineSlot slot = ord[cur];
          const auto mb = static_cast<std::size_t>(slot.micro_batch);
          if ((slot.backward ? bwd_stage[mb] : fwd_stage[mb]) != st) break;
          if (!slot.backward) {
            // pp = 1: micro-batches are gradient-accumulation steps, each after the previous one has
            // finished on every GPU, so that every micro-batch but the last takes the same time
            // (simulate() repeats them instead of building them all: docs/simulator.md "Training").
            if (P == 1 && mb > 0)
              for (auto& deps : fwd_in[mb])
                for (const auto& gpu_deps : bwd_in[mb - 1]) deps.insert(deps.end(), gpu_deps.begin(), gpu_deps.end());
            forward_stage(st, slot.micro_batch, fwd_in[mb]);
            if (st + 1 < P) {
              send(slot.micro_batch, +1, fwd_in[mb]);
            } else {
              bwd_in[mb] = std::move(fwd_in[mb]);
              bwd_stage[mb] = st;
            }
            fwd_stage[mb] = st + 1;
          } else {
            const bool last = cur + 1 == ord.size();
            backward_stage(st, slot.micro_batch, bwd_in[mb], last);
            if (last) stage_done_[static_cast<std::size_t>(st)] = bwd_in[mb];
            if (st > 0) {
              backward_ = true;
              send(slot.micro_batch, -1, bwd_in[mb]);
              backward_ = false;
            }
            bwd_stage[mb] = st - 1;
          }
          ++cur;
          --remaining;
          progress = true;
        }
      }
      if (!progress) throw std::logic_error("build_workload: pipeline order without a runnable slot");
    }
    for (int st = 0; st < P; ++st) finish_stage(st);
  }

  void forward_stage(int st, int mb, std::vector<std::vector<TaskDep>>& prev) {
    const int L = in_.model.num_layers;
    for (int layer = st * L / p_.pp; layer < (st + 1) * L / p_.pp; ++layer) {
      const LayerCosts& c = costs_[static_cast<std::size_t>(layer)];
      front(c, mb, prev);
      if (c.moe) back(c, mb, prev);
    }
  }

  void backward_stage(int st, int mb, std::vector<std::vector<TaskDep>>& prev, bool last_slot) {
    const int L = in_.model.num_layers;
    backward_ = true;
    for (int layer = (st + 1) * L / p_.pp - 1; layer >= st * L / p_.pp; --layer) {
      const LayerCosts& c = costs_[static_cast<std::size_t>(layer)];
      if (c.moe) moe_backward(c, mb, prev);
      else dense_backward(c, mb, prev);
      if (last_slot && in_.scenario.training.overlap_grad_reduce) reduce_layer(c, prev);
    }
    backward_ = false;
  }

  // Dense layer backward: FFN (dgrad + wgrad), its TP all-reduce, attention, its TP all-reduce.
  void dense_backward(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    for (int i = 0; i < n_; ++i)
      prev[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::dense_ffn, c, mb, i, bwd(c.dense_ffn), prev[static_cast<std::size_t>(i)]), gpu(i)}};
    if (p_.tp > 1) tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, prev);
    attention_backward(c, mb, prev);
  }

  void attention_backward(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    for (int i = 0; i < n_; ++i)
      prev[static_cast<std::size_t>(i)] = {TaskDep{compute(OpKind::attention, c, mb, i, bwd(c.attention), prev[static_cast<std::size_t>(i)]), gpu(i)}};
    if (p_.tp > 1) tp_collective(OpKind::tp_all_reduce, c, mb, c.tp_all_reduce, prev);
  }

  // MoE layer backward: combine gradients to the experts (dispatch direction, combine bytes), expert
  // and shared-expert backward, dispatch gradients back (combine direction, dispatch bytes), gate and
  // attention backward. Chunked like the forward under `overlap`.
  void moe_backward(const LayerCosts& c, int mb, std::vector<std::vector<TaskDep>>& prev) {
    const bool serial = cfg_.schedule == ScheduleKind::serial;
    const int C = p_.ep > 1 ? cfg_.chunks : 1;
    const int E = p_.edp();
    std::vector<std::vector<TaskDep>> group_prev(static_cast<std::size_t>(E));
    for (int i = 0; i < n_; ++i)
      for (const TaskDep& d : prev[static_cast<std::size_t>(i)]) group_prev[static_cast<std::size_t>(group_of(i))].push_back(d);
    std::vector<int> comb;  // [chunk x edp + group]
    if (p_.ep > 1)
      for (int k = 0; k < C; ++k)
        for (int g = 0; g < E; ++g) comb.push_back(exchange(OpKind::combine, c, mb, k, 1.0 / C, group_prev[static_cast<std::size_t>(g)], g));
    std::vector<int> shared(static_cast<std::size_t>(n_), -1);
    std::vector<std::vector<int>> experts(static_cast<std::size_t>(C), std::vector<int>(static_cast<std::size_t>(n_)));
    for (int i = 0; i < n_; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      const Time expert_time = bwd(c.expert_chunk[static_cast<std::size_t>(p_.ep > 1 ? i % p_.ep : 0)]);
      if (!serial && c.shared_experts > Time())
        shared[ui] = compute(OpKind::shared_experts, c, mb, i, bwd(c.shared_experts), prev[ui]);
      for (int k = 0; k < C; ++k) {
        std::vector<TaskDep> deps = prev[ui];
        if (!comb.empty()) deps.push_back(TaskDep{comb[static_cast<std::size_t>(k * E + group_of(i))], gpu(i)});
        experts[static_cast<std::size_t>(k)][ui] = compute(OpKind::experts, c, mb, i, expert_time, std::move(deps), k);
      }
      if (serial && c.shared_experts > Time())
        shared[ui] = compute(OpKind::shared_experts, c, mb, i, bwd(c.shared_experts),
                             {TaskDep{experts[static_cast<std::size_t>(C - 1)][ui], gpu(i)}});
    }
    std::vector<std::vector<TaskDep>> done(static_cast<std::size_t>(n_));
    if (p_.expert_tp > 1) {
      for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)] = {TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)}};
      tp_collective(OpKind::ffn_all_reduce, c, mb, c.ffn_all_reduce, done);
    }
    if (p_.ep > 1) {
      exchange_after_experts(OpKind::dispatch, c, mb, serial, experts, shared, done);
    } else if (p_.expert_tp == 1) {
      for (int i = 0; i < n_; ++i) done[static_cast<std::size_t>(i)].push_back(TaskDep{experts[static_cast<std::size_t>(C - 1)][static_cast<std::size_t>(i)], gpu(i)});
    }
    for (int i = 0; i < n_; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      std::vector<TaskDep> deps = prev[ui];
      if (shared[ui] >= 0) deps.push_back(TaskDep{shared[ui], gpu(i)});
      deps.insert(deps.end(), done[ui].begin(), done[ui].end());
      prev[ui] = {TaskDep{compute(OpKind::gate, c, mb, i, bwd(c.gate), std::move(deps)), gpu(i)}};
    }
    attention_backward(c, mb, prev);
  }

  // The layer's gradient reductions, each on its GPUs' data-parallel stream (no compute or EP
  // stream; one reduction at a time per GPU), after the layer's backward on every participant.
  void reduce_layer(const LayerCosts& c, const std::vector<std::vector<TaskDep>>& after) {
    for (const GradReduction& g : c.grad_reductions)
      grad_task(OpKind::grad_sync, c.layer, g.gpus, g.time, g.bytes, g.reduce_phases, after, {});
  }

  // A gradient reduction or parameter all-gather of `bytes` over `gpus` taking time d (collective
  // model); with cfg_.reductions_on_network, an exchange of its reduction_traffic (`phases` phases)
  // that lasts at least d.
  int grad_task(OpKind op, int layer, const std::vector<int>& gpus, Time d, double bytes, int phases,
                const std::vector<std::vector<TaskDep>>& after, const std::vector<int>& per_gpu_task) {
    TaskSpec t;
    t.kind = TaskKind::collective;
    if (cfg_.reductions_on_network && gpus.size() > 1 && bytes > 0) {
      t.kind = TaskKind::exchange;
      const Topology* topo = in_.topology.get();
      t.make_transfers = [topo, gpus, bytes, phases] { return reduction_traffic(*topo, gpus, bytes, phases); };
    }
    t.op = op;
    t.layer = layer;
    t.micro_batch = m_ - 1;
    t.backward = true;
    t.occupies_streams = false;
    t.duration = d;
    t.gpus = gpus;
    for (int g : gpus) {
      const auto i = static_cast<std::size_t>(g - base_);
      if (!per_gpu_task.empty()) t.deps.push_back(TaskDep{per_gpu_task[i], g});
      else for (const TaskDep& dep : after[i]) t.deps.push_back(dep);
      if (last_grad_[static_cast<std::size_t>(g)] >= 0) t.deps.push_back(TaskDep{last_grad_[static_cast<std::size_t>(g)], g});
    }
    int id = ex_.add(std::move(t));
    for (int g : gpus) last_grad_[static_cast<std::size_t>(g)] = id;
    return id;
  }

  // After the stage's last backward: the reductions (when not overlapped), the optimizer step of
  // every GPU, and the parameter all-gathers of reduce_scatter.
  void finish_stage(int st) {
    base_ = st * n_;
    const int L = in_.model.num_layers, l0 = st * L / p_.pp, l1 = (st + 1) * L / p_.pp;
    const auto& done = stage_done_[static_cast<std::size_t>(st)];
    if (!in_.scenario.training.overlap_grad_reduce)
      for (int layer = l1 - 1; layer >= l0; --layer) reduce_layer(costs_[static_cast<std::size_t>(layer)], done);
    const GpuSpec& spec = in_.compute.gpu();
    std::vector<int> step(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) {
      std::vector<TaskDep> deps = done[static_cast<std::size_t>(i)];
      if (last_grad_[static_cast<std::size_t>(gpu(i))] >= 0) deps.push_back(TaskDep{last_grad_[static_cast<std::size_t>(gpu(i))], gpu(i)});
      const double bytes = optimizer_step_bytes(in_, st, i);
      const Time d = us(roofline_time_us(OpCost{0, bytes}, spec.bf16_dense_TFLOPs, 1.0, spec.hbm_TBps, 1,
                                         in_.compute.params().launch_overhead_us));
      TaskSpec t;
      t.kind = TaskKind::compute;
      t.op = OpKind::optimizer;
      t.micro_batch = m_ - 1;
      t.backward = true;
      t.gpus = {gpu(i)};
      t.duration = d;
      t.deps = std::move(deps);
      step[static_cast<std::size_t>(i)] = ex_.add(std::move(t));
    }
    for (int layer = l0; layer < l1; ++layer)
      for (const GradReduction& g : costs_[static_cast<std::size_t>(layer)].grad_reductions)
        if (g.gather_time > Time())
          grad_task(OpKind::param_all_gather, layer, g.gpus, g.gather_time, g.bytes, 1, {}, step);
  }

  const ScenarioInputs& in_;
  const std::vector<LayerCosts>& costs_;
  const WorkloadConfig& cfg_;
  StreamExecutor& ex_;
  const ParallelConfig& p_;
  const int n_;
  const int m_;
  int base_ = 0;
  bool backward_ = false;          ///< tasks being added belong to the backward pass
  std::vector<int> last_grad_;     ///< per GPU: its last gradient-reduction task (-1: none)
  std::vector<std::vector<std::vector<TaskDep>>> stage_done_;  ///< per stage: after its last backward
  std::vector<int> gate_;
  std::map<int, std::vector<int>> gates_by_mb_;
  std::map<int, std::vector<int>> dispatch_by_mb_;
};

}  // namespace

WorkloadSize estimate_workload_size(const ScenarioInputs& in, const WorkloadConfig& config, int micro_batches) {
  const ParallelConfig& p = in.scenario.parallel;
  const std::int64_t n = p.gpus_per_stage(), C = p.ep > 1 ? config.chunks : 1, edp = p.edp();
  const std::int64_t tp_ops = p.tp > 1 ? p.dp : 0, etp_ops = p.expert_tp > 1 ? p.dp : 0;
  const std::int64_t exchanges = p.ep > 1 ? 2 * C * edp : 0;
  // Per micro-batch, every layer once (on its stage's n GPUs): MoE = attention, gate, shared experts and
  // C expert chunks per GPU + dispatch/combine per chunk and EP group + TP collectives; dense =
  // attention and FFN per GPU + two TP collectives. Training doubles it (backward mirrors forward).
  std::int64_t per_mb = p.pp - 1 + n;  // activation sends; the LM head of every GPU of the last stage
  for (int l = 0; l < in.model.num_layers; ++l)
    per_mb += in.model.is_moe_layer(l) ? n * (3 + C) + exchanges + tp_ops + etp_ops : 2 * n + 2 * tp_ops;
  const bool training = in.scenario.phase.kind == PhaseKind::training;
  if (training) per_mb *= 2;
  WorkloadSize s;
  s.tasks = per_mb * micro_batches + n /* a decode step's overhead task per GPU */ +
            (training ? (n + 4 * in.model.num_layers) * p.pp : 0);
  s.memory_bytes = static_cast<std::uint64_t>(s.tasks) * kWorkloadBytesPerTask;
  if (training && p.pp == 1)  // the micro-batch barrier: n x n dependencies per micro-batch
    s.memory_bytes += static_cast<std::uint64_t>(n * n) * 8 * static_cast<std::uint64_t>(micro_batches);
  return s;
}

void build_workload(const ScenarioInputs& in, const std::vector<LayerCosts>& costs, const WorkloadConfig& config,
                    StreamExecutor& executor) {
  Builder(in, costs, config, executor).build();
}

}  // namespace epsim
