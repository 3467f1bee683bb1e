// Placement benchmark on the real DeepSeek-V3 loads: for EP 32..256 (R = the smallest valid
// redundancy >= EP, and R = 0) on rail-optimized DGX H100
// clusters, per algorithm, the max link time and max GPU load summed over the 58 MoE layers relative
// to the certified lower bounds, the worst layer's link gap, the cross-node bytes relative to
// contiguous, and the planning time relative to contiguous's, all from the same run.
//
// Usage: bench_placement [loads.json] [model.config.json] [max_ep]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "placement/algorithms/algorithms.hpp"
#include "placement/plan.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {

struct Figures {
  double link_s = 0;        // sum over layers of dispatch + combine bottleneck-link time
  double max_tokens = 0;    // sum over layers of the busiest GPU's tokens
  double cross_node = 0;    // bytes leaving nodes (NIC -> leaf), dispatch + combine, all layers
  double seconds = 0;       // wall time of planning all layers
  double link_lb_s = 0;     // sum over layers of the certified link bound
  double tokens_lb = 0;     // sum over layers of the certified max-GPU-tokens bound
  double worst_gap = 0;     // max over layers of link time / bound - 1
};

Figures run(const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads, PlanSettings s) {
  auto t0 = std::chrono::steady_clock::now();
  Plan plan = make_plan(links, model, loads, s);
  Figures f;
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Topology& topo = links.topology();
  for (const LayerResult& l : plan.chosen.layers) {
    f.link_s += l.dispatch.bottleneck_s + l.combine.bottleneck_s;
    f.max_tokens += l.max_gpu_tokens;
    f.link_lb_s += l.bounds.link_s;
    f.tokens_lb += l.bounds.gpu_tokens;
    if (l.bounds.link_s > 0) f.worst_gap = std::max(f.worst_gap, l.link_s() / l.bounds.link_s - 1);
    auto d = exchange_link_bytes(links, l.gpu_tokens, plan.dispatch_bytes_per_token, Exchange::dispatch);
    auto c = exchange_link_bytes(links, l.gpu_tokens, plan.combine_bytes_per_token, Exchange::combine);
    for (int i = 0; i < topo.num_links(); ++i) {
      const Link& link = topo.link(i);
      if (topo.device(link.src).kind == DeviceKind::nic && topo.device(link.dst).kind != DeviceKind::gpu)
        f.cross_node += d[static_cast<std::size_t>(i)] + c[static_cast<std::size_t>(i)];
    }
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string loads_path = argc > 1 ? argv[1] : std::string(EPSIM_SCENARIOS_DIR) + "/loads/deepseek-v3/prefill_in4096.json";
  std::string model_path = argc > 2 ? argv[2] : std::string(EPSIM_SCENARIOS_DIR) + "/models/deepseek-v3.config.json";
  int max_ep = argc > 3 ? std::stoi(argv[3]) : 256;
  MoeModel model = load_moe_model(model_path);
  ExpertLoads loads = load_expert_loads(loads_path);
  fmt::print("bench_placement: {} on {} ({} MoE layers)\n", loads_path, model.name, model.num_moe_layers());
  fmt::print("link/lb, gpu/lb: sums over layers relative to the certified lower bounds; worst: largest layer gap;\n"
             "xnode/base and t/base: cross-node bytes and planning time relative to contiguous in the same run\n\n");
  fmt::print("{:>4} {:>4} {:>11} | {:>8} {:>8} {:>7} | {:>10} | {:>8} {:>8}\n", "EP", "R", "algorithm", "link/lb",
             "gpu/lb", "worst", "xnode/base", "time s", "t/base");
  for (int ep = 32; ep <= max_ep; ep *= 2) {
    DgxClusterOptions cluster;
    cluster.nodes = ep / 8;
    Topology topo = generate_dgx_cluster(cluster);
    RouteTable routes(topo);
    EpLinkModel links(topo, routes, ep);
    // The smallest valid redundancy >= EP (issue 16: one spare slot per GPU at least), and none.
    std::vector<int> redundants{ep + smallest_valid_redundant(model.num_experts + ep, ep), 0};
    for (int r : redundants) {
      PlanSettings s;
      s.ep = ep;
      s.redundant = r;
      s.algorithm = "contiguous";
      s.baseline = "contiguous";
      Figures base = run(links, model, loads, s);
      for (const char* algo : {"contiguous", "greedy", "eplb", "epsim"}) {
        s.algorithm = algo;
        Figures f = std::string(algo) == "contiguous" ? base : run(links, model, loads, s);
        fmt::print("{:>4} {:>4} {:>11} | {:>8.4f} {:>8.4f} {:>6.2f}% | {:>10.3f} | {:>8.3f} {:>8.1f}\n", ep, r, algo,
                   f.link_s / f.link_lb_s, f.max_tokens / f.tokens_lb, f.worst_gap * 100, f.cross_node / base.cross_node,
                   f.seconds, f.seconds / base.seconds);
      }
    }
  }
  return 0;
}
