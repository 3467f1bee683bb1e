#include "comm/token_router.hpp"
#include "sweep/plan_evaluator.hpp"

#include "comm/calibration.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "model/expert_loads.hpp"
#include "comm/link_load.hpp"
#include "model/moe_model.hpp"
#include "placement/objective.hpp"
#include "placement/plan.hpp"
#include "sweep/once_cache.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_topology.hpp"

namespace epsim {

namespace {

// An EP link model with the network it points into.
struct LinkModelEntry {
  RoutedTopology network;
  EpLinkModel links;
};

// The planner's reading of one point's scenario.
struct PlanScenario {
  std::string model;
  std::string loads;
  bool has_exchange = true;  ///< false for a TP x PP baseline (ep 1): nothing to plan
  std::string layout;        ///< "tp<T>xpp<P>" when !has_exchange
  TopologyVariant topology;
  PlanSettings settings;
  /// The point's exchange kernel (deepep-ll for decode, deepep-normal otherwise, as `epsim plan` and the
  /// simulate evaluator) and its calibration file (empty: the kernel's defaults).
  ExchangeKernelKind kernel = ExchangeKernelKind::deepep_normal;
  std::string calibration;
};

// Throws InputError for a point whose scenario breaks a rule of the format.
PlanScenario read_scenario(const SweepPoint& point) {
  const std::string label = point_scenario_label(point);
  const Scenario sc = scenario_from_json(point.scenario, label);
  PlanScenario out;
  out.model = sc.model.string();
  if (sc.loads.empty()) throw InputError(label, "/loads", "a loads file for the plan evaluator");
  out.loads = sc.loads.string();
  out.has_exchange = sc.parallel.ep > 1 || sc.parallel.tp * sc.parallel.pp == 1;
  out.layout = fmt::format("tp{}xpp{}", sc.parallel.tp, sc.parallel.pp);
  out.topology = topology_variant(sc);
  out.settings = plan_settings(sc);
  out.kernel = sc.exchange_kernel.value_or(default_exchange_kernel(sc.phase.kind == PhaseKind::decode));
  out.calibration = sc.calibration.string();
  out.settings.baseline = out.settings.algorithm;  // one plan per point: the algorithm axis gives the comparison
  out.settings.threads = 1;                         // the sweep parallelizes over points
  return out;
}

}  // namespace

struct PlanEvaluator::Caches {
  OnceCache<MoeModel> models;
  OnceCache<ExpertLoads> loads;
  OnceCache<RoutedTopology> networks;
  OnceCache<LinkModelEntry> link_models;
  OnceCache<Calibration> calibrations;  ///< per calibration file
};

PlanEvaluator::PlanEvaluator() : caches_(std::make_shared<Caches>()) {}

PlanEvaluatorStats PlanEvaluator::stats() const {
  return {caches_->models.computed(), caches_->loads.computed(), caches_->networks.computed(),
          caches_->link_models.computed()};
}

PointResult PlanEvaluator::operator()(const SweepPoint& point) const {
  PointResult result;
  PlanScenario sc;
  try {
    sc = read_scenario(point);
  } catch (const InputError& e) {
    result.skipped_reason = fmt::format("the scenario of this point is invalid: {}", e.what());
    return result;
  }
  if (!sc.has_exchange) {
    result.skipped_reason = fmt::format("{} has no all-to-all to plan; TP x PP baselines need the simulate evaluator",
                                        sc.layout);
    return result;
  }
  const std::string by = point_scenario_label(point);
  auto model = caches_->models.get(sc.model, [&] { return named_by(by, "/model", [&] { return load_moe_model(sc.model); }); });
  auto loads = caches_->loads.get(sc.loads, [&] { return named_by(by, "/loads", [&] { return load_expert_loads(sc.loads); }); });
  try {
    check_loads_match_model(*loads, *model);
  } catch (const InputError& e) {
    result.skipped_reason = fmt::format("loads do not match the model: {}", e.what());
    return result;
  }
  const int E = model->num_experts;
  const int ep = sc.settings.ep;
  const std::string net_key = sc.topology.key();
  auto network = caches_->networks.get(net_key, [&] { return build_routed_topology(sc.topology); });
  if (ep > network->topology->num_gpus()) {
    result.skipped_reason = fmt::format("EP {} exceeds the {} GPUs of the topology", ep, network->topology->num_gpus());
    return result;
  }
  if ((E + sc.settings.redundant) % ep != 0) {
    result.skipped_reason = fmt::format("{} experts + {} redundant slots do not divide over EP {} (smallest valid redundant: {})",
                                        E, sc.settings.redundant, ep, smallest_valid_redundant(E, ep));
    return result;
  }
  // The point's exchange kernel, calibrated when the point names a calibration, with the model's routing
  // de-duplication. A kernel the group cannot run (nvlink-one-sided beyond one NVLink domain) skips the
  // point with the reason, as the simulate evaluator does.
  std::shared_ptr<const Calibration> calibration;
  if (!sc.calibration.empty())
    calibration = caches_->calibrations.get(sc.calibration, [&] { return load_calibration(sc.calibration); });
  std::shared_ptr<const LinkModelEntry> entry;
  try {
    entry = caches_->link_models.get(
        fmt::format("{}|ep{}|{}|{}|{}", net_key, ep, sc.model, to_string(sc.kernel), sc.calibration), [&] {
          const ExchangeKernelParams kernel =
              calibrated_kernel_params(sc.kernel, calibration.get(), sc.calibration, *network->topology).params;
          return LinkModelEntry{*network,
                                planner_link_model(*network->topology, *network->routes, ep, *model, kernel)};
        });
  } catch (const InputError& e) {
    result.skipped_reason = e.what();
    return result;
  }
  const EpLinkModel& links = entry->links;
  Plan plan = make_plan(links, *model, *loads, sc.settings);

  // Busy time of every link over all layers' dispatch + combine.
  const AlgorithmResult& r = plan.chosen;
  std::vector<double> busy_s(static_cast<std::size_t>(links.num_links()), 0.0);
  std::vector<double> bytes(busy_s.size(), 0.0);
  double mean_tokens = 0;
  for (const LayerResult& layer : r.layers) {
    mean_tokens += layer.mean_gpu_tokens;
    auto d = exchange_link_bytes(links, layer.gpu_tokens, plan.dispatch_bytes_per_token, Exchange::dispatch);
    auto c = exchange_link_bytes(links, layer.gpu_tokens, plan.combine_bytes_per_token, Exchange::combine);
    for (std::size_t l = 0; l < busy_s.size(); ++l) {
      bytes[l] += d[l] + c[l];
      busy_s[l] += (d[l] + c[l]) / links.bandwidth_Bps(static_cast<int>(l));
    }
  }
  const double total_s = r.sum_dispatch_s + r.sum_combine_s;
  Json& mtr = result.metrics;
  mtr["alltoall_us"] = total_s * 1e6;
  mtr["dispatch_us"] = r.sum_dispatch_s * 1e6;
  mtr["combine_us"] = r.sum_combine_s * 1e6;
  mtr["worst_layer"] = r.worst_layer;
  mtr["max_gpu_tokens"] = r.max_gpu_tokens;
  mtr["mean_gpu_tokens"] = r.layers.empty() ? 0.0 : mean_tokens / static_cast<double>(r.layers.size());
  mtr["gpu_imbalance"] = r.mean_imbalance;
  auto busiest = std::max_element(busy_s.begin(), busy_s.end());  // first of equals: lowest link index
  if (busiest != busy_s.end() && *busiest > 0) {
    int l = static_cast<int>(busiest - busy_s.begin());
    mtr["busiest_link"] = links.topology().link_name(l);
    mtr["busiest_link_kind"] = std::string(to_string(links.topology().link(l).kind));
    mtr["busiest_link_GB"] = bytes[static_cast<std::size_t>(l)] / 1e9;
    if (total_s > 0) mtr["busiest_link_util"] = *busiest / total_s;
  }
  // Gap of the bottleneck-link objective summed over layers against the certified per-layer bounds.
  if (r.sum_link_lb_s > 0) mtr["plan_gap"] = r.sum_link_s / r.sum_link_lb_s - 1;
  return result;
}

Evaluator make_plan_evaluator() {
  auto impl = std::make_shared<const PlanEvaluator>();
  return Evaluator{"plan", [impl](const SweepPoint& p) { return (*impl)(p); }};
}

}  // namespace epsim
