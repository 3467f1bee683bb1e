// `epsim rebalance`: a serving run as a sequence of load windows with a rebalance every K windows
// (placement/rebalance/rebalance.hpp), per-window serving time with and without rebalancing, and
// the migration cost of every rebalance.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/calibration_input.hpp"
#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "cli/kernel_refusal.hpp"
#include "common/atomic_file.hpp"
#include "common/json_output.hpp"
#include "common/error.hpp"
#include "model/trace.hpp"
#include "comm/token_router.hpp"
#include "placement/plan_reader.hpp"
#include "placement/rebalance/rebalance.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct RebalanceOptions {
  std::string topology, model, plan, scenario, calibration, out, migration = "blocking", objective = "link", replan = "warm",
      replica_choice = "rule";
  std::vector<std::string> windows;
  RebalanceSettings run;
  PlanSettings settings;
  bool json = false;
  std::vector<std::string> given;  ///< flags given on the command line (those a --scenario also sets are refused)
};

Json report_json(const RebalanceReport& r, const RebalanceOptions& o) {
  Json windows = Json::array(), events = Json::array();
  for (const WindowResult& w : r.windows)
    windows.push_back({{"window", w.window},
                       {"loads", w.loads},
                       {"static_iteration_us", w.static_iteration_s * 1e6},
                       {"rebalanced_iteration_us", w.rebalanced_iteration_s * 1e6},
                       {"static_window_s", w.static_window_s},
                       {"rebalanced_window_s", w.rebalanced_window_s},
                       {"static_tokens_per_s", w.static_window_s > 0 ? w.tokens / w.static_window_s : 0.0},
                       {"rebalanced_tokens_per_s", w.rebalanced_window_s > 0 ? w.tokens / w.rebalanced_window_s : 0.0}});
  for (const RebalanceEvent& e : r.events)
    events.push_back({{"after_window", e.after_window},
                      {"moved_replicas", e.moved_replicas},
                      {"moved_bytes", e.moved_bytes},
                      {"migration_us", e.migration_s * 1e6},
                      {"exposed_us", e.exposed_s * 1e6},
                      {"busiest_link", e.busiest_link}});
  return {{"schema", "epsim.rebalance/1"},
          {"every", o.run.every},
          {"migration", o.migration},
          {"replan", o.replan},
          {"replica_choice", o.replica_choice},
          {"iterations_per_window", o.run.iterations_per_window},
          {"iteration_cost", o.scenario.empty() ? "closed-form all-to-all" : "simulate " + o.scenario},
          {"windows", std::move(windows)},
          {"rebalances", std::move(events)},
          {"static_total_s", r.static_total_s},
          {"rebalanced_total_s", r.rebalanced_total_s},
          {"moved_bytes", r.moved_bytes}};
}

void run_rebalance(const RebalanceOptions& o) {
  std::vector<PathArg> inputs = {{"--topology", o.topology}, {"--model", o.model}, {"--scenario", o.scenario},
                                 {"--plan", o.plan}, {"--calibration", o.calibration}};
  for (const std::string& w : o.windows) inputs.push_back({"--window", w});
  check_output_paths(inputs, {{"--out", o.out}});
  if (!o.out.empty()) check_writable(o.out);
  if (!o.scenario.empty())
    for (const char* flag : {"--topology", "--model", "--ep", "--redundant", "--calibration"})
      if (std::find(o.given.begin(), o.given.end(), flag) != o.given.end())
        throw UsageError(fmt::format("{} with --scenario: the scenario sets it ({}); give one or the other", flag,
                                     o.scenario));
  if (o.migration != "blocking" && o.migration != "overlapped")
    throw UsageError(fmt::format("--migration '{}': expected blocking or overlapped", o.migration));
  RebalanceSettings run = o.run;
  run.overlapped = o.migration == "overlapped";
  if (o.replan != "warm" && o.replan != "fresh")
    throw UsageError(fmt::format("--replan '{}': expected warm or fresh", o.replan));
  run.warm = o.replan == "warm";
  rebalance_count(static_cast<int>(o.windows.size()), run.every);  // rejects a negative --every
  std::optional<Scenario> scenario;
  std::string topology_file = o.topology, model_file = o.model;
  PlanSettings ps = o.settings;
  ps.objective = parse_objective(o.objective);
  ps.replica_choice = parse_replica_choice(o.replica_choice);
  if (!o.scenario.empty()) {
    scenario = load_scenario(o.scenario);
    topology_file = scenario->topology.string();
    model_file = scenario->model.string();
    ps.ep = scenario->parallel.ep;
    ps.redundant = scenario->redundant;
    ps.dispatch_bytes_per_element = scenario->dispatch_bytes_per_element;
    ps.combine_bytes_per_element = scenario->combine_bytes_per_element;
  } else if (o.topology.empty() || o.model.empty()) {
    throw UsageError("give --topology and --model, or --scenario");
  }
  auto topo = std::make_shared<const Topology>(load_topology(topology_file));
  auto model = std::make_shared<const MoeModel>(load_moe_model(model_file));
  if (ps.ep == 0) ps.ep = topo->num_gpus();
  if (ps.ep < 1 || ps.ep > topo->num_gpus())
    throw UsageError(fmt::format("--ep {} must be between 1 and the {} GPUs of {}", ps.ep, topo->num_gpus(), topology_file));
  std::vector<ExpertLoads> loads;
  for (const auto& f : o.windows) loads.push_back(load_expert_loads_any(f));
  std::vector<const ExpertLoads*> windows;
  for (const auto& l : loads) windows.push_back(&l);
  RoutingOptions routing;
  if (scenario) {
    routing.policy = scenario->routing;
    routing.ecmp = scenario->ecmp;
  }
  auto routes = std::make_shared<const RouteTable>(*topo, routing);
  std::optional<PlanFile> plan_file;
  if (!o.plan.empty()) plan_file = read_plan_file(o.plan, *model, ps.ep, fmt::format("EP {}", ps.ep));
  // The link model the re-plans optimize on: the scenario's exchange kernel (deepep-ll for decode,
  // deepep-normal otherwise), else the plan file's settings.exchange_kernel, else deepep-normal (`epsim
  // plan`'s default), with the model's uniform-routing de-duplication. A kernel the EP group cannot run
  // (nvlink-one-sided beyond one NVLink domain) is refused naming the link.
  const ExchangeKernelKind kernel =
      scenario ? scenario->exchange_kernel.value_or(default_exchange_kernel(scenario->phase.kind == PhaseKind::decode))
      : plan_file && !plan_file->exchange_kernel.empty() ? parse_exchange_kernel(plan_file->exchange_kernel)
                                                          : ExchangeKernelKind::deepep_normal;
  // Calibrated as the iteration cost is: the scenario's calibration; without a scenario --calibration,
  // else the one the plan file was made with (settings.calibration), else none.
  PlanCalibration cal;
  if (scenario && !scenario->calibration.empty())
    cal = {load_command_calibration(scenario->calibration.string(), *topo), scenario->calibration.string()};
  else if (!scenario)
    cal = plan_command_calibration(o.calibration, o.plan, plan_file ? plan_file->calibration_file : "",
                                   plan_file ? plan_file->calibration_fnv1a64 : "", *topo);
  const CalibratedKernel kernel_params =
      calibrated_kernel_params(kernel, cal.calibration ? &*cal.calibration : nullptr, cal.file, *topo);
  if (!kernel_params.notice.empty())
    fmt::print(stderr, "epsim: note: {}\n", kernel_params.notice);
  const std::string kernel_from =
      scenario ? o.scenario + ": /exchange_kernel" : o.plan + ": /settings/exchange_kernel";
  EpLinkModel links = with_kernel_context(kernel_from, topology_file, [&] {
    return planner_link_model(*topo, *routes, ps.ep, *model, kernel_params.params);
  });
  std::vector<LayerPlacement> initial;
  if (plan_file) {
    PlanFile& f = *plan_file;
    if (f.redundant != ps.redundant)
      throw InputError(fmt::format("{}: the plan has {} redundant slots but the run plans with {}", o.plan, f.redundant,
                                   ps.redundant));
    initial = std::move(f.layers);
  } else {
    for (const ExpertLoads& l : loads) check_loads_match_model(l, *model);
    initial = placements_by_layer(make_plan(links, *model, *windows.front(), ps).chosen, *model);
  }
  Plan shape = prepare_plan(links, *model, ps);
  IterationCostFn cost;
  if (scenario) {
    cost = [&](const std::vector<LayerPlacement>& pl, const ExpertLoads& l) {
      Scenario s = *scenario;
      s.plan.clear();
      s.replica_choice = ps.replica_choice;  // simulate splits replicas' tokens as the re-plans assume
      SharedScenarioParts parts;
      parts.topology = topo;
      parts.routes = routes;
      parts.model = model;
      parts.loads = std::make_shared<const ExpertLoads>(l);
      parts.plan = [&pl](const PlanSettings&) { return pl; };
      SimulationResult r = simulate(prepare_scenario(s, parts), SimulateOptions{});
      IterationCost c;
      c.time_s = r.iteration.to_seconds();
      c.link_bytes = r.link_bytes;
      return c;
    };
  } else {
    cost = [&](const std::vector<LayerPlacement>& pl, const ExpertLoads& l) {
      return closed_form_iteration_cost(links, *model, shape, pl, l);
    };
  }
  RebalanceReport r = run_rebalancing(links, *routes, *model, windows, ps, run, initial, cost);
  Json doc = report_json(r, o);
  if (!o.out.empty()) write_file_atomic(o.out, json_output_text(doc, 1, "the rebalance report"));
  if (o.json) {
    fmt::print("{}", json_output_text(doc, 1, "the rebalance report"));
    return;
  }
  fmt::print("epsim rebalance: {} windows, rebalance every {} ({} rebalances), {} migration, {} iterations per window, "
             "iteration cost: {}\n",
             r.windows.size(), run.every, r.events.size(), o.migration, run.iterations_per_window,
             doc["iteration_cost"].get<std::string>());
  fmt::print("{:>6}  {:<36} {:>14} {:>14} {:>10}\n", "window", "loads", "static tok/s", "rebal. tok/s", "ratio");
  for (const WindowResult& w : r.windows) {
    const double a = w.static_window_s > 0 ? w.tokens / w.static_window_s : 0;
    const double b = w.rebalanced_window_s > 0 ? w.tokens / w.rebalanced_window_s : 0;
    fmt::print("{:>6}  {:<36} {:>14.4g} {:>14.4g} {:>10.4f}\n", w.window, w.loads.substr(0, 36), a, b, a > 0 ? b / a : 0);
  }
  for (const RebalanceEvent& e : r.events)
    fmt::print("rebalance after window {}: {} replicas, {:.4g} GB moved, {:.1f} us alone on the links (busiest {}), "
               "{:.1f} us exposed\n",
               e.after_window, e.moved_replicas, e.moved_bytes / 1e9, e.migration_s * 1e6,
               e.busiest_link.empty() ? "-" : e.busiest_link, e.exposed_s * 1e6);
  fmt::print("total: static {:.6g} s, rebalanced {:.6g} s ({:.4f}x), {:.4g} GB moved\n", r.static_total_s,
             r.rebalanced_total_s, r.rebalanced_total_s > 0 ? r.static_total_s / r.rebalanced_total_s : 0,
             r.moved_bytes / 1e9);
  if (!o.out.empty()) fmt::print("wrote {}\n", o.out);
}

}  // namespace

void add_rebalance_command(CLI::App& app) {
  auto o = std::make_shared<RebalanceOptions>();
  o->settings.ep = 0;
  CLI::App* p = app.add_subcommand(
      "rebalance", "Serve a sequence of load windows, re-planning every K windows; migration cost and throughput");
  p->add_option("--window", o->windows, "expert loads of one window (SGLang format); repeat, in serving order")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  p->add_option("--every", o->run.every, "rebalance at the end of every K-th window (0 = never)")->capture_default_str();
  p->add_option("--migration", o->migration, "blocking (serving waits for the copies) or overlapped")
      ->capture_default_str();
  p->add_option("--replan", o->replan,
                "warm: epsim's search from the current placement (few copies); fresh: a new plan re-labelled to keep "
                "experts in place")
      ->capture_default_str();
  p->add_option("--iterations-per-window", o->run.iterations_per_window, "iterations served per window")
      ->capture_default_str();
  p->add_option("--topology", o->topology, "topology JSON (or --scenario)");
  p->add_option("--model", o->model, "Hugging Face config.json (or --scenario)");
  p->add_option("--scenario", o->scenario,
                "scenario JSON: iteration times from epsim simulate (its topology, model, ep and redundant slots)");
  p->add_option("--plan", o->plan, "initial placement (plan.json); default: planned on the first window");
  p->add_option("--calibration", o->calibration,
                "calibration.json for the exchange kernel (or --scenario); default: the one the --plan was made with")
      ->check(non_empty_path());
  p->add_option("--ep", o->settings.ep, "EP size (default: all GPUs)");
  p->add_option("--redundant", o->settings.redundant, "redundant slots")->capture_default_str();
  p->add_option("--algorithm", o->settings.algorithm, "placement algorithm of every re-plan")->capture_default_str();
  p->add_option("--objective", o->objective, "link, gpu or balanced")->capture_default_str();
  p->add_option("--replica-choice", o->replica_choice,
                "how a batch's tokens of an expert split over its replicas in the iteration cost: rule (equal shares) "
                "or lp (the per-batch LP, also in simulate with --scenario)")
      ->capture_default_str();
  p->add_option("--tokens-per-gpu", o->settings.tokens_per_gpu,
                "tokens each GPU originates per iteration, in [1, 1e15]; 0 = use counts as is")
      ->capture_default_str()
      ->check(token_count_or_zero());
  p->add_option("--seed", o->settings.seed, "seed of the placement search")->capture_default_str();
  p->add_option("--out", o->out, "write the report (epsim.rebalance/1) here");
  p->add_flag("--json", o->json, "print the report as JSON");
  p->callback([o, p] {
    for (const char* flag : {"--topology", "--model", "--ep", "--redundant", "--calibration"})
      if (p->count(flag) > 0) o->given.push_back(flag);
    run_rebalance(*o);
  });
}

}  // namespace epsim::cli
