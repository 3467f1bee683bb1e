#include "sim/training.hpp"

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
      out.push_back(std::move(g));
    }
  }
  const LayerPlacement& pl = in.placement[static_cast<std::size_t>(layer)];
  if (m.is_moe_layer(layer) && p.ep > 1 && !pl.slot_expert.empty()) {
    std::map<int, std::vector<int>> holders;  // expert -> stage GPUs holding a replica (distinct)
    for (std::size_t k = 0; k < pl.slot_expert.size(); ++k) {
      int e = pl.slot_expert[k];
      if (e < 0) continue;
      int g = stage * n + static_cast<int>(k) / pl.slots_per_gpu;
      auto& v = holders[e];
      if (v.empty() || v.back() != g) v.push_back(g);
    }
    const double bytes = m.expert_weight_elements() / p.expert_tp * kTrainGradBytesPerParam;
    for (auto& [e, gpus] : holders) {
      if (gpus.size() < 2) continue;
      GradReduction g;
      g.gpus = gpus;
      g.time = Time::from_ps_ceil(coll.cost(CollectiveKind::all_reduce, g.gpus, bytes).time_us * 1e6);
      g.expert = true;
      out.push_back(std::move(g));
    }
  }
  return out;
}

double optimizer_step_bytes(const ScenarioInputs& in, int stage, int stage_gpu) {
  const ParallelConfig& p = in.scenario.parallel;
  const MoeModel& m = in.model;
  const double shard = in.scenario.training.grad_reduce == GradReduce::reduce_scatter ? p.dp : 1;
  const int l0 = stage * m.num_layers / p.pp, l1 = (stage + 1) * m.num_layers / p.pp;
  double params = 0;
  for (int l = l0; l < l1; ++l) {
    params += layer_dense_params(m, l, p.tp) / shard;
    const LayerPlacement& pl = in.placement[static_cast<std::size_t>(l)];
    if (!m.is_moe_layer(l) || pl.slot_expert.empty()) continue;
    int slots = 0;
    if (p.ep > 1) {
      for (int k = 0; k < pl.slots_per_gpu; ++k)
        slots += pl.slot_expert[static_cast<std::size_t>(stage_gpu * pl.slots_per_gpu + k)] >= 0 ? 1 : 0;
    } else {
      slots = m.num_experts;  // ep = 1: every GPU holds all experts, sharded expert_tp ways
    }
    params += slots * m.expert_weight_elements() / p.expert_tp;
  }
  return params * kOptimizerStepBytesPerParam;
}

}  // namespace epsim
