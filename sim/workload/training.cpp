#include "sim/workload/training.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace epsim {

std::vector<PipelineSlot> pipeline_order(PipelineSchedule schedule, int pp, int stage, int m) {
  if (pp < 1 || m < 1 || stage < 0 || stage >= pp)
    throw std::invalid_argument("pipeline_order: need pp >= 1, micro_batches >= 1, 0 <= stage < pp");
  std::vector<PipelineSlot> out;
  out.reserve(2 * static_cast<std::size_t>(m));
  if (schedule == PipelineSchedule::gpipe) {
    for (int i = 0; i < m; ++i) out.push_back({i, false});
    for (int i = 0; i < m; ++i) out.push_back({i, true});
    return out;
  }
  const int warmup = std::min(pp - 1 - stage, m);
  for (int i = 0; i < warmup; ++i) out.push_back({i, false});
  for (int i = 0; i < m - warmup; ++i) {
    out.push_back({warmup + i, false});
    out.push_back({i, true});
  }
  for (int i = m - warmup; i < m; ++i) out.push_back({i, true});
  return out;
}

namespace {
void set_ring_bytes(GradReduction& g, double bytes, bool scatter) {
  g.bytes = bytes;
  g.reduce_phases = scatter ? 1 : 2;
}
}  // namespace

std::vector<Transfer> reduction_traffic(const Topology& topology, const std::vector<int>& gpus, double bytes,
                                        int phases) {
  if (!(bytes >= 0) || phases < 1) throw std::invalid_argument("reduction_traffic: need bytes >= 0 and phases >= 1");
  for (int g : gpus)
    if (g < 0 || g >= topology.num_gpus()) throw std::invalid_argument("reduction_traffic: GPU rank out of range");
  std::vector<Transfer> out;
  if (gpus.size() < 2 || bytes == 0) return out;
  // Members per host, hosts in order of first appearance (a GPU without a host is its own host).
  std::vector<std::vector<int>> hosts;
  std::map<int, std::size_t> host_index;
  for (int g : gpus) {
    const int h = topology.gpu_host(g);
    const int key = h >= 0 ? h : -1 - g;
    auto [it, added] = host_index.emplace(key, hosts.size());
    if (added) hosts.emplace_back();
    hosts[it->second].push_back(g);
  }
  std::map<std::pair<int, int>, double> sent;
  const double num_hosts = static_cast<double>(hosts.size());
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    const auto& members = hosts[h];
    const double share = bytes / static_cast<double>(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      for (std::size_t j = 0; j < members.size(); ++j)
        if (i != j) sent[{members[i], members[j]}] += phases * share;
      if (hosts.size() > 1) {
        const auto& next = hosts[(h + 1) % hosts.size()];
        sent[{members[i], next[i % next.size()]}] += phases * (num_hosts - 1) / num_hosts * share;
      }
    }
  }
  out.reserve(sent.size());
  for (const auto& [ends, b] : sent) out.push_back(Transfer{ends.first, ends.second, b});
  return out;
}

std::vector<GradReduction> layer_grad_reductions(const ScenarioInputs& in, const CollectiveModel& coll, int layer,
                                                 int stage) {
  const Scenario& s = in.scenario;
  const ParallelConfig& p = s.parallel;
  const MoeModel& m = in.model;
  const int n = p.gpus_per_stage();
  const bool scatter = s.training.grad_reduce == GradReduce::reduce_scatter;
  std::vector<GradReduction> out;
  if (p.dp > 1) {
    const double bytes = layer_dense_params(m, layer, p.tp) * kTrainGradBytesPerParam;
    for (int j = 0; j < p.tp; ++j) {
      GradReduction g;
      for (int r = 0; r < p.dp; ++r) g.gpus.push_back(stage * n + r * p.tp + j);
      if (scatter) {
        g.time = Time::from_ps_ceil(coll.cost(CollectiveKind::reduce_scatter, g.gpus, bytes).time_us * 1e6);
        g.gather_time = Time::from_ps_ceil(coll.cost(CollectiveKind::all_gather, g.gpus, bytes).time_us * 1e6);
      } else {
        g.time = Time::from_ps_ceil(coll.cost(CollectiveKind::all_reduce, g.gpus, bytes).time_us * 1e6);
      }
      set_ring_bytes(g, bytes, scatter);
      out.push_back(std::move(g));
    }
  }
  const LayerPlacement& pl = in.placement[static_cast<std::size_t>(layer)];
  if (!m.is_moe_layer(layer) || pl.slot_expert.empty()) return out;
  const double expert_bytes = m.expert_weight_elements() / p.expert_tp * kTrainGradBytesPerParam;
  const int E = p.edp();
  auto us = [](const CollectiveResult& c) { return Time::from_ps_ceil(c.time_us * 1e6); };
  // Expert-data-parallel groups: EP rank r of every EP group holds the same slots; its gradients
  // (all its non-empty slots at once, as one bucket) are reduced over those E GPUs.
  if (E > 1) {
    for (int r = 0; r < std::max(1, p.ep); ++r) {
      int slots = 0;
      if (p.ep > 1) {
        for (int k = 0; k < pl.slots_per_gpu; ++k)
          slots += pl.slot_expert[static_cast<std::size_t>(r * pl.slots_per_gpu + k)] >= 0 ? 1 : 0;
      } else {
        slots = m.num_experts;
      }
      if (slots == 0) continue;
      GradReduction g;
      for (int grp = 0; grp < E; ++grp) g.gpus.push_back(stage * n + grp * p.ep + r);
      const double bytes = slots * expert_bytes;
      if (scatter) {
        g.time = us(coll.cost(CollectiveKind::reduce_scatter, g.gpus, bytes));
        g.gather_time = us(coll.cost(CollectiveKind::all_gather, g.gpus, bytes));
      } else {
        g.time = us(coll.cost(CollectiveKind::all_reduce, g.gpus, bytes));
      }
      set_ring_bytes(g, bytes, scatter);
      g.expert = true;
      out.push_back(std::move(g));
    }
  }
  // Replicas of one expert on several ranks of an EP group (redundant slots): an all-reduce among
  // them in every group (after the EDP reduction above, this sums over all copies).
  if (p.ep > 1) {
    std::map<int, std::vector<int>> holders;  // expert -> EP ranks holding a replica (distinct)
    for (std::size_t k = 0; k < pl.slot_expert.size(); ++k) {
      int e = pl.slot_expert[k];
      if (e < 0) continue;
      int r = static_cast<int>(k) / pl.slots_per_gpu;
      auto& v = holders[e];
      if (v.empty() || v.back() != r) v.push_back(r);
    }
    for (auto& [e, ranks] : holders) {
      if (ranks.size() < 2) continue;
      for (int grp = 0; grp < E; ++grp) {
        GradReduction g;
        for (int r : ranks) g.gpus.push_back(stage * n + grp * p.ep + r);
        g.time = us(coll.cost(CollectiveKind::all_reduce, g.gpus, expert_bytes));
        set_ring_bytes(g, expert_bytes, false);
        g.expert = true;
        out.push_back(std::move(g));
      }
    }
  }
  return out;
}

double optimizer_step_bytes(const ScenarioInputs& in, int stage, int stage_gpu) {
  const ParallelConfig& p = in.scenario.parallel;
  const MoeModel& m = in.model;
  const bool scatter = in.scenario.training.grad_reduce == GradReduce::reduce_scatter;
  const double shard = scatter ? p.dp : 1, expert_shard = scatter ? p.edp() : 1;
  const int rank = p.ep > 1 ? stage_gpu % p.ep : 0;  // EP rank of the GPU in its EP group
  const int l0 = stage * m.num_layers / p.pp, l1 = (stage + 1) * m.num_layers / p.pp;
  double params = 0;
  for (int l = l0; l < l1; ++l) {
    params += layer_dense_params(m, l, p.tp) / shard;
    const LayerPlacement& pl = in.placement[static_cast<std::size_t>(l)];
    if (!m.is_moe_layer(l) || pl.slot_expert.empty()) continue;
    int slots = 0;
    if (p.ep > 1) {
      for (int k = 0; k < pl.slots_per_gpu; ++k)
        slots += pl.slot_expert[static_cast<std::size_t>(rank * pl.slots_per_gpu + k)] >= 0 ? 1 : 0;
    } else {
      slots = m.num_experts;  // ep = 1: every GPU holds all experts, sharded expert_tp ways
    }
    params += slots * m.expert_weight_elements() / p.expert_tp / expert_shard;
  }
  return params * kOptimizerStepBytesPerParam;
}

}  // namespace epsim
