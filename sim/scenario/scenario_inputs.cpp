// prepare_scenario: load the files a scenario names, plan the placement, validate the whole.
#include "comm/token_router.hpp"
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "comm/link_load.hpp"
#include "placement/plan.hpp"
#include "placement/plan_reader.hpp"
#include "comm/calibration.hpp"
#include "sim/compute/gemm_efficiency.hpp"
#include "model/gpu_spec.hpp"
#include "sim/scenario/scenario.hpp"
#include "topology/topology_json.hpp"

namespace epsim {

namespace {

// named_by for a file a scenario field names: "(the file S names at /calibration)", or, when a
// command-line flag set the field, "(given by --calibration on the command line)".
template <class F>
auto named_by_scenario(const Scenario& s, const std::string& key, F&& load) {
  const auto flag = s.set_by.find(key);
  if (flag == s.set_by.end()) return named_by(s.file, key, std::forward<F>(load));
  try {
    return load();
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (given by " + flag->second + " on the command line)");
  }
}

}  // namespace

namespace {

ExpertLoads uniform_loads(const MoeModel& m) {
  ExpertLoads l;
  l.source = "uniform";
  l.count.assign(static_cast<std::size_t>(m.num_layers), std::vector<double>(static_cast<std::size_t>(m.num_experts), 0.0));
  for (int layer = 0; layer < m.num_layers; ++layer)
    if (m.is_moe_layer(layer)) std::fill(l.count[static_cast<std::size_t>(layer)].begin(), l.count[static_cast<std::size_t>(layer)].end(), 1.0);
  return l;
}

// Placements from plan.json (placement/plan_reader.hpp); its settings.ep must equal the scenario's EP.
PlanFile read_plan(const std::filesystem::path& path, const MoeModel& m, int ep) {
  return read_plan_file(path, m, ep, fmt::format("the scenario's ep ({})", ep));
}

}  // namespace

ScenarioInputs prepare_scenario(const Scenario& s) { return prepare_scenario(s, SharedScenarioParts{}); }

ScenarioInputs prepare_scenario(const Scenario& s, const SharedScenarioParts& parts) {
  const std::string& f = s.file;
  const ParallelConfig& p = s.parallel;
  auto topology = parts.topology ? parts.topology : named_by_scenario(s, "/topology", [&] {
    return std::make_shared<const Topology>(build_topology(topology_variant(s)));
  });
  MoeModel model = parts.model ? *parts.model : named_by_scenario(s, "/model", [&] { return load_moe_model(s.model); });
  if (p.gpus() > topology->num_gpus())
    throw InputError(f, "/parallel", fmt::format("dp x tp x pp = {} x {} x {} = {} GPUs at most the {} GPUs of {}", p.dp,
                                                 p.tp, p.pp, p.gpus(), topology->num_gpus(),
                                                 s.topology.empty() ? topology->name : s.topology.string()));
  if (p.ep * p.expert_tp > p.gpus_per_stage() || p.gpus_per_stage() % (p.ep * p.expert_tp) != 0 ||
      (s.phase.kind != PhaseKind::training && p.edp() != 1))
    throw InputError(f, "/parallel/ep", fmt::format("ep x expert_tp = dp x tp = {} (training: or a divisor of it)",
                                                    p.gpus_per_stage()));
  if (model.num_attention_heads % p.tp != 0)
    throw InputError(f, "/parallel/tp", fmt::format("a divisor of the model's {} attention heads", model.num_attention_heads));
  if (p.pp > model.num_layers)
    throw InputError(f, "/parallel/pp", fmt::format("at most the model's {} layers", model.num_layers));
  if (p.expert_tp > 1 && model.moe_intermediate_size % p.expert_tp != 0)
    throw InputError(f, "/parallel/expert_tp", fmt::format("a divisor of moe_intermediate_size {}", model.moe_intermediate_size));
  const int slots_total = model.num_experts + s.redundant;
  if (p.ep > 1 && slots_total % p.ep != 0)
    throw InputError(f, "/placement/redundant",
                     fmt::format("(experts {} + redundant {}) divisible by ep {}: e.g. redundant {}", model.num_experts,
                                 s.redundant, p.ep, smallest_valid_redundant(model.num_experts, p.ep)));
  if (p.ep > model.num_experts + s.redundant)
    throw InputError(f, "/parallel/ep", fmt::format("at most the {} expert slots", slots_total));
  if (s.phase.kind != PhaseKind::decode && s.phase.micro_batches > s.phase.sequence_length * s.phase.batch)
    throw InputError(f, "/phase/micro_batches", "at most the tokens of the batch");
  if (s.phase.kind == PhaseKind::decode && s.phase.micro_batches > s.phase.batch)
    throw InputError(f, "/phase/micro_batches",
                     fmt::format("at most batch_per_gpu ({}): a decode micro-batch holds whole sequences", s.phase.batch));

  GpuSpec gpu = gpu_spec(s.gpu);
  const int slots_per_gpu = p.ep > 1 ? slots_total / p.ep : model.num_experts;
  MemoryEstimate mem = estimate_memory(s, model, slots_per_gpu);
  const double hbm = gpu.hbm_GB * 1e9;
  const bool training = s.phase.kind == PhaseKind::training;
  const double one_expert =
      model.expert_weight_elements() *
      (training ? kTrainWeightBytesPerParam + kTrainGradBytesPerParam + kOptimizerStateBytesPerParam
                : bytes_per_element(s.precision));
  if (one_expert / p.expert_tp > hbm)
    throw InputError(f, "/parallel/expert_tp",
                     fmt::format("an expert_tp of at least {}: one expert ({:.1f} GB) does not fit the {} GB of a {}",
                                 static_cast<int>(std::ceil(one_expert / hbm)), one_expert / 1e9, gpu.hbm_GB, gpu.name));
  if (training && mem.total() > hbm)
    throw InputError(f, "/parallel",
                     fmt::format("a layout that fits a {} ({} GB) for training: one GPU needs {:.1f} GB (weights {:.1f} "
                                 "(experts {:.1f}), gradients {:.1f}, optimizer states {:.1f} at 16 bytes/parameter of "
                                 "mixed-precision Adam, activations {:.1f}); raise ep, tp or pp, lower "
                                 "phase.tokens_per_gpu, or set training.grad_reduce to reduce_scatter",
                                 gpu.name, gpu.hbm_GB, mem.total() / 1e9, (mem.expert_weights + mem.other_weights) / 1e9,
                                 mem.expert_weights / 1e9, mem.gradients / 1e9, mem.optimizer_states / 1e9,
                                 mem.activations / 1e9));
  if (mem.total() > hbm)
    throw InputError(f, "/parallel",
                     fmt::format("a layout that fits a {} ({} GB): one GPU needs {:.1f} GB (experts {:.1f}, other weights "
                                 "{:.1f}, KV cache {:.1f}, activations {:.1f}); raise ep, tp, pp or expert_tp",
                                 gpu.name, gpu.hbm_GB, mem.total() / 1e9, mem.expert_weights / 1e9,
                                 mem.other_weights / 1e9, mem.kv_cache / 1e9, mem.activations / 1e9));

  ExpertLoads loads = parts.loads           ? *parts.loads
                      : s.loads.empty() ? uniform_loads(model)
                                        : named_by_scenario(s, "/loads", [&] { return load_expert_loads(s.loads); });
  check_loads_match_model(loads, model);

  std::shared_ptr<const RouteTable> routes = parts.routes;
  if (!routes) {
    RoutingOptions ro;
    ro.policy = s.routing;
    ro.ecmp = s.ecmp;
    routes = std::make_shared<const RouteTable>(*topology, ro);
  }

  std::shared_ptr<const Calibration> calibration;
  std::vector<std::string> warnings;
  // MoE layers the loads route nothing in: routed uniformly (workload/layer_costs.cpp), as plan and
  // predict exchange price them; said, so that those layers are not read as measured.
  int zero_layers = 0, moe_layers = 0;
  for (int layer = 0; layer < model.num_layers && layer < loads.num_layers(); ++layer)
    if (model.is_moe_layer(layer)) {
      ++moe_layers;
      const auto& row = loads.count[static_cast<std::size_t>(layer)];
      zero_layers += std::all_of(row.begin(), row.end(), [](double x) { return x == 0; });
    }
  if (zero_layers > 0)
    warnings.push_back(fmt::format("{} of the {} MoE layers in {} have no load (every expert 0): routed uniformly",
                                   zero_layers, moe_layers, s.loads.string()));
  if (!s.calibration.empty()) {
    calibration = parts.calibration ? parts.calibration
                                    : named_by_scenario(s, "/calibration", [&] {
                                        return std::make_shared<const Calibration>(load_calibration(s.calibration));
                                      });
    const std::string w = calibration_gpu_warning(*calibration, s.calibration.string(), gpu.name);
    if (!w.empty()) warnings.push_back(w);
  }
  const ExchangeKernelKind kernel_kind =
      s.exchange_kernel.value_or(default_exchange_kernel(s.phase.kind == PhaseKind::decode));

  std::vector<LayerPlacement> placement;
  ReplicaChoice replica_choice = s.replica_choice.value_or(ReplicaChoice::rule);
  if (!s.plan.empty()) {
    PlanFile file = named_by_scenario(s, "/plan", [&] { return read_plan(s.plan, model, p.ep); });
    placement = std::move(file.layers);
    if (!s.replica_choice) replica_choice = file.replica_choice;
  } else if (p.ep > 1) {
    PlanSettings ps = plan_settings(s);
    ps.baseline = ps.algorithm;  // placement only: no baseline plan
    ps.lp_bounds = 0;            // and no GLPK bound (8 s per EP 16 layer set); the bounds do not change the placement
    ps.threads = 1;  // simulate() may itself run on many threads (sweeps)
    if (parts.plan) {
      placement = parts.plan(ps);
    } else {
      // The scenario's exchange kernel (default: deepep-ll for decode, deepep-normal otherwise),
      // calibrated when the scenario names a calibration.
      EpLinkModel links = planner_link_model(
          *topology, *routes, p.ep, model,
          calibrated_kernel_params(kernel_kind, calibration.get(), s.calibration.string(), *topology).params);
      ps.bounds = false;  // only the placement is used: no certified bounds (~0.1 s at EP 256)
      Plan plan = make_plan(links, model, loads, ps);
      placement.resize(static_cast<std::size_t>(model.num_layers));
      for (LayerResult& l : plan.chosen.layers) placement[static_cast<std::size_t>(l.layer)] = std::move(l.placement);
    }
  } else {
    placement.resize(static_cast<std::size_t>(model.num_layers));
    for (int layer = 0; layer < model.num_layers; ++layer) {
      if (!model.is_moe_layer(layer)) continue;
      LayerPlacement& lp = placement[static_cast<std::size_t>(layer)];
      lp.num_gpus = 1;
      lp.slots_per_gpu = model.num_experts;
      for (int e = 0; e < model.num_experts; ++e) lp.slot_expert.push_back(e);
    }
  }

  ComputeModel compute(gpu, named_by_scenario(s, "/gemm_efficiency", [&] { return load_deepgemm_efficiency(s.gemm_efficiency); }));
  CollectiveParams cp;
  cp.pipeline_step_bytes = s.nccl_buffsize_bytes / kNcclSteps;
  if (calibration) {
    compute = compute.calibrated(*calibration);
    cp = with_calibration(cp, *calibration);
  }
  std::shared_ptr<const KernelTableModel> kernels =
      parts.kernels ? parts.kernels : named_by_scenario(s, "/kernel_tables", [&] { return load_scenario_kernels(s); });
  ScenarioInputs in{s,       std::move(topology),  std::move(routes), std::move(model), std::move(loads),
                    std::move(placement), std::move(compute), std::move(cp), std::move(kernels),
                    std::move(calibration), std::move(warnings)};
  in.replica_choice = replica_choice;
  return in;
}

CalibratedKernel exchange_kernel_params(const ScenarioInputs& in, ExchangeKernelKind kind) {
  return calibrated_kernel_params(kind, in.calibration.get(), in.scenario.calibration.string(), *in.topology);
}

std::shared_ptr<const KernelTableModel> load_scenario_kernels(const Scenario& s) {
  if (s.serving.kernel_tables_off || s.phase.kind == PhaseKind::training) return nullptr;
  const GpuSpec gpu = gpu_spec(s.gpu);
  const std::string folder =
      s.serving.kernel_tables.empty() ? default_kernel_tables_folder(gpu.name) : s.serving.kernel_tables.string();
  if (folder.empty()) return nullptr;
  return std::make_shared<const KernelTableModel>(read_kernel_tables(folder, kernel_tables_gpu(gpu.name)), gpu);
}

}  // namespace epsim
