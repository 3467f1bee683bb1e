#include "sweep/sim_point_scenario.hpp"

#include <algorithm>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "sim/compute/compute_model.hpp"

namespace epsim {

namespace {

// The scenario fields the simulate evaluator reads; anything else is a typo and is rejected.
const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> k = {
      "schema", "name", "description", "model", "loads", "gemm_efficiency", "calibration", "phase",
      "tokens_per_gpu", "batch_per_gpu", "sequence_length", "context_length", "micro_batches", "chunks",
      "schedule", "network", "gpu", "precision", "dispatch_bytes_per_element", "combine_bytes_per_element",
      "parallel", "placement", "topology"};
  return k;
}

// Value of `key` among `names` (the cursor fails naming them otherwise).
template <typename T>
T choose(const JsonCursor& c, const char* key, T fallback, std::initializer_list<std::pair<const char*, T>> names) {
  if (!c.has(key)) return fallback;
  const std::string v = c.at(key).as_string();
  std::vector<std::string> listed;
  for (const auto& [n, t] : names) {
    if (v == n) return t;
    listed.emplace_back(n);
  }
  c.at(key).fail(fmt::format("one of {}", fmt::join(listed, ", ")));
}

}  // namespace

SimPoint sim_point_from_sweep(const SweepPoint& point) {
  const std::string file = point_scenario_label(point);
  JsonCursor s(point.scenario, file);
  s.require_object();
  for (const auto& [key, value] : point.scenario.items())
    if (std::find(known_fields().begin(), known_fields().end(), key) == known_fields().end())
      s.at(key).fail(fmt::format("a scenario field the simulate evaluator reads: {}", fmt::join(known_fields(), ", ")));
  SimPoint out;
  Scenario& sc = out.scenario;
  sc.file = file;
  if (!s.has("model")) s.fail("a \"model\" path");
  if (!s.has("gemm_efficiency")) s.fail("a \"gemm_efficiency\" path (DeepGEMM efficiency CSV) for the simulate evaluator");
  sc.model = s.at("model").as_string();
  sc.gemm_efficiency = s.at("gemm_efficiency").as_string();
  if (!s.has("loads")) s.fail("a \"loads\" path (expert loads, SGLang logical_count format)");
  sc.loads = s.at("loads").as_string();
  if (s.has("calibration")) sc.calibration = s.at("calibration").as_string();

  // Layout.
  if (!s.has("parallel")) s.fail("a \"parallel\" object");
  JsonCursor par = s.at("parallel");
  par.require_object();
  out.layout = par.string_or("layout", "ep");
  static const std::regex baseline("tp([0-9]+)xpp([0-9]+)");
  std::smatch m;
  ParallelConfig& p = sc.parallel;
  if (out.layout == "ep") {
    if (!par.has("ep")) par.fail("an \"ep\" size");
    p.ep = static_cast<int>(par.at("ep").as_int(1, 1 << 20));
    p.dp = p.ep;
  } else if (std::regex_match(out.layout, m, baseline) && m[1].length() <= 4 && m[2].length() <= 4 &&
             std::stoi(m[1].str()) >= 1 && std::stoi(m[2].str()) >= 1) {
    p.tp = std::stoi(m[1].str());
    p.pp = std::stoi(m[2].str());
    p.expert_tp = p.tp;
  } else {
    par.at("layout").fail("\"ep\" or \"tp<T>xpp<P>\" with T, P >= 1");
  }
  sc.redundant = static_cast<int>(par.int_or("redundant", 0, 0, 1 << 20));
  const int replica_gpus = p.tp * p.pp;

  // Placement.
  if (s.has("placement")) {
    JsonCursor pl = s.at("placement");
    pl.require_object();
    sc.placement_algorithm = pl.string_or("algorithm", sc.placement_algorithm);
    auto names = placement_algorithm_names();
    if (std::find(names.begin(), names.end(), sc.placement_algorithm) == names.end())
      pl.at("algorithm").fail(fmt::format("one of {}", fmt::join(names, ", ")));
    out.objective = choose<ObjectiveKind>(pl, "objective", ObjectiveKind::link,
                                          {{"link", ObjectiveKind::link}, {"gpu", ObjectiveKind::gpu},
                                           {"balanced", ObjectiveKind::balanced}});
    out.seed = static_cast<std::uint64_t>(pl.int_or("seed", 1, 0, INT64_MAX));
  }

  // Phase and work per GPU.
  const std::string phase = s.string_or("phase", "prefill");
  if (phase != "prefill" && phase != "decode" && phase != "train") s.at("phase").fail("prefill, decode or train");
  const double tokens = s.has("tokens_per_gpu") ? s.at("tokens_per_gpu").as_non_negative() : 4096.0;
  const double batch_per_gpu = s.has("batch_per_gpu") ? static_cast<double>(s.at("batch_per_gpu").as_int(1, 1 << 24)) : 0.0;
  PhaseConfig& ph = sc.phase;
  ph.micro_batches = static_cast<int>(s.int_or("micro_batches", 2 * p.pp, 1, 4096));
  if (phase == "decode") {
    ph.kind = PhaseKind::decode;
    if (!s.has("context_length")) s.fail("a \"context_length\" (tokens in the KV cache) for decode");
    ph.context_length = s.at("context_length").as_positive();
    ph.batch = (batch_per_gpu > 0 ? batch_per_gpu : tokens) * replica_gpus;
    if (ph.batch <= 0) out.skipped_reason = "decode with 0 sequences per GPU (tokens_per_gpu 0, no batch_per_gpu)";
  } else {
    // Prefill, or training (forward + backward of every micro-batch; tokens_per_gpu per micro-batch).
    ph.kind = phase == "train" ? PhaseKind::training : PhaseKind::prefill;
    if (tokens <= 0) out.skipped_reason = phase + " with tokens_per_gpu 0: the simulator needs a token count";
    ph.sequence_length = batch_per_gpu > 0 ? tokens / batch_per_gpu
                         : s.has("sequence_length") ? s.at("sequence_length").as_positive()
                                                    : tokens;
    ph.batch = ph.sequence_length > 0 ? tokens * replica_gpus / ph.sequence_length : 0;
    // The simulator holds a training replica's whole batch: all of its micro-batches.
    if (ph.kind == PhaseKind::training) ph.batch *= ph.micro_batches;
  }

  sc.schedule = choose<ScheduleKind>(s, "schedule", ScheduleKind::overlap,
                                     {{"serial", ScheduleKind::serial}, {"overlap", ScheduleKind::overlap},
                                      {"two-batch", ScheduleKind::two_batch}});
  if (out.skipped_reason.empty() && sc.schedule == ScheduleKind::two_batch && ph.kind == PhaseKind::training)
    out.skipped_reason = "schedule two-batch is for inference: training pairs forward and backward, use serial or overlap";
  if (out.skipped_reason.empty() && sc.schedule == ScheduleKind::two_batch && ph.micro_batches % 2 != 0)
    out.skipped_reason = fmt::format("schedule two-batch needs an even number of micro-batches, not {}", ph.micro_batches);
  sc.chunks = static_cast<int>(s.int_or("chunks", 4, 1, 64));
  sc.network = choose<std::string>(s, "network", "analytical", {{"analytical", "analytical"}, {"flow", "flow"}, {"flow-per-transfer", "flow-per-transfer"}});
  sc.precision = choose<Precision>(s, "precision", Precision::fp8, {{"fp8", Precision::fp8}, {"bf16", Precision::bf16}});
  sc.dispatch_bytes_per_element = bytes_per_element(sc.precision);
  if (s.has("dispatch_bytes_per_element")) sc.dispatch_bytes_per_element = s.at("dispatch_bytes_per_element").as_positive();
  if (s.has("combine_bytes_per_element")) sc.combine_bytes_per_element = s.at("combine_bytes_per_element").as_positive();

  // Cluster: just enough nodes for dp x tp x pp GPUs unless given.
  if (!s.has("topology")) s.fail("a \"topology\" object");
  out.topology = topology_variant_from_json(s.at("topology"), p.gpus());
  sc.routing = out.topology.routing;
  if (!out.topology.file.empty()) sc.topology = out.topology.file;
  const std::string gpu_default = out.topology.file.empty() ? out.topology.dgx.gpu_model : std::string("h100");
  static const std::vector<std::string> gpus = {"h100", "h200", "b200", "h800"};
  sc.gpu = s.string_or("gpu", gpu_default);
  if (std::find(gpus.begin(), gpus.end(), sc.gpu) == gpus.end()) {
    if (s.has("gpu")) s.at("gpu").fail("h100, h200, b200 or h800");
    s.at("topology").at("gpu_model").fail("h100, h200, b200 or h800 (or a \"gpu\" field naming the simulated GPU)");
  }
  return out;
}

}  // namespace epsim
