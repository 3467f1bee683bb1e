#include "sim/scenario/scenario.hpp"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "common/names.hpp"
#include "sim/scenario/replica_lengths.hpp"
#include "sim/scenario/scenario_params.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "comm/link_load.hpp"
#include "placement/plan.hpp"
#include "sim/compute/attention_cost.hpp"
#include "comm/calibration.hpp"
#include "sim/compute/gemm_efficiency.hpp"
#include "model/gpu_spec.hpp"
#include "topology/topology_json.hpp"

namespace epsim {

double PhaseConfig::tokens_per_micro_batch() const {
  double total = kind == PhaseKind::decode ? batch : sequence_length * batch;
  return total / micro_batches;
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"serial", "overlap", "two-batch"};
  return names;
}
const std::vector<std::string>& phase_names() {
  static const std::vector<std::string> names = {"prefill", "decode", "training"};
  return names;
}
const std::vector<std::string>& pipeline_schedule_names() {
  static const std::vector<std::string> names = {"gpipe", "1f1b"};
  return names;
}
const std::vector<std::string>& grad_reduce_names() {
  static const std::vector<std::string> names = {"all_reduce", "reduce_scatter"};
  return names;
}

ScheduleKind parse_schedule(std::string_view name) {
  try {
    return enum_from_name<ScheduleKind>(name, schedule_names(), "schedule");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}
std::string_view to_string(ScheduleKind s) { return name_of(s, schedule_names()); }
std::string_view to_string(PhaseKind p) { return name_of(p, phase_names()); }
std::string_view to_string(PipelineSchedule p) { return name_of(p, pipeline_schedule_names()); }
std::string_view to_string(GradReduce g) { return name_of(g, grad_reduce_names()); }

namespace {

// A path field resolved against the scenario's folder (absolute paths stay); empty when absent.
std::filesystem::path resolve(const Json& doc, const char* pointer, const std::filesystem::path& base) {
  const Json::json_pointer jp{std::string(pointer)};
  if (!doc.contains(jp) || !doc.at(jp).is_string()) return {};
  std::filesystem::path p = doc.at(jp).get<std::string>();
  return p.is_absolute() ? p : base / p;
}

}  // namespace

Scenario scenario_from_json(const Json& doc, const std::string& file, const std::string& at) {
  const ParamTable table = scenario_params();
  check_document(doc, file, table, at);  // types, names, ranges, unknown keys, conditional fields
  auto get = [&](const char* pointer) { return param_or_default(doc, table, pointer); };
  JsonCursor root(doc, file, at);
  const std::filesystem::path base = at.empty() ? std::filesystem::path(file).parent_path() : std::filesystem::path();
  Scenario s;
  s.file = file;
  s.topology = resolve(doc, "/topology", base);
  s.model = resolve(doc, "/model", base);
  s.loads = resolve(doc, "/loads", base);
  s.plan = resolve(doc, "/plan", base);
  s.calibration = resolve(doc, "/calibration", base);
  s.gemm_efficiency = resolve(doc, "/gemm_efficiency", base);

  ParallelConfig& p = s.parallel;
  p.dp = get("/parallel/dp").get<int>();
  p.tp = get("/parallel/tp").get<int>();
  p.pp = get("/parallel/pp").get<int>();
  p.expert_tp = get("/parallel/expert_tp").get<int>();
  // dp x tp x pp in 64 bits: no layout uses more GPUs than a route table serves (and gpus() stays an int).
  const std::int64_t gpus = std::int64_t{p.dp} * p.tp * p.pp;
  if (gpus > limits::kMaxRoutedGpus)
    root.at("parallel").fail(fmt::format("dp x tp x pp at most {} GPUs (docs/limits.md), found {}", limits::kMaxRoutedGpus, gpus));
  const Json ep = get("/parallel/ep");
  p.ep = ep.is_null() ? p.dp * p.tp / p.expert_tp : ep.get<int>();
  if (doc.at("topology").is_object()) s.cluster = cluster_from_json(doc.at("topology"), static_cast<int>(gpus));

  JsonCursor ph = root.at("phase");
  s.phase.kind = enum_from_name<PhaseKind>(get("/phase/kind").get<std::string>(), phase_names(), "phase");
  s.phase.micro_batches = get("/phase/micro_batches").get<int>();
  if (s.phase.kind == PhaseKind::decode) {
    s.phase.batch = ph.at("batch_per_gpu").as_positive();  // required for decode
    s.phase.context_length = ph.at("context_length").as_positive();
  } else {
    if (ph.has("tokens_per_gpu")) {
      const double tokens = ph.at("tokens_per_gpu").as_positive();
      if (ph.has("batch")) ph.at("batch").fail("either tokens_per_gpu or batch, not both");
      s.phase.sequence_length = ph.has("sequence_length") ? ph.at("sequence_length").as_positive() : tokens;
      // Whole sequences: a batch of less than one (a chunk of a longer prompt, chunked prefill) would
      // price its attention as a short sequence's (the time fell as the sequence grew).
      if (s.phase.sequence_length > tokens)
        ph.at("sequence_length")
            .fail(fmt::format("at most tokens_per_gpu ({:g}): the batch holds whole sequences (a chunk of a longer "
                              "prompt, chunked prefill, is not modelled)",
                              tokens));
      s.phase.batch = tokens / s.phase.sequence_length;
    } else {
      if (!ph.has("sequence_length") && !ph.has("batch")) ph.at("tokens_per_gpu");  // throws: missing
      s.phase.sequence_length = ph.at("sequence_length").as_positive();
      s.phase.batch = ph.at("batch").as_positive();
    }
    // Training: tokens_per_gpu / batch are per micro-batch; store the replica's whole batch.
    if (s.phase.kind == PhaseKind::training) s.phase.batch *= s.phase.micro_batches;
  }

  // EP layout (after the phase: training may replicate EP groups inside a stage).
  JsonCursor par = root.has("parallel") ? root.at("parallel") : JsonCursor(doc, file, at + "/parallel");
  auto fail_ep = [&](const std::string& expected) {
    if (root.has("parallel") && par.has("ep")) par.at("ep").fail(expected);
    throw InputError(file, at + "/parallel/ep", expected);
  };
  const int stage_gpus = p.dp * p.tp, ep_gpus = p.ep * p.expert_tp;
  if (s.phase.kind == PhaseKind::training && ep_gpus != stage_gpus) {
    if (stage_gpus % ep_gpus != 0 || p.expert_tp != 1)
      fail_ep(fmt::format("ep dividing dp x tp = {} with expert_tp = 1 (training: dp x tp / ep EP groups "
                          "per stage replicate the experts), or ep x expert_tp = dp x tp", stage_gpus));
  } else if (ep_gpus != stage_gpus) {
    fail_ep(fmt::format("ep x expert_tp = dp x tp = {} (EP ranks are the attention GPUs of a stage)", stage_gpus));
  }
  if (p.expert_tp > 1 && p.ep > 1)
    par.at("expert_tp").fail("expert_tp = 1 when ep > 1 (expert TP is modelled for ep = 1 only)");

  s.schedule = parse_schedule(get("/schedule").get<std::string>());
  s.chunks = get("/chunks").get<int>();
  s.pipeline = enum_from_name<PipelineSchedule>(get("/pipeline_schedule").get<std::string>(), pipeline_schedule_names(),
                                                "pipeline schedule");
  s.network = get("/network").get<std::string>();
  s.routing = parse_routing_policy(get("/routing").get<std::string>());
  s.ecmp = parse_ecmp_mode(get("/ecmp").get<std::string>());
  if (const Json& k = get("/exchange_kernel"); k.is_string()) s.exchange_kernel = parse_exchange_kernel(k.get<std::string>());
  s.gpu = doc.contains("gpu") ? doc.at("gpu").get<std::string>()
          : s.cluster       ? s.cluster->gpu_model
                            : get("/gpu").get<std::string>();
  s.precision = parse_precision(get("/precision").get<std::string>());
  const Json dispatch = get("/dispatch_bytes_per_element");
  s.dispatch_bytes_per_element = !dispatch.is_null()             ? dispatch.get<double>()
                                 : s.precision == Precision::fp8 ? kFp8DispatchBytesPerElement
                                                                 : kBf16BytesPerElement;
  s.combine_bytes_per_element = get("/combine_bytes_per_element").get<double>();
  s.nccl_buffsize_bytes = get("/nccl_buffsize_bytes").get<double>();
  s.placement_algorithm = get("/placement/algorithm").get<std::string>();
  s.redundant = get("/placement/redundant").get<int>();
  s.objective = parse_objective(get("/placement/objective").get<std::string>());
  s.seed = get("/placement/seed").get<std::uint64_t>();
  if (const Json& c = get("/placement/replica_choice"); c.is_string())
    s.replica_choice = parse_replica_choice(c.get<std::string>());
  s.serving.kernel_tables = resolve(doc, "/kernel_tables", base);
  s.serving.kernel_tables_off = get("/compute").get<std::string>() == "roofline";
  s.serving.attention_backend = get("/attention_backend").get<std::string>();
  s.serving.mtp_draft_tokens = get("/mtp/draft_tokens").get<int>();
  s.serving.mtp_acceptance_rate = get("/mtp/acceptance_rate").get<double>();
  s.serving.decode_step_overhead_us = get("/decode_step_overhead_us").get<double>();
  if (doc.contains("replica_lengths")) {
    JsonCursor rl = root.at("replica_lengths");
    if (rl.has("lengths") == rl.has("distribution"))
      rl.fail("either lengths (one per DP replica) or distribution, not both");
    if (rl.has("lengths")) {
      for (const char* key : {"cv", "seed"})
        if (rl.has(key)) rl.at(key).fail("no cv or seed with explicit lengths (they shape a drawn distribution)");
      if (rl.at("lengths").node().size() != static_cast<std::size_t>(p.dp))
        rl.at("lengths").fail(fmt::format("one length per DP replica: {} (dp), found {}", p.dp, rl.at("lengths").node().size()));
      s.serving.replica_lengths = rl.at("lengths").node().get<std::vector<double>>();
    } else {
      const auto dist = enum_from_name<LengthDistribution>(get("/replica_lengths/distribution").get<std::string>(),
                                                           length_distribution_names(), "length distribution");
      const double cv = get("/replica_lengths/cv").get<double>();
      if (dist == LengthDistribution::uniform && !(cv < kMaxUniformCv))
        rl.at("cv").fail("a cv below 1/sqrt(3) = 0.577 for uniform lengths (lengths stay positive)");
      const double mean = s.phase.kind == PhaseKind::decode ? s.phase.context_length : s.phase.sequence_length;
      s.serving.replica_lengths =
          draw_replica_lengths(dist, p.dp, mean, cv, get("/replica_lengths/seed").get<std::uint64_t>());
    }
  }
  if (doc.contains("disaggregation")) {
    DisaggregationConfig d;
    d.decode_scenario = resolve(doc, "/disaggregation/decode_scenario", base);
    d.output_tokens = get("/disaggregation/output_tokens").get<double>();
    d.kv_bytes_per_element = get("/disaggregation/kv_bytes_per_element").get<double>();
    s.disaggregation = d;
  }
  s.training.overlap_grad_reduce = get("/training/overlap_grad_reduce").get<bool>();
  s.training.grad_reduce =
      enum_from_name<GradReduce>(get("/training/grad_reduce").get<std::string>(), grad_reduce_names(), "grad_reduce");
  if (s.phase.kind == PhaseKind::training && s.schedule == ScheduleKind::two_batch)
    root.at("schedule").fail("serial or overlap for training (two-batch pairs forward micro-batches only)");
  if (s.schedule == ScheduleKind::two_batch && s.phase.micro_batches % 2 != 0) {
    const std::string expected = "an even number of micro-batches for schedule two-batch";
    if (ph.has("micro_batches")) ph.at("micro_batches").fail(expected);
    throw InputError(file, at + "/phase/micro_batches", expected);
  }
  return s;
}

TopologyVariant topology_variant(const Scenario& s) {
  TopologyVariant v;
  v.file = s.topology.string();
  if (s.cluster) v.dgx = *s.cluster;
  v.routing = s.routing;
  v.ecmp = s.ecmp;
  return v;
}

PlanSettings plan_settings(const Scenario& s) {
  PlanSettings ps;
  ps.ep = s.parallel.ep;
  ps.redundant = s.redundant;
  ps.algorithm = s.placement_algorithm;
  ps.objective = s.objective;
  ps.seed = s.seed;
  ps.replica_choice = s.replica_choice.value_or(ReplicaChoice::rule);
  ps.tokens_per_gpu = s.phase.tokens_per_micro_batch() * s.parallel.expert_tp / s.parallel.tp;
  ps.dispatch_bytes_per_element = s.dispatch_bytes_per_element;
  ps.combine_bytes_per_element = s.combine_bytes_per_element;
  return ps;
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
  if (s.phase.kind == PhaseKind::decode) {
    // The busiest GPU holds the longest replica's caches.
    double context = s.serving.replica_lengths.empty() ? s.phase.context_length : 0;
    for (double l : s.serving.replica_lengths) context = std::max(context, l);
    e.kv_cache = s.phase.batch * (context + 1) * kv_per_token;
  }
  else
    e.kv_cache = s.phase.sequence_length * s.phase.batch * kv_per_token;
  // Activations in flight: a micro-batch's hidden states (BF16) x (top_k dispatched copies + 4 buffers).
  double per_layer = tokens * m.hidden_size * 2.0 * (m.top_k + 4);
  e.activations = 2 * per_layer;
  return e;
}

}  // namespace epsim
