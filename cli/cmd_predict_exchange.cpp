// `epsim predict exchange`: one MoE layer's dispatch and combine under an exchange kernel, from the
// closed form `epsim simulate --network analytical` uses (comm/exchange_prediction.hpp), per layer of
// the given loads, trace or plan. The traffic is built as simulate builds it: per-expert selections
// scaled to --tokens-per-gpu x EP x top-k (placement/plan.hpp scaled_layer_load), split equally over an
// expert's replicas (model/layer_placement.hpp gpu_token_loads), de-duplication sampled per token with
// the model's router rule (comm/token_router.hpp, 1024 tokens, seed 1, as simulate), or counted on a
// trace (comm/trace_traffic.hpp trace_layer_routing).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/calibration_input.hpp"
#include "cli/commands.hpp"
#include "cli/kernel_refusal.hpp"
#include "comm/calibration.hpp"
#include "comm/exchange_prediction.hpp"
#include "comm/token_router.hpp"
#include "comm/trace_traffic.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "model/trace.hpp"
#include "placement/plan.hpp"
#include "placement/plan_reader.hpp"
#include "placement/layer_replica_split.hpp"
#include "placement/replica_choice.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct ExchangeOptions {
  std::string topology, model, loads, trace, plan, calibration, kernel;
  std::string replica_choice;  ///< empty: the plan's settings.replica_choice (rule without a plan)
  std::optional<int> ep;
  std::optional<int> layer;  ///< a model layer; absent: every MoE layer
  double tokens_per_gpu = 0;
  double dispatch_bytes_per_element = kFp8DispatchBytesPerElement;  ///< FP8 with its scales (simulate's fp8 default)
  double combine_bytes_per_element = 2.0;   ///< BF16
  int sampled_tokens = 1024;                ///< simulate's RoutingSampling default
  std::uint64_t seed = 1;
  bool json = false;
};

struct LayerResult {
  int layer = -1;  ///< -1: every MoE layer alike (no loads, trace or plan)
  ExchangeRouting routing;
  ExchangePrediction p;
};

Json direction_json(const ExchangeDirectionPrediction& d, const Topology& topo) {
  Json j = {{"time_us", d.time_us},
            {"latency_us", d.phase.latency_us},
            {"per_message_us", d.phase.per_message_us},
            {"notify_us", d.notify_us},
            {"link_us", d.phase.link_us},
            {"sm_us", d.phase.sm_us},
            {"ramp", d.phase.ramp},
            {"channel_us", d.phase.channel_us},
            {"fill_us", d.phase.fill_us},
            {"channels_per_peer", d.phase.channels_per_peer},
            {"bottleneck", d.bottleneck},
            {"last_rank", d.last_rank},
            {"busiest_link", d.busiest_link >= 0 ? topo.link_name(d.busiest_link) : std::string()},
            {"busiest_link_bytes", d.busiest_link_bytes},
            {"busiest_link_us", d.busiest_link_us},
            {"gpu_sent_bytes_max", d.gpu_sent_bytes_max},
            {"gpu_sent_bytes_mean", d.gpu_sent_bytes_mean},
            {"gpu_received_bytes_max", d.gpu_received_bytes_max},
            {"gpu_received_bytes_mean", d.gpu_received_bytes_mean}};
  return j;
}

std::string direction_text(const char* name, const ExchangeDirectionPrediction& d, const Topology& topo) {
  std::string s = fmt::format("  {:<8} {:10.2f} us  bottleneck {}", name, d.time_us, d.bottleneck);
  if (d.bottleneck == "link" && d.busiest_link >= 0) s += " " + topo.link_name(d.busiest_link);
  s += fmt::format(" (latency {:.2f} us of which per-message {:.2f}", d.phase.latency_us, d.phase.per_message_us);
  if (d.notify_us > 0) s += fmt::format(", notify {:.2f}", d.notify_us);
  // link_us holds the busiest link's time and the kernel's self copy through HBM (nccl, hierarchical: a
  // GPU's own share), so EP 1 reads > 0 with no byte on a link.
  s += fmt::format("; links and self copy {:.2f} us; {} {:.2f} us", d.phase.link_us,
                   d.bottleneck == "issue" ? "SMs (issue rounds)" : "SMs", d.phase.sm_us);
  if (d.phase.channels_per_peer > 0)  // nccl / hierarchical p2p channels (comm/exchange_cost.hpp p2p_plan)
    s += fmt::format("; channels {:.2f} us at {} per peer, fill {:.2f} us", d.phase.channel_us,
                     d.phase.channels_per_peer, d.phase.fill_us);
  s += ")\n";
  s += fmt::format("           bytes per GPU sent {:.4g} (max {:.4g}), received {:.4g} (max {:.4g})\n",
                   d.gpu_sent_bytes_mean, d.gpu_sent_bytes_max, d.gpu_received_bytes_mean, d.gpu_received_bytes_max);
  return s;
}

void run_exchange(const ExchangeOptions& o) {
  check_output_paths({{"--topology", o.topology}, {"--model", o.model}, {"--loads", o.loads}, {"--trace", o.trace},
                      {"--plan", o.plan}, {"--calibration", o.calibration}},
                     {});
  for (const auto& [flag, v] : {std::pair<const char*, double>{"--dispatch-bytes-per-element", o.dispatch_bytes_per_element},
                                {"--combine-bytes-per-element", o.combine_bytes_per_element}})
    if (!(v > 0 && v <= kMaxWireBytesPerElement))
      throw UsageError(fmt::format("{} {}: bytes per hidden element in (0, {}]", flag, v, kMaxWireBytesPerElement));
  // At most 16384 (16 x simulate's 1024; docs/limits.md): sampling costs O(tokens x experts) per layer.
  if (o.sampled_tokens < 1 || o.sampled_tokens > 16384)
    throw UsageError(fmt::format("--sampled-tokens {}: between 1 and 16384", o.sampled_tokens));
  if (!o.loads.empty() && !o.trace.empty())
    throw UsageError("--loads and --trace both give the layer's traffic: give one");
  const ExchangeKernelKind kind = parse_exchange_kernel(o.kernel);
  const Topology topo = load_topology(o.topology);
  const MoeModel model = load_moe_model(o.model);
  std::optional<PlanFile> plan;
  if (!o.plan.empty()) plan = read_plan_file(o.plan, model);
  if (plan && o.ep && *o.ep != plan->ep)
    throw UsageError(fmt::format("--ep {} disagrees with the EP {} of {} (settings.ep): give the plan's EP or no --ep",
                                 *o.ep, plan->ep, o.plan));
  const int ep = plan ? plan->ep : o.ep.value_or(0);
  if (!o.ep && !plan) throw UsageError("--ep: the EP size is required (or a --plan that gives it)");
  if (ep < 1 || ep > topo.num_gpus())
    throw UsageError(fmt::format("--ep {} must be between 1 and the {} GPUs of {}", ep, topo.num_gpus(), o.topology));
  if (o.layer && (*o.layer < 0 || *o.layer >= model.num_layers || !model.is_moe_layer(*o.layer)))
    throw UsageError(fmt::format("--layer {}: not a MoE layer of {} (layers {}..{} are MoE)", *o.layer, o.model,
                                 model.first_k_dense, model.num_layers - 1));
  std::optional<ExpertLoads> loads;
  if (!o.loads.empty()) {
    loads = load_expert_loads_any(o.loads);
    check_loads_match_model(*loads, model);
  }
  std::optional<Trace> trace;
  if (!o.trace.empty()) trace = load_trace(o.trace, &model, ep);
  // Without a plan: the contiguous layout (the experts must fit one slot each per rank's share).
  const LayerPlacement contiguous =
      plan ? LayerPlacement{} : contiguous_placement(model.num_experts, ep, (model.num_experts + ep - 1) / ep);
  // How an expert's tokens split over its replicas: as simulate does (--replica-choice, else the plan's).
  const ReplicaChoice choice = !o.replica_choice.empty() ? parse_replica_choice(o.replica_choice)
                               : plan                    ? plan->replica_choice
                                                         : ReplicaChoice::rule;
  if (choice == ReplicaChoice::lp && trace)
    throw UsageError("replica choice lp splits each expert's load over its replicas; a --trace serves every token by "
                     "the trace rule: give --replica-choice rule with --trace");

  std::vector<std::string> notices;
  const std::optional<Calibration> cal = load_command_calibration(o.calibration, topo, &notices);
  const CalibratedKernel k = calibrated_kernel_params(kind, cal ? &*cal : nullptr, o.calibration, topo);
  if (!k.notice.empty()) notices.push_back(k.notice);
  const RouteTable routes(topo);
  const EpLinkModel base(topo, routes, ep, k.params);
  const int gpn = ep_gpus_per_node(topo, ep);
  const double dispatch_bpt = model.hidden_size * o.dispatch_bytes_per_element;
  const double combine_bpt = model.hidden_size * o.combine_bytes_per_element;
  // The split simulate applies (placement/layer_replica_split.hpp).
  const LayerReplicaSplitter splitter(choice, routes, ep, model, k.params, dispatch_bpt, combine_bpt);

  std::vector<int> layers;
  if (o.layer) layers.push_back(*o.layer);
  else if (loads || trace || plan) {
    for (int l = 0; l < model.num_layers; ++l)
      if (model.is_moe_layer(l) && (!trace || trace->find_layer(l))) layers.push_back(l);
    if (layers.empty()) throw InputError(fmt::format("{}: no layer of {} is in the trace", o.trace, o.model));
  } else {
    layers.push_back(model.first_k_dense);  // uniform routing, contiguous experts: every MoE layer alike
  }
  const bool layers_alike = !o.layer && !loads && !trace && !plan;
  std::vector<LayerResult> results;
  int zero_layers = 0;
  int idle_ranks = 0;
  for (int l : layers) {
    const LayerPlacement& pl = plan ? plan->layers[static_cast<std::size_t>(l)] : contiguous;
    idle_ranks = std::max(idle_ranks, pl.gpus_without_expert());
    LayerResult r;
    r.layer = l;
    std::vector<double> gpu_tokens;
    if (trace) {
      const TraceLayer* tl = trace->find_layer(l);
      if (!tl) throw InputError(fmt::format("{}: no tokens for layer {}", o.trace, l));
      if (tl->num_tokens() == 0) throw InputError(fmt::format("{}: layer {} has no tokens", o.trace, l));
      TraceRouting tr = trace_layer_routing(topo, pl, *tl, model.top_k, model.num_experts);
      // The trace's selections per rank, scaled to --tokens-per-gpu x EP x top-k.
      double total = 0;
      for (double t : tr.gpu_selections) total += t;
      const double scale = total > 0 ? o.tokens_per_gpu * ep * model.top_k / total : 0.0;
      for (double& t : tr.gpu_selections) t *= scale;
      gpu_tokens = std::move(tr.gpu_selections);
      r.routing = tr.routing;
    } else {
      std::vector<double> load;
      if (loads) load = scaled_layer_load(loads->count[static_cast<std::size_t>(l)], model, ep, o.tokens_per_gpu);
      if (load.empty() || std::all_of(load.begin(), load.end(), [](double v) { return v <= 0; })) {
        if (loads) ++zero_layers;  // simulate does the same: an all-zero layer is routed uniformly
        load.assign(static_cast<std::size_t>(model.num_experts), o.tokens_per_gpu * ep * model.top_k / model.num_experts);
      }
      const ReplicaSplit split = splitter.split(pl, load);
      gpu_tokens = split.gpu_tokens;
      TokenRouter router(model.num_experts, model.top_k, model.n_group, model.topk_group,
                         loads ? std::span<const double>(load) : std::span<const double>());
      // lp: each token's replica drawn in proportion to the split (rule: uniformly), as simulate.
      const std::vector<double> weights = splitter.replica_draw_weights(split);
      r.routing = routing_statistics(router, pl, gpn, o.sampled_tokens, o.seed, weights);
    }
    if (!(r.routing.gpu_factor > 0)) r.routing = ExchangeRouting{1, 1, model.num_experts, model.top_k};
    r.p = predict_exchange(base.with_routing(r.routing), gpu_tokens, dispatch_bpt, combine_bpt);
    results.push_back(std::move(r));
  }

  double dispatch_mean = 0, combine_mean = 0;
  const LayerResult* worst = &results.front();
  for (const LayerResult& r : results) {
    dispatch_mean += r.p.dispatch.time_us / static_cast<double>(results.size());
    combine_mean += r.p.combine.time_us / static_cast<double>(results.size());
    if (r.p.dispatch.time_us + r.p.combine.time_us > worst->p.dispatch.time_us + worst->p.combine.time_us) worst = &r;
  }
  const std::string traffic = trace ? "trace " + o.trace : loads ? "loads " + o.loads : "uniform routing";
  if (const std::string idle = idle_ranks_notice(idle_ranks, ep, model.num_experts, plan ? o.plan : "contiguous placement");
      !idle.empty())
    notices.push_back(idle);
  if (!plan)
    if (const std::string uneven = uneven_experts_notice(model.num_experts, ep, "contiguous placement"); !uneven.empty())
      notices.push_back(uneven);
  const std::string placement = (plan ? "plan " + o.plan : "contiguous placement") +
                                (choice == ReplicaChoice::lp ? ", replica choice lp" : "");
  if (zero_layers > 0)
    notices.push_back(fmt::format("{} of the {} layers in {} have no load: routed uniformly (as simulate does)",
                                  zero_layers, results.size(), o.loads));
  if (o.json) {
    Json arr = Json::array();
    for (const LayerResult& r : results) {
      Json j = {{"dispatch", direction_json(r.p.dispatch, topo)},
                {"combine", direction_json(r.p.combine, topo)},
                {"gpu_factor", r.routing.gpu_factor},
                {"node_factor", r.routing.node_factor},
                {"rank_selections_max", r.p.rank_selections_max},
                {"rank_selections_mean", r.p.rank_selections_mean}};
      j["layer"] = r.layer;
      arr.push_back(std::move(j));
    }
    Json out = {{"exchange_kernel", std::string(to_string(kind))},
                {"ep", ep},
                {"nodes", base.nodes()},
                {"tokens_per_gpu", o.tokens_per_gpu},
                {"dispatch_bytes_per_token", dispatch_bpt},
                {"combine_bytes_per_token", combine_bpt},
                {"traffic", traffic},
                {"placement", placement},
                {"replica_choice", std::string(to_string(choice))},
                {"layers_alike", layers_alike},
                {"layers", std::move(arr)},
                {"dispatch_us_mean", dispatch_mean},
                {"combine_us_mean", combine_mean},
                {"notices", notices}};
    out["worst_layer"] = worst->layer;
    if (!o.calibration.empty()) out["calibration"] = o.calibration;
    fmt::print("{}", json_output_text(out, 1, "the prediction"));
    return;
  }
  fmt::print("{} exchange, EP {} on {} node(s) of {}, {:g} token{} per GPU, top-{} ({}, {}):\n", to_string(kind), ep,
             base.nodes(), o.topology, o.tokens_per_gpu, o.tokens_per_gpu == 1 ? "" : "s", model.top_k, traffic, placement);
  if (results.size() > 1)
    fmt::print("  {} MoE layers: dispatch mean {:.2f} us, combine mean {:.2f} us; slowest layer {}:\n", results.size(),
               dispatch_mean, combine_mean, worst->layer);
  fmt::print("  distinct destinations per selection: {:.3f} GPUs, {:.3f} nodes (1 = every selection elsewhere, 1/top-k "
             "= all of a token's on one; the token's own GPU and node count); selections per GPU {:.4g} (max {:.4g})\n",
             worst->routing.gpu_factor, worst->routing.node_factor, worst->p.rank_selections_mean,
             worst->p.rank_selections_max);
  fmt::print("{}", direction_text("dispatch", worst->p.dispatch, topo));
  fmt::print("{}", direction_text("combine", worst->p.combine, topo));
  for (const std::string& s : notices) fmt::print(stderr, "note: {}\n", s);
}

}  // namespace

void add_predict_exchange_command(CLI::App& predict) {
  auto o = std::make_shared<ExchangeOptions>();
  CLI::App* c = predict.add_subcommand(
      "exchange", "Predict one MoE layer's dispatch and combine (time, bytes per GPU, bottleneck) under an exchange kernel");
  c->add_option("--topology", o->topology, "topology JSON")->required()->check(non_empty_path());
  c->add_option("--model", o->model, "MoE model JSON")->required()->check(non_empty_path());
  c->add_option("--ep", o->ep, "EP size: GPU ranks 0..EP-1 of the topology (default: the --plan's)");
  c->add_option("--tokens-per-gpu", o->tokens_per_gpu, "tokens each EP rank sends (before top-k), in [1, 1e15]")
      ->required()
      ->check(token_count());
  std::string kernels;
  for (const std::string& n : exchange_kernel_name_list()) kernels += (kernels.empty() ? "" : ", ") + n;
  c->add_option("--exchange-kernel", o->kernel, "one of: " + kernels)->required();
  c->add_option("--loads", o->loads, "expert loads (SGLang expert distribution); default: uniform routing")
      ->check(non_empty_path());
  c->add_option("--trace", o->trace, "per-token routing trace (epsim trace generate)")->check(non_empty_path());
  c->add_option("--plan", o->plan, "plan.json whose placement serves the experts (default: contiguous)")
      ->check(non_empty_path());
  c->add_option("--layer", o->layer, "one model layer (default: every MoE layer; the slowest is detailed)");
  c->add_option("--replica-choice", o->replica_choice,
                "rule (equal shares of an expert's replicas) or lp (the per-batch LP); default: the plan's, else rule");
  c->add_option("--dispatch-bytes-per-element", o->dispatch_bytes_per_element, "bytes per hidden element, dispatch (default 1.03125: FP8 + per-128 scales)");
  c->add_option("--combine-bytes-per-element", o->combine_bytes_per_element, "bytes per hidden element, combine (default 2: BF16)");
  c->add_option("--sampled-tokens", o->sampled_tokens,
                "tokens sampled per layer for the de-duplication, 1..16384 (default 1024, as simulate)");
  c->add_option("--seed", o->seed, "seed of the routing sample (default 1, as simulate)")->check(non_negative_integer());
  c->add_option("--calibration", o->calibration, "calibration.json (epsim calibrate)")->check(non_empty_path());
  c->add_flag("--json", o->json, "print one JSON object");
  c->callback([o] {
    with_kernel_context("--exchange-kernel " + o->kernel, o->topology, [&] { run_exchange(*o); });
  });
}

}  // namespace epsim::cli
