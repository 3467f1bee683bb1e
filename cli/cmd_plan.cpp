// `epsim plan`: topology + model + expert loads -> placement plan (plan.json) and a table.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/plan_table.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "placement/export.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct PlanOptions {
  std::string topology;
  std::string loads;
  std::string model;
  std::string out;
  std::string routing = "shortest";
  bool json = false;
  std::string objective = "link";
  std::vector<std::string> exports;  // pairs: format, file
  PlanSettings settings;
};

void run_plan(const PlanOptions& o) {
  if (!o.out.empty()) check_writable(o.out);
  if (o.exports.size() % 2 != 0) throw UsageError("--export takes a format and a file: --export sglang FILE");
  for (std::size_t i = 0; i < o.exports.size(); i += 2) {
    if (o.exports[i] != "sglang" && o.exports[i] != "eplb")
      throw UsageError(fmt::format("--export {}: expected sglang or eplb", o.exports[i]));
    check_writable(o.exports[i + 1]);
  }
  RoutingOptions routing;
  if (o.routing == "shortest") routing.policy = RoutingPolicy::shortest;
  else if (o.routing == "pxn") routing.policy = RoutingPolicy::pxn;
  else throw UsageError(fmt::format("--routing '{}': expected shortest or pxn", o.routing));
  Topology topo = load_topology(o.topology);
  MoeModel model = load_moe_model(o.model);
  ExpertLoads loads = load_expert_loads(o.loads);
  check_loads_match_model(loads, model);
  PlanSettings settings = o.settings;
  settings.objective = parse_objective(o.objective);
  if (settings.ep == 0) settings.ep = topo.num_gpus();
  if (settings.ep < 1 || settings.ep > topo.num_gpus())
    throw UsageError(fmt::format("--ep {} must be between 1 and the {} GPUs of {}", settings.ep, topo.num_gpus(), o.topology));
  RouteTable routes(topo, routing);
  EpLinkModel links(topo, routes, settings.ep);
  Plan plan = make_plan(links, model, loads, settings);
  if (!o.out.empty())
    write_file_atomic(o.out, plan_to_json(plan, links, PlanInputs{o.topology, o.loads, o.model}).dump(1) + "\n");
  for (std::size_t i = 0; i < o.exports.size(); i += 2) {
    Json doc = o.exports[i] == "sglang" ? export_sglang(plan, model) : export_eplb(plan);
    write_file_atomic(o.exports[i + 1], doc.dump() + "\n");
    if (!o.json) fmt::print("wrote {} ({} format)\n", o.exports[i + 1], o.exports[i]);
  }
  if (o.json) {
    Json j = {{"summary", algorithm_summary_json(plan.chosen, links)},
              {"baseline_summary", algorithm_summary_json(plan.baseline, links)}};
    fmt::print("{}\n", j.dump(1));
  } else {
    fmt::print("{}", format_plan_table(plan, links));
    if (!o.out.empty()) fmt::print("wrote {}\n", o.out);
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* p = app.add_subcommand("plan", "Place experts (with replicas) on the EP GPUs of a topology");
  p->add_option("--topology", o->topology, "topology JSON")->required();
  p->add_option("--loads", o->loads, "expert loads, SGLang format {\"logical_count\": [layer][expert]}")->required();
  p->add_option("--model", o->model, "Hugging Face config.json of the MoE model")->required();
  p->add_option("--ep", o->settings.ep, "EP size (GPU ranks 0..ep-1 of the topology); default: all GPUs");
  p->add_option("--redundant", o->settings.redundant, "extra slots for replicas of hot experts")->capture_default_str();
  p->add_option("--algorithm", o->settings.algorithm, "contiguous, greedy or epsim (topology-aware local search)")
      ->capture_default_str();
  p->add_option("--objective", o->objective, "what epsim minimizes: link, gpu or balanced")->capture_default_str();
  p->add_option("-j,--threads", o->settings.threads, "layers planned in parallel (0 = all cores)")->capture_default_str();
  p->add_option("--baseline", o->settings.baseline, "algorithm shown beside the chosen one")->capture_default_str();
  p->add_option("--tokens-per-gpu", o->settings.tokens_per_gpu,
                "tokens each GPU originates per iteration (loads are rescaled to it); 0 = use counts as is")
      ->capture_default_str();
  p->add_option("--dispatch-bytes-per-element", o->settings.dispatch_bytes_per_element, "1 = FP8 dispatch")
      ->capture_default_str();
  p->add_option("--combine-bytes-per-element", o->settings.combine_bytes_per_element, "2 = BF16 combine")
      ->capture_default_str();
  p->add_option("--routing", o->routing, "shortest (ECMP) or pxn")->capture_default_str();
  p->add_option("--seed", o->settings.seed, "seed of randomized algorithms")->capture_default_str();
  p->add_option("--out", o->out, "write plan.json here");
  p->add_option("--export", o->exports, "also write a deployable form: sglang FILE (--init-expert-location) or eplb FILE")
      ->type_size(2)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  p->add_option("--hbm-GiB", o->settings.hbm_GiB, "GPU memory")->capture_default_str();
  p->add_option("--hbm-reserve-GiB", o->settings.hbm_reserve_GiB,
                "memory kept for attention/dense weights, KV cache and activations")
      ->capture_default_str();
  p->add_option("--weight-bytes-per-element", o->settings.weight_bytes_per_element, "1 = FP8 expert weights")
      ->capture_default_str();
  p->add_flag("--json", o->json, "print the summary as JSON instead of the table");
  p->callback([o] { run_plan(*o); });
}

}  // namespace epsim::cli
