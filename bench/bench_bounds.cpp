// Gap of epsim's plans to the certified link bound at EP 32..256 with R = EP redundant slots, with
// the busiest-rank bound alone (the bound before the busiest-node bound) and with both
// (placement/bounds/layer_bounds.hpp). DeepSeek-V3, the shipped prefill_in4096 loads (and the other
// shipped windows with an argument), 58 MoE layers, EP / 8 DGX H100 nodes, the planner's link model
// (deepep-normal, uniform-routing de-duplication). The plans are the same for both bounds: only the
// denominator changes. Prints per EP the sum gap and the worst-layer gap under each bound, and the
// ratio of the bounds' sums (new / old), all from the same run.
//
// Usage: bench_bounds [loads name, default prefill_in4096]
#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "comm/token_router.hpp"
#include "placement/plan.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "prefill_in4096";
  MoeModel model = load_moe_model(std::string(EPSIM_SCENARIOS_DIR) + "/models/deepseek-v3.config.json");
  ExpertLoads loads = load_expert_loads(std::string(EPSIM_SCENARIOS_DIR) + "/loads/deepseek-v3/" + name + ".json");
  fmt::print("bench_bounds: DeepSeek-V3 {}, R = EP, EP / 8 DGX H100 nodes, deepep-normal with de-duplication\n", name);
  fmt::print("{:>4} {:>4} | {:>12} {:>12} | {:>12} {:>12} | {:>14} | {:>6}\n", "EP", "R", "sum gap old", "worst old",
             "sum gap new", "worst new", "bound new/old", "wall s");
  for (int ep : {32, 64, 128, 256}) {
    Topology topo = generate_dgx_cluster(dgx_options_for_nodes(ep / 8));
    RouteTable routes(topo);
    EpLinkModel links = planner_link_model(topo, routes, ep, model);
    PlanSettings s;
    s.ep = ep;
    s.redundant = ep;
    s.threads = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Plan plan = make_plan(links, model, loads, s);
    const double cpu_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double plan_s = 0, old_s = 0, new_s = 0, worst_old = 0, worst_new = 0;
    for (const LayerResult& l : plan.chosen.layers) {
      plan_s += l.link_s();
      old_s += l.bounds.busiest_rank_link_s;
      new_s += l.bounds.link_s;
      if (l.bounds.busiest_rank_link_s > 0) worst_old = std::max(worst_old, l.link_s() / l.bounds.busiest_rank_link_s - 1);
      if (l.bounds.link_s > 0) worst_new = std::max(worst_new, l.link_s() / l.bounds.link_s - 1);
    }
    fmt::print("{:>4} {:>4} | {:>11.2f}% {:>11.2f}% | {:>11.3f}% {:>11.3f}% | {:>14.4f} | {:>6.1f}\n", ep, ep,
               (plan_s / old_s - 1) * 100, worst_old * 100, (plan_s / new_s - 1) * 100, worst_new * 100, new_s / old_s,
               cpu_s);
  }
  return 0;
}
