#include "sim/scenario/scenario.hpp"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "comm/link_load.hpp"
#include "placement/plan.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/scenario/calibration.hpp"
#include "sim/compute/gemm_efficiency.hpp"
#include "model/gpu_spec.hpp"
#include "topology/topology_json.hpp"

namespace epsim {

double PhaseConfig::tokens_per_micro_batch() const {
  double total = kind == PhaseKind::decode ? batch : sequence_length * batch;
  return total / micro_batches;
}

ScheduleKind parse_schedule(std::string_view name) {
  if (name == "serial") return ScheduleKind::serial;
  if (name == "overlap") return ScheduleKind::overlap;
  if (name == "two-batch") return ScheduleKind::two_batch;
  throw UsageError(fmt::format("schedule '{}': expected serial, overlap or two-batch", name));
}
std::string_view to_string(ScheduleKind s) {
  switch (s) {
    case ScheduleKind::serial: return "serial";
    case ScheduleKind::overlap: return "overlap";
    case ScheduleKind::two_batch: return "two-batch";
  }
  return "serial";
}
std::string_view to_string(PhaseKind p) {
  switch (p) {
    case PhaseKind::prefill: return "prefill";
    case PhaseKind::decode: return "decode";
    case PhaseKind::training: return "training";
  }
  return "prefill";
}
std::string_view to_string(PipelineSchedule p) { return p == PipelineSchedule::gpipe ? "gpipe" : "1f1b"; }
std::string_view to_string(GradReduce g) { return g == GradReduce::all_reduce ? "all_reduce" : "reduce_scatter"; }

namespace {

void reject_unknown_keys(const JsonCursor& c, const std::set<std::string>& allowed) {
  c.require_object();
  for (auto it = c.node().begin(); it != c.node().end(); ++it)
    if (!allowed.count(it.key()))
      c.at(it.key()).fail(fmt::format("a known field (unknown key '{}')", it.key()));
}

std::filesystem::path resolve(const JsonCursor& c, const std::string& key, const std::filesystem::path& base) {
  if (!c.has(key)) return {};
  std::filesystem::path p = c.at(key).as_string();
  if (p.empty()) c.at(key).fail("a non-empty path");
  return p.is_absolute() ? p : base / p;
}

template <typename T>
T pick(const JsonCursor& c, const std::string& key, T fallback,
       std::initializer_list<std::pair<const char*, T>> names) {
  if (!c.has(key)) return fallback;
  std::string v = c.at(key).as_string();
  std::string list;
  for (const auto& [n, t] : names) {
    if (v == n) return t;
    list += (list.empty() ? "" : ", ") + std::string(n);
  }
  c.at(key).fail("one of " + list);
}

}  // namespace

Scenario scenario_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  reject_unknown_keys(root, {"schema", "name", "description", "topology", "model", "loads", "plan", "calibration", "gemm_efficiency",
                             "parallel", "phase", "schedule", "chunks", "pipeline_schedule", "network", "routing",
                             "gpu", "precision", "placement", "dispatch_bytes_per_element",
                             "combine_bytes_per_element", "training"});
  if (root.at("schema").as_string() != kScenarioSchema) root.at("schema").fail(std::string("\"") + kScenarioSchema + "\"");
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  Scenario s;
  s.file = file;
  s.topology = resolve(root, "topology", base);
  if (s.topology.empty()) root.at("topology");  // throws: missing
  s.model = resolve(root, "model", base);
  if (s.model.empty()) root.at("model");
  s.loads = resolve(root, "loads", base);
  s.plan = resolve(root, "plan", base);
  s.calibration = resolve(root, "calibration", base);
  s.gemm_efficiency = resolve(root, "gemm_efficiency", base);
  if (s.gemm_efficiency.empty()) root.at("gemm_efficiency");

  JsonCursor par = root.at("parallel");
  reject_unknown_keys(par, {"dp", "tp", "pp", "ep", "expert_tp"});
  s.parallel.dp = static_cast<int>(par.int_or("dp", 1, 1, 1 << 20));
  s.parallel.tp = static_cast<int>(par.int_or("tp", 1, 1, 1024));
  s.parallel.pp = static_cast<int>(par.int_or("pp", 1, 1, 1024));
  s.parallel.expert_tp = static_cast<int>(par.int_or("expert_tp", 1, 1, 1024));
  // dp x tp x pp in 64 bits: no layout uses more GPUs than a route table serves (and gpus() stays an int).
  const std::int64_t gpus = std::int64_t{s.parallel.dp} * s.parallel.tp * s.parallel.pp;
  if (gpus > limits::kMaxRoutedGpus)
    par.fail(fmt::format("dp x tp x pp at most {} GPUs (docs/limits.md), found {}", limits::kMaxRoutedGpus, gpus));
  s.parallel.ep = static_cast<int>(par.int_or("ep", s.parallel.dp * s.parallel.tp / s.parallel.expert_tp, 1, 1 << 20));

  JsonCursor ph = root.at("phase");
  s.phase.kind = pick<PhaseKind>(ph, "kind", PhaseKind::prefill,
                                 {{"prefill", PhaseKind::prefill}, {"decode", PhaseKind::decode},
                                  {"training", PhaseKind::training}});
  if (!ph.has("kind")) ph.at("kind");
  s.phase.micro_batches = static_cast<int>(ph.int_or("micro_batches", 1, 1, 1 << 16));
  if (s.phase.kind == PhaseKind::decode) {
    reject_unknown_keys(ph, {"kind", "batch_per_gpu", "context_length", "micro_batches"});
    s.phase.batch = ph.at("batch_per_gpu").as_positive();
    s.phase.context_length = ph.at("context_length").as_positive();
  } else {
    reject_unknown_keys(ph, {"kind", "tokens_per_gpu", "sequence_length", "batch", "micro_batches"});
    if (ph.has("tokens_per_gpu")) {
      double tokens = ph.at("tokens_per_gpu").as_positive();
      s.phase.sequence_length = ph.has("sequence_length") ? ph.at("sequence_length").as_positive() : tokens;
      s.phase.batch = tokens / s.phase.sequence_length;
      if (ph.has("batch")) ph.at("batch").fail("either tokens_per_gpu or batch, not both");
    } else {
      s.phase.sequence_length = ph.at("sequence_length").as_positive();
      s.phase.batch = ph.at("batch").as_positive();
    }
    // Training: tokens_per_gpu / batch are per micro-batch; store the replica's whole batch.
    if (s.phase.kind == PhaseKind::training) s.phase.batch *= s.phase.micro_batches;
  }

  // EP layout (after the phase: training may replicate EP groups inside a stage).
  const int stage_gpus = s.parallel.dp * s.parallel.tp, ep_gpus = s.parallel.ep * s.parallel.expert_tp;
  if (s.phase.kind == PhaseKind::training && ep_gpus != stage_gpus) {
    if (stage_gpus % ep_gpus != 0 || s.parallel.expert_tp != 1)
      par.at("ep").fail(fmt::format("ep dividing dp x tp = {} with expert_tp = 1 (training: dp x tp / ep EP groups "
                                    "per stage replicate the experts), or ep x expert_tp = dp x tp", stage_gpus));
  } else if (ep_gpus != stage_gpus) {
    par.at("ep").fail(fmt::format("ep x expert_tp = dp x tp = {} (EP ranks are the attention GPUs of a stage)", stage_gpus));
  }
  if (s.parallel.expert_tp > 1 && s.parallel.ep > 1)
    par.at("expert_tp").fail("expert_tp = 1 when ep > 1 (expert TP is modelled for ep = 1 only)");

  s.schedule = pick<ScheduleKind>(root, "schedule", ScheduleKind::overlap,
                                  {{"serial", ScheduleKind::serial}, {"overlap", ScheduleKind::overlap},
                                   {"two-batch", ScheduleKind::two_batch}});
  s.chunks = static_cast<int>(root.int_or("chunks", 4, 1, 64));
  s.pipeline = pick<PipelineSchedule>(root, "pipeline_schedule", PipelineSchedule::one_f_one_b,
                                      {{"gpipe", PipelineSchedule::gpipe}, {"1f1b", PipelineSchedule::one_f_one_b}});
  s.network = pick<std::string>(root, "network", "analytical", {{"analytical", "analytical"}, {"flow", "flow"}, {"flow-per-transfer", "flow-per-transfer"}});
  s.routing = pick<RoutingPolicy>(root, "routing", RoutingPolicy::shortest,
                                  {{"shortest", RoutingPolicy::shortest}, {"pxn", RoutingPolicy::pxn}});
  s.gpu = pick<std::string>(root, "gpu", "h100", {{"h100", "h100"}, {"h200", "h200"}, {"b200", "b200"}, {"h800", "h800"}});
  s.precision = pick<Precision>(root, "precision", Precision::fp8, {{"fp8", Precision::fp8}, {"bf16", Precision::bf16}});
  s.dispatch_bytes_per_element = root.number_or("dispatch_bytes_per_element", bytes_per_element(s.precision));
  s.combine_bytes_per_element = root.number_or("combine_bytes_per_element", 2.0);
  if (!(s.dispatch_bytes_per_element > 0)) root.at("dispatch_bytes_per_element").fail("a number > 0");
  if (!(s.combine_bytes_per_element > 0)) root.at("combine_bytes_per_element").fail("a number > 0");
  if (root.has("placement")) {
    JsonCursor pl = root.at("placement");
    reject_unknown_keys(pl, {"algorithm", "redundant"});
    s.placement_algorithm = pl.string_or("algorithm", "greedy");
    auto names = placement_algorithm_names();
    if (std::find(names.begin(), names.end(), s.placement_algorithm) == names.end())
      pl.at("algorithm").fail(fmt::format("one of {}", fmt::join(names, ", ")));
    s.redundant = static_cast<int>(pl.int_or("redundant", 0, 0, 1 << 20));
  }
  if (root.has("training")) {
    JsonCursor tr = root.at("training");
    if (s.phase.kind != PhaseKind::training) tr.fail("no training options unless phase.kind is \"training\"");
    reject_unknown_keys(tr, {"overlap_grad_reduce", "grad_reduce"});
    s.training.overlap_grad_reduce = tr.bool_or("overlap_grad_reduce", true);
    s.training.grad_reduce = pick<GradReduce>(tr, "grad_reduce", GradReduce::all_reduce,
                                              {{"all_reduce", GradReduce::all_reduce},
                                               {"reduce_scatter", GradReduce::reduce_scatter}});
  }
  if (s.phase.kind == PhaseKind::training && s.schedule == ScheduleKind::two_batch)
    root.at("schedule").fail("serial or overlap for training (two-batch pairs forward micro-batches only)");
  if (s.schedule == ScheduleKind::two_batch && s.phase.micro_batches % 2 != 0)
    ph.at("micro_batches").fail("an even number of micro-batches for schedule two-batch");
  return s;
}

Scenario load_scenario(const std::filesystem::path& path) {
  return scenario_from_json(read_json_file(path), path.string());
}

double layer_dense_params(const MoeModel& m, int layer, int tp) {
  double p = attention_weight_elements(m);
  if (m.is_moe_layer(layer))
    p += 3.0 * m.hidden_size * static_cast<double>(m.shared_intermediate_size) * m.num_shared_experts +
         static_cast<double>(m.hidden_size) * m.num_experts;
  else
    p += 3.0 * m.hidden_size * static_cast<double>(m.dense_intermediate_size);
  return p / tp;
}

namespace {

// Layers of the largest stage and how many of them are MoE layers (the MoE-heaviest window).
std::pair<int, int> stage_layers(const MoeModel& m, int pp) {
  const int layers_per_stage = (m.num_layers + pp - 1) / pp;
  int moe_layers = 0;
  for (int l = 0; l < std::min(layers_per_stage, m.num_layers); ++l) moe_layers += m.is_moe_layer(l) ? 1 : 0;
  moe_layers = std::max(moe_layers, std::min(m.num_moe_layers(), layers_per_stage));
  return {layers_per_stage, moe_layers};
}

}  // namespace

GpuParams gpu_params(const Scenario& s, const MoeModel& m, int slots_per_gpu) {
  const ParallelConfig& p = s.parallel;
  auto [layers_per_stage, moe_layers] = stage_layers(m, p.pp);
  const int dense_layers = layers_per_stage - moe_layers;
  GpuParams g;
  g.expert = static_cast<double>(moe_layers) * slots_per_gpu * m.expert_weight_elements() / p.expert_tp;
  double shared = 3.0 * m.hidden_size * static_cast<double>(m.shared_intermediate_size) * m.num_shared_experts;
  double dense = 3.0 * m.hidden_size * static_cast<double>(m.dense_intermediate_size);
  double gate = static_cast<double>(m.hidden_size) * m.num_experts;
  g.dense = (layers_per_stage * attention_weight_elements(m) + moe_layers * (shared + gate) + dense_layers * dense) / p.tp;
  return g;
}

MemoryEstimate estimate_memory(const Scenario& s, const MoeModel& m, int slots_per_gpu) {
  const ParallelConfig& p = s.parallel;
  const bool training = s.phase.kind == PhaseKind::training;
  const double wb = training ? kTrainWeightBytesPerParam : bytes_per_element(s.precision);
  auto [layers_per_stage, moe_layers] = stage_layers(m, p.pp);
  const GpuParams params = gpu_params(s, m, slots_per_gpu);
  MemoryEstimate e;
  e.expert_weights = params.expert * wb;
  e.other_weights = params.dense * wb;
  double tokens = s.phase.tokens_per_micro_batch();
  if (training) {
    e.gradients = (params.expert + params.dense) * kTrainGradBytesPerParam;
    // reduce_scatter shards the dense parameters' optimizer states over the dp replicas and the
    // experts' over the edp EP groups.
    const bool scatter = s.training.grad_reduce == GradReduce::reduce_scatter;
    e.optimizer_states = (params.expert / (scatter ? p.edp() : 1) + params.dense / (scatter ? p.dp : 1)) *
                         kOptimizerStateBytesPerParam;
    // Activations kept for backward, BF16, per token of a GPU (tokens / tp) and layer: 8 x hidden
    // (norm inputs, QKV, attention output, residuals; an assumption, no recomputation) and, for a
    // MoE layer, the average routed token's top_k dispatched copies and its three SwiGLU
    // intermediates (top_k x (hidden + 3 x moe_intermediate)). In flight: m micro-batches (GPipe) or
    // min(m, pp) (1F1B, stage 0).
    const double per_token_layer =
        2.0 * (8.0 * m.hidden_size) * layers_per_stage +
        2.0 * m.top_k * (m.hidden_size + 3.0 * m.moe_intermediate_size / p.expert_tp) * moe_layers;
    const double in_flight = s.pipeline == PipelineSchedule::gpipe ? s.phase.micro_batches
                                                                   : std::min(s.phase.micro_batches, p.pp);
    e.activations = in_flight * tokens / p.tp * per_token_layer;
    return e;
  }
  const double kv_per_token = kv_cache_bytes_per_token(m, 2.0) * layers_per_stage / p.tp;
  if (s.phase.kind == PhaseKind::decode)
    e.kv_cache = s.phase.batch * (s.phase.context_length + 1) * kv_per_token;
  else
    e.kv_cache = s.phase.sequence_length * s.phase.batch * kv_per_token;
  // Activations in flight: a micro-batch's hidden states (BF16) x (top_k dispatched copies + 4 buffers).
  double per_layer = tokens * m.hidden_size * 2.0 * (m.top_k + 4);
  e.activations = 2 * per_layer;
  return e;
}

}  // namespace epsim
