// `epsim plan`: topology + model + expert loads -> placement plan (plan.json) and a table.
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "comm/exchange_kernel.hpp"
#include "cli/cli_checks.hpp"
#include "cli/calibration_input.hpp"
#include "cli/commands.hpp"
#include "cli/kernel_refusal.hpp"
#include "cli/plan_table.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "comm/calibration.hpp"
#include "placement/affinity.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "placement/export.hpp"
#include "placement/holdout.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "model/trace.hpp"
#include "comm/trace_traffic.hpp"
#include "comm/token_router.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct PlanOptions {
  std::string topology;
  std::vector<std::string> loads;
  std::string model;
  std::string robust = "max";
  std::string replicas = "any";
  std::string replica_choice = "rule";
  bool no_holdout = false;
  std::string out;
  std::string routing = "shortest";
  bool json = false;
  std::string objective = "link";
  std::string exchange_kernel = "deepep-normal";
  std::string calibration;
  std::vector<std::string> exports;  // pairs: format, file
  std::string trace;
  std::string delivery = "node-forwarding";
  bool no_inter_layer = false;
  bool trace_eval_only = false;
  PlanSettings settings;
};

Json trace_json(const TraceEvaluation& e, const AffinityReport* a) {
  Json j = trace_evaluation_json(e);
  if (a) j["affinity"] = affinity_report_json(*a);
  return j;
}

AffinityReport algorithm_affinity(const AlgorithmResult& r, const Trace& trace, const Topology& topo, double bytes) {
  return plan_affinity(
      trace,
      [&](int layer) -> const LayerPlacement* {
        for (const LayerResult& l : r.layers)
          if (l.layer == layer) return &l.placement;
        return nullptr;
      },
      topo, bytes);
}

void run_plan(const PlanOptions& o) {
  if (o.exports.size() % 2 != 0) throw UsageError("--export takes a format and a file: --export sglang FILE");
  std::vector<PathArg> outputs{{"--out", o.out}};
  for (std::size_t i = 0; i < o.exports.size(); i += 2) {
    if (o.exports[i] != "sglang" && o.exports[i] != "eplb")
      throw UsageError(fmt::format("--export {}: expected sglang or eplb", o.exports[i]));
    if (o.exports[i + 1].empty()) throw UsageError(fmt::format("--export {}: an empty path", o.exports[i]));
    outputs.push_back({"--export " + o.exports[i], o.exports[i + 1]});
  }
  std::vector<PathArg> inputs = {
      {"--topology", o.topology}, {"--model", o.model}, {"--trace", o.trace}, {"--calibration", o.calibration}};
  for (const std::string& loads : o.loads) inputs.push_back({"--loads", loads});
  check_output_paths(inputs, outputs);
  if (o.settings.hbm_reserve_GiB >= o.settings.hbm_GiB)
    throw UsageError(fmt::format("--hbm-reserve-GiB {} must be below --hbm-GiB {}", o.settings.hbm_reserve_GiB,
                                 o.settings.hbm_GiB));
  for (const PathArg& out : outputs)
    if (!out.path.empty()) check_writable(out.path);
  RoutingOptions routing;
  if (o.routing == "shortest") routing.policy = RoutingPolicy::shortest;
  else if (o.routing == "pxn") routing.policy = RoutingPolicy::pxn;
  else throw UsageError(fmt::format("--routing '{}': expected shortest or pxn", o.routing));
  Topology topo = load_topology(o.topology);
  MoeModel model = load_moe_model(o.model);
  std::vector<ExpertLoads> windows;
  for (const std::string& file : o.loads) {
    windows.push_back(load_expert_loads_any(file));
    check_loads_match_model(windows.back(), model);
  }
  std::vector<const ExpertLoads*> window_ptrs;
  for (const ExpertLoads& w : windows) window_ptrs.push_back(&w);
  TokenDelivery delivery = parse_delivery(o.delivery);
  PlanSettings settings = o.settings;
  settings.objective = parse_objective(o.objective);
  settings.robust = parse_robust(o.robust);
  if (o.replicas != "any" && o.replicas != "node-local")
    throw UsageError(fmt::format("--replicas '{}': expected any or node-local", o.replicas));
  settings.node_local_replicas = o.replicas == "node-local";
  settings.replica_choice = parse_replica_choice(o.replica_choice);
  if (settings.replica_choice != ReplicaChoice::rule && !o.trace.empty())
    throw UsageError("--replica-choice lp splits each expert's load over its replicas; a --trace assigns every token "
                     "to one replica by the rule (docs/formats.md), so give one or the other");
  if (windows.size() > 1 && !o.trace.empty())
    throw UsageError("--trace is one window of traffic: give one --loads with it");
  if (settings.ep == 0) settings.ep = topo.num_gpus();
  if (settings.ep < 1 || settings.ep > topo.num_gpus())
    throw UsageError(fmt::format("--ep {} must be between 1 and the {} GPUs of {}", settings.ep, topo.num_gpus(), o.topology));
  RouteTable routes(topo, routing);
  const ExchangeKernelKind kernel = parse_exchange_kernel(o.exchange_kernel);
  const std::optional<Calibration> calibration = load_command_calibration(o.calibration, topo);
  const CalibratedKernel kernel_params =
      calibrated_kernel_params(kernel, calibration ? &*calibration : nullptr, o.calibration, topo);
  if (!kernel_params.notice.empty()) fmt::print(stderr, "epsim: note: {}\n", kernel_params.notice);
  EpLinkModel links = planner_link_model(topo, routes, settings.ep, model, kernel_params.params);
  std::optional<Trace> trace;
  if (!o.trace.empty()) {
    trace = load_trace(o.trace, &model, settings.ep);
    check_trace_matches(*trace, model, settings.ep);
  }
  settings.inter_layer = !o.no_inter_layer;
  if (settings.max_nodes_per_token > 0 && !trace)
    throw UsageError("--max-nodes-per-token needs --trace (the nodes a token reaches follow from its experts)");
  PlanTrace plan_trace{trace ? &*trace : nullptr, &routes, delivery};
  Plan plan = make_plan(links, model, window_ptrs, settings, trace && !o.trace_eval_only ? &plan_trace : nullptr);
  std::vector<WindowFigures> holdout;
  if (windows.size() > 1 && !o.no_holdout) holdout = holdout_figures(links, model, window_ptrs, settings, plan);
  Json trace_chosen, trace_baseline;
  std::optional<TraceEvaluation> tc, tb;
  std::optional<AffinityReport> ac, ab;
  if (trace) {
    const int m = settings.max_nodes_per_token;
    tc = evaluate_trace(routes, plan.chosen, *trace, plan.dispatch_bytes_per_token, delivery, o.delivery, m);
    tb = evaluate_trace(routes, plan.baseline, *trace, plan.dispatch_bytes_per_token, delivery, o.delivery, m);
    if (trace->layers.size() >= 2) {
      ac = algorithm_affinity(plan.chosen, *trace, topo, plan.dispatch_bytes_per_token);
      ab = algorithm_affinity(plan.baseline, *trace, topo, plan.dispatch_bytes_per_token);
    }
    trace_chosen = trace_json(*tc, ac ? &*ac : nullptr);
    trace_baseline = trace_json(*tb, ab ? &*ab : nullptr);
    trace_chosen["file"] = o.trace;
    trace_baseline["file"] = o.trace;
    trace_chosen["optimized_on_trace"] = plan.chosen.trace_objective;
    if (plan.chosen.trace_objective && trace->layers.size() >= 2)
      trace_chosen["inter_layer_pass"] = {{"ran", settings.inter_layer},
                                          {"layer_pairs", plan.chosen.inter_layer.layer_pairs},
                                          {"layers_permuted", plan.chosen.inter_layer.layers_permuted},
                                          {"layers_rejected", plan.chosen.inter_layer.layers_rejected}};
  }
  if (!o.out.empty()) {
    Json doc = plan_to_json(plan, links, PlanInputs{o.topology, o.loads.front(), o.model});
    if (o.loads.size() > 1) doc["inputs"]["loads"] = o.loads;
    if (!o.calibration.empty()) {
      doc["inputs"]["calibration"] = o.calibration;
      // What evaluate and rebalance need to use it again (cli/calibration_input.hpp).
      doc["settings"]["calibration"] = plan_calibration_setting(o.calibration);
    }
    if (!holdout.empty()) doc["summary"]["windows"] = holdout_json(holdout, settings);
    if (trace) {
      doc["summary"]["trace"] = trace_chosen;
      doc["baseline_summary"]["trace"] = trace_baseline;
    }
    write_file_atomic(o.out, json_output_text(doc, 1, "the plan"));
  }
  for (std::size_t i = 0; i < o.exports.size(); i += 2) {
    Json doc = o.exports[i] == "sglang" ? export_sglang(plan, model) : export_eplb(plan);
    write_file_atomic(o.exports[i + 1], json_output_text(doc, -1, "the " + o.exports[i] + " export"));
    if (!o.json) fmt::print("wrote {} ({} format)\n", o.exports[i + 1], o.exports[i]);
  }
  if (o.json) {
    Json j = {{"summary", algorithm_summary_json(plan.chosen, links)},
              {"baseline_summary", algorithm_summary_json(plan.baseline, links)}};
    if (!holdout.empty()) j["summary"]["windows"] = holdout_json(holdout, settings);
    if (trace) {
      j["summary"]["trace"] = trace_chosen;
      j["baseline_summary"]["trace"] = trace_baseline;
    }
    fmt::print("{}", json_output_text(j, 1, "the plan summary"));
  } else {
    fmt::print("{}", format_plan_table(plan, links));
    if (windows.size() > 1) fmt::print("{}", format_windows_table(plan, holdout));
    if (trace) {
      auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
      fmt::print("trace {} ({} layers, {} tokens per layer, {} delivery, dispatch only):\n", o.trace, tc->layers,
                 tc->layers > 0 ? tc->tokens / tc->layers : 0.0, o.delivery);
      fmt::print("  {:<12} cross-node {:.4g} GB, bottleneck links {:.1f} us, dispatch {:.1f} us, max GPU tokens {:.0f}\n",
                 plan.chosen.algorithm, tc->cross_node_bytes / 1e9, tc->sum_bottleneck_s * 1e6, tc->sum_dispatch_s * 1e6,
                 tc->max_gpu_tokens);
      fmt::print("  {:<12} cross-node {:.4g} GB, bottleneck links {:.1f} us, dispatch {:.1f} us, max GPU tokens {:.0f}\n",
                 plan.baseline.algorithm, tb->cross_node_bytes / 1e9, tb->sum_bottleneck_s * 1e6, tb->sum_dispatch_s * 1e6,
                 tb->max_gpu_tokens);
      fmt::print("  {} / {}: cross-node bytes {:.3f}, bottleneck time {:.3f}\n", plan.chosen.algorithm,
                 plan.baseline.algorithm, ratio(tc->cross_node_bytes, tb->cross_node_bytes),
                 ratio(tc->sum_bottleneck_s, tb->sum_bottleneck_s));
      auto nodes_line = [&](const std::string& name, const TraceEvaluation& e) {
        Json n = trace_evaluation_json(e)["nodes_per_token"];
        std::string extra = settings.max_nodes_per_token > 0
                                ? fmt::format(", {} token-layers over {} nodes", n["tokens_over_limit"].get<double>(),
                                              settings.max_nodes_per_token)
                                : std::string();
        fmt::print("  {:<12} nodes per token: mean {:.3f}, max {}{}\n", name, n["mean"].get<double>(),
                   n["max"].get<int>(), extra);
      };
      nodes_line(plan.chosen.algorithm, *tc);
      nodes_line(plan.baseline.algorithm, *tb);
      if (plan.chosen.trace_objective)
        fmt::print("  {} optimized on the trace ({} delivery){}\n", plan.chosen.algorithm, o.delivery,
                   trace->layers.size() >= 2 && settings.inter_layer
                       ? fmt::format("; inter-layer pass permuted {} of {} layers ({} rejected: objective would worsen)",
                                     plan.chosen.inter_layer.layers_permuted, plan.chosen.inter_layer.layer_pairs,
                                     plan.chosen.inter_layer.layers_rejected)
                       : std::string());
      if (ac)
        fmt::print("  affinity (expert-to-expert hand-off model): same-GPU copies saved {} {:.4g} GB, {} {:.4g} GB; "
                   "same-node {} {:.4g} GB, {} {:.4g} GB\n",
                   plan.chosen.algorithm, ac->bytes_saved_gpu / 1e9, plan.baseline.algorithm, ab->bytes_saved_gpu / 1e9,
                   plan.chosen.algorithm, ac->bytes_saved_cross_node / 1e9, plan.baseline.algorithm,
                   ab->bytes_saved_cross_node / 1e9);
    }
    if (!o.out.empty()) fmt::print("wrote {}\n", o.out);
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* p = app.add_subcommand("plan", "Place experts (with replicas) on the EP GPUs of a topology");
  p->add_option("--topology", o->topology, "topology JSON")->required()->check(non_empty_path());
  p->add_option("--loads", o->loads,
                "expert loads, SGLang format {\"logical_count\": [layer][expert]}; repeat for several windows (robust plan)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(non_empty_path());
  p->add_option("--robust", o->robust,
                "with several --loads: minimize the mean over windows, or the max of each window's link time over its "
                "certified bound")
      ->capture_default_str();
  p->add_option("--replicas", o->replicas,
                "any, or node-local: every replica on the node holding its expert's group (needs n_group in the model)")
      ->capture_default_str();
  p->add_option("--replica-choice", o->replica_choice,
                "how a batch's tokens of an expert split over its replicas: rule (equal shares) or lp (per batch, the "
                "split minimizing the busiest GPU, then the busiest links; docs/placement.md)")
      ->capture_default_str();
  p->add_flag("--no-holdout", o->no_holdout,
              "with several --loads: skip the leave-one-window-out figures (2 x windows further plans)");
  p->add_option("--model", o->model, "Hugging Face config.json of the MoE model")->required()->check(non_empty_path());
  p->add_option("--ep", o->settings.ep, "EP size (GPU ranks 0..ep-1 of the topology); default: all GPUs")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  p->add_option("--redundant", o->settings.redundant, "extra slots for replicas of hot experts")->capture_default_str();
  p->add_option("--algorithm", o->settings.algorithm,
                fmt::format("{} (epsim: topology-aware local search; docs/placement.md)",
                            fmt::join(placement_algorithm_names(), ", ")))
      ->capture_default_str();
  p->add_option("--objective", o->objective, "what epsim minimizes: link, gpu or balanced")->capture_default_str();
  p->add_option("--exchange-kernel", o->exchange_kernel,
                fmt::format("EP exchange kernel whose cost the link objective minimizes: {} (docs/simulator.md)",
                            fmt::join(exchange_kernel_names(), ", ")))
      ->capture_default_str();
  p->add_option("--calibration", o->calibration,
                "calibration.json (epsim calibrate): the exchange kernel's fitted parameters and link bandwidths")
      ->check(non_empty_path());
  p->add_option("-j,--threads", o->settings.threads, "layers planned in parallel (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  p->add_option("--baseline", o->settings.baseline,
                fmt::format("algorithm shown beside the chosen one: {}", fmt::join(placement_algorithm_names(), ", ")))
      ->capture_default_str();
  p->add_option("--tokens-per-gpu", o->settings.tokens_per_gpu,
                "tokens each GPU originates per iteration (loads are rescaled to it), in [1, 1e15]; 0 = use counts as is")
      ->capture_default_str()
      ->check(token_count_or_zero());
  const CLI::Validator wire_bytes = CLI::PositiveNumber & CLI::Range(0.0, kMaxWireBytesPerElement);
  p->add_option("--dispatch-bytes-per-element", o->settings.dispatch_bytes_per_element,
                fmt::format("1.03125 = FP8 dispatch with per-128 scales, 2 = BF16; in (0, {}]", kMaxWireBytesPerElement))
      ->capture_default_str()
      ->check(wire_bytes);
  p->add_option("--combine-bytes-per-element", o->settings.combine_bytes_per_element,
                fmt::format("2 = BF16 combine; in (0, {}]", kMaxWireBytesPerElement))
      ->capture_default_str()
      ->check(wire_bytes);
  p->add_option("--routing", o->routing, "shortest (ECMP) or pxn")->capture_default_str();
  p->add_option("--seed", o->settings.seed, "seed of randomized algorithms")
      ->capture_default_str()
      ->check(non_negative_integer());
  p->add_option("--out", o->out, "write plan.json here")->check(non_empty_path());
  p->add_option("--export", o->exports, "also write a deployable form: sglang FILE (--init-expert-location) or eplb FILE")
      ->type_size(2)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  p->add_option("--hbm-GiB", o->settings.hbm_GiB, "GPU memory")->capture_default_str()->check(finite_positive());
  p->add_option("--hbm-reserve-GiB", o->settings.hbm_reserve_GiB,
                "memory kept for attention/dense weights, KV cache and activations")
      ->capture_default_str()
      ->check(finite_non_negative());
  p->add_option("--weight-bytes-per-element", o->settings.weight_bytes_per_element, "1 = FP8 expert weights")
      ->capture_default_str()
      ->check(finite_positive());
  p->add_option("--trace", o->trace, "per-token trace (epsim.trace/1): epsim optimizes the trace-driven dispatch of its layers; both plans are "
                "evaluated on it")
      ->check(non_empty_path());
  p->add_option("--delivery", o->delivery, "trace delivery: per-gpu or node-forwarding (DeepEP normal kernels)")
      ->capture_default_str();
  p->add_option("--max-nodes-per-token", o->settings.max_nodes_per_token,
                "with --trace: epsim keeps every token at <= M nodes where it can (penalty before the objective); "
                "0 = no limit (DeepSeek-V3 routes to topk_group = 4 groups)")
      ->capture_default_str();
  p->add_flag("--no-inter-layer", o->no_inter_layer,
              "with a multi-layer --trace: skip the inter-layer affinity post-pass");
  p->add_flag("--trace-eval-only", o->trace_eval_only,
              "use --trace only to evaluate the plans (epsim optimizes the uniform-source model)");
  p->add_flag("--json", o->json, "print the summary as JSON instead of the table");
  // The kernel that can refuse the topology (nvlink-one-sided across NVLink domains) is --exchange-kernel's.
  p->callback([o] { with_kernel_context("--exchange-kernel " + o->exchange_kernel, o->topology, [&] { run_plan(*o); }); });
}

}  // namespace epsim::cli
