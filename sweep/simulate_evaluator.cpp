#include "comm/token_router.hpp"
#include "sweep/simulate_evaluator.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "model/expert_loads.hpp"
#include "comm/link_load.hpp"
#include "model/moe_model.hpp"
#include "placement/plan.hpp"
#include "comm/calibration.hpp"
#include "sim/compute/gemm_efficiency.hpp"
#include "sim/simulate.hpp"
#include "sweep/once_cache.hpp"
#include "sim/scenario/scenario.hpp"

namespace epsim {

namespace {

// A plan of every MoE layer with the figures the CSV reports.
struct PlanEntry {
  std::vector<LayerPlacement> placement;  ///< per model layer (empty for dense layers)
  double plan_gap = -1;                   ///< < 0: no certified bound
  double gpu_imbalance = 0;
};

// Link tiers of docs/sweep.md: nvlink, pcie, nic (an InfiniBand/Ethernet link touching a NIC) and
// spine (switch to switch).
std::string link_tier(const Topology& t, int l) {
  const Link& k = t.link(l);
  if (k.kind == LinkKind::nvlink) return "nvlink";
  if (k.kind == LinkKind::pcie) return "pcie";
  if (t.device(k.src).kind == DeviceKind::nic || t.device(k.dst).kind == DeviceKind::nic) return "nic";
  return "spine";
}

// An EP link model with the routed topology it points into.
struct LinkModelEntry {
  RoutedTopology network;
  EpLinkModel links;
};

}  // namespace

struct SimulateEvaluator::Caches {
  OnceCache<MoeModel> models;
  OnceCache<ExpertLoads> loads;
  OnceCache<RoutedTopology> networks;
  OnceCache<LinkModelEntry> link_models;  ///< per (topology, EP): shared by the plans of all algorithms
  OnceCache<PlanEntry> plans;
  OnceCache<std::shared_ptr<const KernelTableModel>> kernels;  ///< per (folder, GPU): the kernel tables every point of that GPU shares
  OnceCache<bool> files_checked;  ///< gemm efficiency files read once to surface errors
  OnceCache<Calibration> calibrations;  ///< per calibration file
  std::atomic<std::size_t> simulations{0};
};

SimulateEvaluator::SimulateEvaluator() : caches_(std::make_shared<Caches>()) {}

SimulateEvaluatorStats SimulateEvaluator::stats() const {
  return {caches_->models.computed(), caches_->loads.computed(), caches_->networks.computed(),
          caches_->plans.computed(), caches_->simulations.load()};
}

PointResult SimulateEvaluator::operator()(const SweepPoint& point) const {
  PointResult result;
  Scenario sc;
  try {
    sc = scenario_from_json(point.scenario, point_scenario_label(point));
  } catch (const InputError& e) {
    result.skipped_reason = fmt::format("the scenario of this point is invalid: {}", e.what());
    return result;
  }
  if (sc.loads.empty()) throw InputError(point_scenario_label(point), "/loads", "a loads file for the simulate evaluator");
  if (sc.disaggregation)  // a sweep point is one pool: sweep each pool's scenario, pair them with simulate
    throw InputError(point_scenario_label(point), "/disaggregation",
                     "a scenario without /disaggregation (a sweep evaluates one pool; sweep the prefill and the decode "
                     "scenario each, or simulate the pair)");
  const TopologyVariant topology = topology_variant(sc);
  Caches& c = *caches_;
  // Files that concern every point: errors stop the sweep (InputError), so they are read here,
  // outside the try below that turns the simulator's rejections into skip reasons.
  const std::string by = point_scenario_label(point);
  auto model = c.models.get(sc.model.string(), [&] { return named_by(by, "/model", [&] { return load_moe_model(sc.model); }); });
  auto loads = c.loads.get(sc.loads.string(), [&] { return named_by(by, "/loads", [&] { return load_expert_loads(sc.loads); }); });
  c.files_checked.get("gemm:" + sc.gemm_efficiency.string(), [&] {
    named_by(by, "/gemm_efficiency", [&] { return load_deepgemm_efficiency(sc.gemm_efficiency); });
    return true;
  });
  std::shared_ptr<const Calibration> calibration;
  if (!sc.calibration.empty())
    calibration = c.calibrations.get(sc.calibration.string(),
                                     [&] { return named_by(by, "/calibration", [&] { return load_calibration(sc.calibration); }); });
  try {
    check_loads_match_model(*loads, *model);
  } catch (const InputError& e) {
    result.skipped_reason = fmt::format("loads do not match the model: {}", e.what());
    return result;
  }
  const std::string net_key = topology.key();
  auto network = c.networks.get(net_key, [&] { return build_routed_topology(topology); });

  SharedScenarioParts parts;
  parts.topology = network->topology;
  parts.routes = network->routes;
  parts.model = model;
  parts.loads = loads;
  parts.calibration = calibration;
  if (!sc.serving.kernel_tables_off && sc.phase.kind != PhaseKind::training)
    parts.kernels = *c.kernels.get(fmt::format("{}|{}", sc.serving.kernel_tables.string(), sc.gpu),
                                   [&] { return load_scenario_kernels(sc); });
  std::shared_ptr<const PlanEntry> plan;
  parts.plan = [&](const PlanSettings& given) {
    PlanSettings ps = given;  // plan_settings(sc): objective and seed included
    ps.baseline = ps.algorithm;  // one plan per point: the placement axis gives the comparison
    ps.lp_bounds = 0;            // combinatorial bounds only: the GLPK LP costs ~8 s per EP 16 plan
    // The point's exchange kernel (default: deepep-ll for decode, deepep-normal otherwise), calibrated
    // when the point names a calibration: what prepare_scenario plans with.
    const ExchangeKernelKind kind =
        sc.exchange_kernel.value_or(default_exchange_kernel(sc.phase.kind == PhaseKind::decode));
    const std::string key = fmt::format("{}|{}|{}|{}|{}|ep{}|r{}|{}|o{}|s{}|t{}|d{}|c{}", net_key, to_string(kind),
                                        sc.calibration.string(), sc.model.string(),
                                        sc.loads.string(), ps.ep, ps.redundant, ps.algorithm,
                                        static_cast<int>(ps.objective), ps.seed, ps.tokens_per_gpu,
                                        ps.dispatch_bytes_per_element, ps.combine_bytes_per_element);
    plan = c.plans.get(key, [&] {
      auto entry = c.link_models.get(
          fmt::format("{}|ep{}|{}|{}|{}", net_key, ps.ep, sc.model.string(), to_string(kind), sc.calibration.string()),
          [&] {
            return LinkModelEntry{
                *network, planner_link_model(*network->topology, *network->routes, ps.ep, *model,
                                             calibrated_kernel_params(kind, calibration.get(), sc.calibration.string(),
                                                                      *network->topology)
                                                 .params)};
          });
      Plan made = make_plan(entry->links, *model, *loads, ps);
      PlanEntry e;
      e.placement.resize(static_cast<std::size_t>(model->num_layers));
      for (LayerResult& l : made.chosen.layers) e.placement[static_cast<std::size_t>(l.layer)] = std::move(l.placement);
      if (made.chosen.sum_link_lb_s > 0) e.plan_gap = made.chosen.sum_link_s / made.chosen.sum_link_lb_s - 1;
      e.gpu_imbalance = made.chosen.mean_imbalance;
      return e;
    });
    return plan->placement;
  };

  SimulationResult r;
  try {
    ScenarioInputs inputs = prepare_scenario(sc, parts);
    SimulateOptions opt;
    opt.trace_gpus.clear();  // no trace: the sweep keeps summaries only
    ++c.simulations;
    r = simulate(inputs, opt);
  } catch (const InputError& e) {
    result.skipped_reason = fmt::format("the simulator rejects this combination: {}", e.what());
    return result;
  } catch (const std::invalid_argument& e) {
    result.skipped_reason = fmt::format("the simulator's models reject this combination: {}", e.what());
    return result;
  }

  const Topology& topo = *network->topology;
  const double T_us = r.iteration.to_us();
  double exposed_us = 0, dispatch_us = 0, combine_us = 0, compute_us = 0;
  for (const LayerBreakdown& b : r.layers) {
    exposed_us += b.exposed_comm_us;
    dispatch_us += b.dispatch_us;
    combine_us += b.combine_us;
    compute_us += b.compute_us;
  }
  Json& m = result.metrics;
  m["iteration_us"] = T_us;
  m["tokens_per_s_per_gpu"] = r.throughput_tokens_per_s_per_gpu;
  m["latency_ms"] = r.latency_ms;
  m["latency_kind"] = r.latency_name;
  m["exposed_comm_us"] = exposed_us;
  if (T_us > 0) m["exposed_comm_share"] = exposed_us / T_us;
  m["compute_us"] = compute_us;
  m["gpus"] = r.parallel.gpus();
  m["micro_batches"] = r.micro_batches;
  m["sim_events"] = r.events;
  if (r.parallel.ep > 1) {
    m["dispatch_us"] = dispatch_us;
    m["combine_us"] = combine_us;
    m["alltoall_us"] = dispatch_us + combine_us;
  }
  if (plan) {
    m["gpu_imbalance"] = plan->gpu_imbalance;
    if (plan->plan_gap >= 0) m["plan_gap"] = plan->plan_gap;
  }
  // Link utilization = bytes / (bandwidth x iteration); the busiest link is the most utilized one
  // (first of equals: lowest link index), which is what gates the exchanges (simulate() itself
  // names the link with the most bytes), and the busiest link of each tier.
  if (T_us > 0 && r.link_bytes.size() == static_cast<std::size_t>(topo.num_links())) {
    int busiest = -1;
    double busiest_util = 0;
    std::map<std::string, double> tier_util = {{"nvlink", -1.0}, {"pcie", -1.0}, {"nic", -1.0}, {"spine", -1.0}};
    for (int l = 0; l < topo.num_links(); ++l) {
      const double bytes = r.link_bytes[static_cast<std::size_t>(l)];
      const double util = bytes / (topo.link(l).bandwidth_GBps * 1e3 * T_us);  // GB/s x 1e9 x us x 1e-6
      double& t = tier_util[link_tier(topo, l)];
      t = std::max(t, util);
      if (bytes > 0 && util > busiest_util) {
        busiest = l;
        busiest_util = util;
      }
    }
    for (const auto& [tier, util] : tier_util)
      if (util >= 0) m[tier + "_util"] = util;
    if (busiest >= 0) {
      m["busiest_link"] = topo.link_name(busiest);
      m["busiest_link_kind"] = std::string(to_string(topo.link(busiest).kind));
      m["busiest_link_tier"] = link_tier(topo, busiest);
      m["busiest_link_GB"] = r.link_bytes[static_cast<std::size_t>(busiest)] / 1e9;
      m["busiest_link_util"] = busiest_util;
    }
  }
  return result;
}

Evaluator make_simulate_evaluator() {
  auto impl = std::make_shared<const SimulateEvaluator>();
  return Evaluator{"simulate", [impl](const SweepPoint& p) { return (*impl)(p); }};
}

}  // namespace epsim
