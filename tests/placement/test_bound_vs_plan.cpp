// The certified link bound (placement/bounds/layer_bounds.hpp) never exceeds the cost of any plan
// under the same cost model (the planner's LayerEvaluator, comm/exchange_cost.hpp), for every
// exchange kernel: checked against the cheapest of ALL placements of tiny instances (enumerated), in
// both the bandwidth regime (large loads) and the latency / LL-protocol / ramp regime (small loads).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string_view>
#include <vector>

#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"
#include "placement/bounds/layer_bounds.hpp"
#include "placement/objective.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {

// Every placement of E experts on G ranks x S slots with each expert on >= 1 rank and at most once
// per rank, all slots filled (each rank holds S distinct experts).
std::vector<LayerPlacement> all_placements(int experts, int gpus, int slots) {
  std::vector<std::vector<int>> subsets;  // the S-subsets of the experts
  std::vector<int> pick(static_cast<std::size_t>(slots));
  auto rec = [&](auto&& self, int pos, int from) -> void {
    if (pos == slots) {
      subsets.push_back(pick);
      return;
    }
    for (int e = from; e < experts; ++e) {
      pick[static_cast<std::size_t>(pos)] = e;
      self(self, pos + 1, e + 1);
    }
  };
  rec(rec, 0, 0);
  std::vector<LayerPlacement> out;
  std::vector<std::size_t> idx(static_cast<std::size_t>(gpus), 0);
  while (true) {
    LayerPlacement p{gpus, slots, {}};
    std::vector<int> seen(static_cast<std::size_t>(experts), 0);
    for (int g = 0; g < gpus; ++g)
      for (int e : subsets[idx[static_cast<std::size_t>(g)]]) {
        p.slot_expert.push_back(e);
        seen[static_cast<std::size_t>(e)] = 1;
      }
    if (std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; })) out.push_back(std::move(p));
    int g = 0;
    while (g < gpus && ++idx[static_cast<std::size_t>(g)] == subsets.size()) idx[static_cast<std::size_t>(g++)] = 0;
    if (g == gpus) break;
  }
  return out;
}

}  // namespace

TEST_CASE("all_placements enumerates the placements of a tiny instance", "[bounds][comm]") {
  // 4 experts on 4 ranks x 1 slot: the 4! = 24 permutations.
  CHECK(all_placements(4, 4, 1).size() == 24);
  // 3 experts on 2 ranks x 2 slots: each rank holds one of the 3 pairs; the pairs must cover all 3
  // experts, so the two pairs differ: 3 x 2 = 6 ordered choices.
  CHECK(all_placements(3, 2, 2).size() == 6);
}

TEST_CASE("the certified link bound never exceeds the cheapest plan, for every exchange kernel", "[bounds][comm]") {
  // 2 nodes x 2 GPUs (rail peers exist, so deepep-normal forwards and hierarchical has two phases).
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 2;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  // nvlink-one-sided runs inside one NVLink domain only: its 4 GPUs on one node.
  DgxClusterOptions one_node;
  one_node.nodes = 1;
  one_node.gpus_per_node = 4;
  const Topology node = generate_dgx_cluster(one_node);
  const RouteTable node_routes(node);
  struct Instance {
    std::vector<double> load;
    int slots;
  };
  const std::vector<Instance> instances = {
      {{900, 300, 120, 60}, 1},              // one slot each: the 24 permutations
      {{900, 300, 120, 60, 20, 5}, 2},       // two redundant slots
      {{400, 400, 10, 10, 10, 10}, 2},       // two hot experts
  };
  for (std::string_view name : exchange_kernel_names()) {
    const ExchangeKernelParams kernel = default_kernel_params(parse_exchange_kernel(name));
    for (const ExchangeRouting routing : {ExchangeRouting{1, 1, 0}, ExchangeRouting{0.8, 0.5, 6}}) {
      const bool one_sided = kernel.kind == ExchangeKernelKind::nvlink_one_sided;
      EpLinkModel links(one_sided ? node : topo, one_sided ? node_routes : routes, 4, kernel, routing);
      for (const Instance& in : instances) {
        const auto placements = all_placements(static_cast<int>(in.load.size()), 4, in.slots);
        for (double scale : {100.0, 1.0, 0.01}) {  // bandwidth-bound to latency-bound
          std::vector<double> load = in.load;
          for (double& l : load) l *= scale;
          CAPTURE(name, routing.gpu_factor, in.slots, scale);
          LayerEvaluator eval(links, 7168, 14336, ObjectiveKind::link);
          double cheapest = std::numeric_limits<double>::infinity();
          double least_tokens = std::numeric_limits<double>::infinity();
          for (const LayerPlacement& p : placements) {
            const auto tokens = gpu_token_loads(p, load);
            eval.reset(tokens);
            cheapest = std::min(cheapest, eval.link_time_s());
            least_tokens = std::min(least_tokens, *std::max_element(tokens.begin(), tokens.end()));
          }
          for (bool lp : {false, true}) {
            const LayerBounds b = layer_lower_bounds(links, load, in.slots, 7168, 14336, lp);
            CAPTURE(lp, b.link_s, cheapest, b.gpu_tokens, least_tokens);
            CHECK(b.link_s > 0);
            CHECK(b.link_s <= cheapest * (1 + 1e-9));
            CHECK(b.gpu_tokens <= least_tokens * (1 + 1e-9));
          }
        }
      }
    }
  }
}

TEST_CASE("the closed form at the busiest link's time never exceeds the exchange's cost, for every kernel",
          "[bounds][comm]") {
  // The bound evaluates exchange_time_s at a lower bound of the busiest link's time and of the
  // busiest rank's tokens; at their true values it must not exceed exchange_cost (equal for one-phase
  // kernels; hierarchical's two phases each have their own ramp and latency). 4 nodes x 4 GPUs, token
  // vectors from 0.1 to 1e5 selections per rank (messages from ~100 B to ~100 MB).
  DgxClusterOptions o;
  o.nodes = 4;
  o.gpus_per_node = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  DgxClusterOptions one_node;
  one_node.nodes = 1;
  one_node.gpus_per_node = 16;
  const Topology node = generate_dgx_cluster(one_node);  // nvlink-one-sided
  const RouteTable node_routes(node);
  std::mt19937_64 rng(7);
  for (std::string_view name : exchange_kernel_names()) {
    const bool one_sided = name == "nvlink-one-sided";
    EpLinkModel links(one_sided ? node : topo, one_sided ? node_routes : routes, 16,
                      default_kernel_params(parse_exchange_kernel(name)), ExchangeRouting{0.8, 0.5, 32});
    for (int trial = 0; trial < 200; ++trial) {
      const double scale = std::pow(10.0, -1.0 + 6.0 * static_cast<double>(trial) / 200);
      std::vector<double> tokens(16);
      for (double& t : tokens) t = scale * (0.2 + std::uniform_real_distribution<double>(0, 1)(rng));
      double total = 0, most = 0;
      for (double t : tokens) total += t, most = std::max(most, t);
      for (Exchange dir : {Exchange::dispatch, Exchange::combine}) {
        const double B = dir == Exchange::dispatch ? 7168 : 14336;
        const auto bytes = exchange_link_bytes(links, tokens, B, dir);
        const ExchangeCost cost = exchange_cost(links, bytes, tokens, B, dir);
        double busiest_s = 0;
        for (int l = 0; l < links.num_links(); ++l)
          busiest_s = std::max(busiest_s, bytes[static_cast<std::size_t>(l)] / links.bandwidth_Bps(l, dir));
        const double closed = exchange_time_s(links, busiest_s, total, most, B, dir);
        CAPTURE(name, scale, closed, cost.time_s());
        CHECK(closed <= cost.time_s() * (1 + 1e-12));
      }
    }
  }
}

TEST_CASE("the planner's search objective is the plan's reported exchange cost, header bytes included",
          "[bounds][comm]") {
  // LayerEvaluator (what the search minimizes) and exchange_cost over exchange_link_bytes (what a plan
  // reports, and simulate runs) agree for every kernel. deepep-ll adds a 16-byte header to every copy:
  // before this test the evaluator left it out (its link bytes were 7168 / 7184 of the reported ones).
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  DgxClusterOptions one_node;
  one_node.nodes = 1;
  one_node.gpus_per_node = 8;
  const Topology node = generate_dgx_cluster(one_node);  // nvlink-one-sided
  const RouteTable node_routes(node);
  const std::vector<double> tokens = {300, 100, 50, 800, 120, 90, 60, 400};
  for (std::string_view name : exchange_kernel_names()) {
    CAPTURE(name);
    const bool one_sided = name == "nvlink-one-sided";
    EpLinkModel links(one_sided ? node : topo, one_sided ? node_routes : routes, 8,
                      default_kernel_params(parse_exchange_kernel(name)), ExchangeRouting{0.8, 0.5, 64});
    LayerEvaluator eval(links, 7168, 14336, ObjectiveKind::link);
    eval.reset(tokens);
    const double reported =
        exchange_cost(links, exchange_link_bytes(links, tokens, 7168, Exchange::dispatch), tokens, 7168, Exchange::dispatch)
            .time_s() +
        exchange_cost(links, exchange_link_bytes(links, tokens, 14336, Exchange::combine), tokens, 14336, Exchange::combine)
            .time_s();
    CHECK(eval.link_time_s() == Approx(reported).epsilon(1e-12));
  }
}
