// `epsim evaluate`: an existing plan (plan.json) on any loads (and trace): the plan table of
// `epsim plan` without re-planning, so that in-sample and out-of-sample figures are one command apart.
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/calibration_input.hpp"
#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "cli/kernel_refusal.hpp"
#include "cli/plan_table.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "comm/token_router.hpp"
#include "comm/trace_traffic.hpp"
#include "model/trace.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "placement/plan_reader.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct EvaluateOptions {
  std::string plan;
  std::string topology;
  std::string loads;
  std::string model;
  std::string trace;
  std::string delivery = "node-forwarding";
  std::string routing = "shortest";
  std::string baseline = "contiguous";
  std::string calibration;     // empty: the plan's settings.calibration, if any
  std::string replica_choice;  // empty: the plan's (settings.replica_choice, rule when absent)
  double tokens_per_gpu = -1;
  bool json = false;
};

void run_evaluate(const EvaluateOptions& o) {
  RoutingOptions routing;
  if (o.routing == "shortest") routing.policy = RoutingPolicy::shortest;
  else if (o.routing == "pxn") routing.policy = RoutingPolicy::pxn;
  else throw UsageError(fmt::format("--routing '{}': expected shortest or pxn", o.routing));
  TokenDelivery delivery = parse_delivery(o.delivery);
  Topology topo = load_topology(o.topology);
  MoeModel model = load_moe_model(o.model);
  ExpertLoads loads = load_expert_loads_any(o.loads);
  check_loads_match_model(loads, model);
  PlanFile file = read_plan_file(o.plan, model);
  if (file.ep > topo.num_gpus())
    throw InputError(fmt::format("{}: the plan has EP {} but {} has {} GPUs", o.plan, file.ep, o.topology, topo.num_gpus()));
  RouteTable routes(topo, routing);
  // The link model `epsim plan` optimizes on: the plan's exchange kernel (deepep-normal when the file
  // does not name one) with the model's uniform-routing de-duplication, under --calibration, else the
  // calibration the plan was made with (settings.calibration), else the kernel's defaults.
  const ExchangeKernelKind kernel =
      file.exchange_kernel.empty() ? ExchangeKernelKind::deepep_normal : parse_exchange_kernel(file.exchange_kernel);
  const PlanCalibration cal =
      plan_command_calibration(o.calibration, o.plan, file.calibration_file, file.calibration_fnv1a64, topo);
  const CalibratedKernel kernel_params =
      calibrated_kernel_params(kernel, cal.calibration ? &*cal.calibration : nullptr, cal.file, topo);
  if (!kernel_params.notice.empty()) fmt::print(stderr, "epsim: note: {}\n", kernel_params.notice);
  EpLinkModel links = with_kernel_context(o.plan + ": /settings/exchange_kernel", o.topology, [&] {
    return planner_link_model(topo, routes, file.ep, model, kernel_params.params);
  });
  PlanSettings s;
  s.ep = file.ep;
  s.redundant = file.redundant;
  s.tokens_per_gpu = o.tokens_per_gpu >= 0 ? o.tokens_per_gpu : file.tokens_per_gpu;
  if (file.dispatch_bytes_per_token > 0) s.dispatch_bytes_per_element = file.dispatch_bytes_per_token / model.hidden_size;
  if (file.combine_bytes_per_token > 0) s.combine_bytes_per_element = file.combine_bytes_per_token / model.hidden_size;
  s.algorithm = s.baseline = o.baseline;
  s.replica_choice = o.replica_choice.empty() ? file.replica_choice : parse_replica_choice(o.replica_choice);
  if (s.replica_choice != ReplicaChoice::rule && !o.trace.empty())
    throw UsageError(fmt::format("replica choice lp ({}) splits each expert's load over its replicas; a --trace "
                                 "assigns every token to one replica by the rule: give --replica-choice rule with "
                                 "--trace",
                                 o.replica_choice.empty() ? o.plan + " settings.replica_choice" : "--replica-choice"));
  // The baseline planned on these loads (with --baseline epsim: the in-sample plan of these loads).
  Plan plan = make_plan(links, model, loads, s);
  plan.settings.algorithm = "plan";
  plan.baseline = plan.chosen;
  plan.chosen = evaluate_placements(links, model, loads, plan, file.layers, "plan", true);
  std::optional<Trace> trace;
  std::optional<TraceEvaluation> tc, tb;
  if (!o.trace.empty()) {
    trace = load_trace(o.trace);
    check_trace_matches(*trace, model, file.ep);
    tc = evaluate_trace(routes, plan.chosen, *trace, plan.dispatch_bytes_per_token, delivery, o.delivery, 0);
    tb = evaluate_trace(routes, plan.baseline, *trace, plan.dispatch_bytes_per_token, delivery, o.delivery, 0);
  }
  if (o.json) {
    Json j = {{"plan", o.plan},
              {"loads", o.loads},
              {"replica_choice", std::string(to_string(s.replica_choice))},
              {"summary", algorithm_summary_json(plan.chosen, links)},
              {"baseline_summary", algorithm_summary_json(plan.baseline, links)}};
    if (!cal.file.empty()) j["calibration"] = cal.file;
    if (tc) {
      j["summary"]["trace"] = trace_evaluation_json(*tc);
      j["baseline_summary"]["trace"] = trace_evaluation_json(*tb);
    }
    fmt::print("{}", json_output_text(j, 1, "the evaluation"));
    return;
  }
  fmt::print("epsim evaluate: plan {} on loads {} (baseline {} planned on these loads; replica choice {}{})\n",
             o.plan, o.loads, o.baseline, to_string(s.replica_choice),
             cal.file.empty() ? std::string() : "; calibration " + cal.file);
  fmt::print("{}", format_plan_table(plan, links, 8, "evaluate"));
  if (tc)
    for (const auto* e : {&*tc, &*tb})
      fmt::print("  trace {} ({}): cross-node {:.4g} GB, bottleneck links {:.1f} us, dispatch {:.1f} us, max GPU tokens "
                 "{:.0f}\n",
                 e == &*tc ? "plan" : o.baseline, o.delivery, e->cross_node_bytes / 1e9, e->sum_bottleneck_s * 1e6,
                 e->sum_dispatch_s * 1e6, e->max_gpu_tokens);
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto o = std::make_shared<EvaluateOptions>();
  CLI::App* p = app.add_subcommand("evaluate", "Evaluate an existing plan (plan.json) on any loads, without re-planning");
  p->add_option("--plan", o->plan, "plan.json written by epsim plan --out")->required();
  p->add_option("--topology", o->topology, "topology JSON")->required();
  p->add_option("--model", o->model, "Hugging Face config.json of the MoE model")->required();
  p->add_option("--loads", o->loads, "expert loads to evaluate the plan on (SGLang format)")->required();
  p->add_option("--trace", o->trace, "per-token trace (epsim.trace/1) to evaluate the plan's dispatch on");
  p->add_option("--delivery", o->delivery, "trace delivery: per-gpu or node-forwarding")->capture_default_str();
  p->add_option("--routing", o->routing, "shortest (ECMP) or pxn")->capture_default_str();
  p->add_option("--baseline", o->baseline,
                "algorithm planned on these loads beside the plan (epsim: the in-sample plan of these loads)")
      ->capture_default_str();
  p->add_option("--replica-choice", o->replica_choice,
                "how a batch's tokens of an expert split over its replicas: rule (equal shares) or lp (the per-batch "
                "LP: busiest GPU, then busiest links); default: the plan's");
  p->add_option("--calibration", o->calibration,
                "calibration.json for the exchange kernel; default: the one the plan was made with (its "
                "settings.calibration), none when it records none")
      ->check(non_empty_path());
  p->add_option("--tokens-per-gpu", o->tokens_per_gpu,
                "tokens each GPU originates, in [1, 1e15] (0 = use counts as is); default: the plan's setting")
      ->check(token_count_or_zero());
  p->add_flag("--json", o->json, "print the summaries as JSON instead of the table");
  p->callback([o] { run_evaluate(*o); });
}

}  // namespace epsim::cli
