// Out-of-sample placement benchmark on the 7 shipped DeepSeek-V3 load windows: for every held-out
// window w, the sum over the 58 MoE layers of the dispatch + combine bottleneck-link time on w of
//   contiguous (load-independent), eplb planned on w itself (in-sample), epsim planned on one other
//   window v (single-window, out-of-sample: mean and worst over v != w), and epsim robust planned on
//   the 6 other windows (--robust max, leave-one-window-out),
// each relative to epsim planned on w itself (the window's own in-sample plan), from the same run.
// EP 32 + 32 redundant on 4 DGX H100 nodes (the set-up of the issue), the link model of `epsim plan`
// (deepep-normal, uniform-routing de-duplication). Every plan is evaluated with the replica choice of
// the second argument (rule: equal shares; lp: the per-batch LP of placement/replica_choice.hpp).
//
// Usage: bench_robust [robust: mean|max] [replica choice: rule|lp]
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "placement/holdout.hpp"
#include "comm/token_router.hpp"
#include "placement/plan.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

int main(int argc, char** argv) {
  const std::string dir = std::string(EPSIM_SCENARIOS_DIR) + "/loads/deepseek-v3";
  const std::vector<std::string> names{"decode_in1000out1000", "decode_in1800out100",  "decode_in2000out100",
                                       "prefill_in1000out1000", "prefill_in1024", "prefill_in2048",
                                       "prefill_in4096"};
  MoeModel model = load_moe_model(std::string(EPSIM_SCENARIOS_DIR) + "/models/deepseek-v3.config.json");
  std::vector<ExpertLoads> loads;
  for (const auto& n : names) loads.push_back(load_expert_loads(dir + "/" + n + ".json"));
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(4));
  RouteTable routes(topo);
  EpLinkModel links = planner_link_model(topo, routes, 32, model);
  PlanSettings s;
  s.ep = 32;
  s.redundant = 32;
  s.robust = argc > 1 ? parse_robust(argv[1]) : RobustKind::max;
  s.replica_choice = argc > 2 ? parse_replica_choice(argv[2]) : ReplicaChoice::rule;
  auto t0 = std::chrono::steady_clock::now();
  auto plan_with = [&](const std::string& algorithm, std::vector<const ExpertLoads*> windows) {
    PlanSettings p = s;
    p.algorithm = p.baseline = algorithm;
    return make_plan(links, model, windows, p);
  };
  const std::size_t W = names.size();
  std::vector<std::vector<LayerPlacement>> own(W), eplb(W);
  for (std::size_t w = 0; w < W; ++w) {
    own[w] = placements_by_layer(plan_with("epsim", {&loads[w]}).chosen, model);
    eplb[w] = placements_by_layer(plan_with("eplb", {&loads[w]}).chosen, model);
  }
  Plan shape = prepare_plan(links, model, s);
  auto on = [&](const std::vector<LayerPlacement>& pl, std::size_t w) {
    return sum_link_s(evaluate_placements(links, model, loads[w], shape, pl, "eval", false));
  };
  const std::vector<LayerPlacement> contiguous = placements_by_layer(plan_with("contiguous", {&loads[0]}).chosen, model);
  fmt::print("bench_robust: DeepSeek-V3, EP 32 + 32 redundant, 4 DGX H100 nodes, robust = {}, replica choice = {}\n",
             to_string(s.robust), to_string(s.replica_choice));
  fmt::print("sum over layers of the link time on the held-out window, relative to epsim planned on that window\n\n");
  fmt::print("{:<22} | {:>10} {:>10} | {:>12} {:>12} | {:>12} {:>12}\n", "held-out window", "contiguous", "eplb in",
             "single mean", "single worst", "robust LOO", "robust in");
  std::vector<const ExpertLoads*> all;
  for (const auto& l : loads) all.push_back(&l);
  const auto robust_all = placements_by_layer(plan_with("epsim", all).chosen, model);
  double worst_robust = 0;
  for (std::size_t w = 0; w < W; ++w) {
    const double ref = on(own[w], w);
    double single_sum = 0, single_worst = 0;
    for (std::size_t v = 0; v < W; ++v) {
      if (v == w) continue;
      const double x = on(own[v], w) / ref;
      single_sum += x;
      single_worst = std::max(single_worst, x);
    }
    std::vector<const ExpertLoads*> others;
    for (std::size_t v = 0; v < W; ++v)
      if (v != w) others.push_back(&loads[v]);
    const double robust = on(placements_by_layer(plan_with("epsim", others).chosen, model), w) / ref;
    worst_robust = std::max(worst_robust, robust);
    fmt::print("{:<22} | {:>10.3f} {:>10.3f} | {:>12.3f} {:>12.3f} | {:>12.3f} {:>12.3f}\n", names[w],
               on(contiguous, w) / ref, on(eplb[w], w) / ref, single_sum / static_cast<double>(W - 1), single_worst,
               robust, on(robust_all, w) / ref);
  }
  fmt::print("\nworst held-out window of epsim robust: {:.3f}; total time {:.1f} s\n", worst_robust,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
