// The busiest-node link bound (placement/bounds/layer_bounds.hpp) against brute force: every
// placement of tiny instances (at most one replica of an expert per GPU, every expert present),
// evaluated with the plan's cost (comm/link_load.hpp's exchange_cost of dispatch + combine).
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <limits>

#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"
#include "placement/bounds/layer_bounds.hpp"
#include "placement/replica_choice.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {

constexpr double kDispatchBytes = 7168, kCombineBytes = 2 * 7168;

double layer_link_s(const EpLinkModel& links, const std::vector<double>& t) {
  double s = 0;
  for (auto [dir, bytes] : {std::pair{Exchange::dispatch, kDispatchBytes}, std::pair{Exchange::combine, kCombineBytes}})
    s += exchange_cost(links, exchange_link_bytes(links, t, bytes, dir), t, bytes, dir).time_s();
  return s;
}

// Calls f for every placement of E experts on G GPUs x S slots (slot -1 = empty), every expert at
// least once, no expert twice on one GPU.
void for_each_placement(int G, int S, int E, const std::function<void(const LayerPlacement&)>& f) {
  LayerPlacement p;
  p.num_gpus = G;
  p.slots_per_gpu = S;
  p.slot_expert.assign(static_cast<std::size_t>(G * S), -1);
  std::function<void(int)> rec = [&](int slot) {
    if (slot == G * S) {
      for (int e = 0; e < E; ++e)
        if (std::find(p.slot_expert.begin(), p.slot_expert.end(), e) == p.slot_expert.end()) return;
      f(p);
      return;
    }
    const int g = slot / S;
    for (int e = -1; e < E; ++e) {
      bool twice = false;
      for (int k = g * S; k < slot; ++k) twice = twice || (e >= 0 && p.slot_expert[static_cast<std::size_t>(k)] == e);
      if (twice) continue;
      p.slot_expert[static_cast<std::size_t>(slot)] = e;
      rec(slot + 1);
    }
    p.slot_expert[static_cast<std::size_t>(slot)] = -1;
  };
  rec(0);
}

struct BruteForce {
  double rule_min_s = std::numeric_limits<double>::infinity();  // best placement with equal shares
  double lp_min_s = std::numeric_limits<double>::infinity();    // sampled placements with the LP split
  int placements = 0;
};

BruteForce brute_force(const EpLinkModel& links, int S, const std::vector<double>& load) {
  BruteForce b;
  const ReplicaSplitLinks split{&links, kDispatchBytes, kCombineBytes};
  for_each_placement(links.ep(), S, static_cast<int>(load.size()), [&](const LayerPlacement& p) {
    b.rule_min_s = std::min(b.rule_min_s, layer_link_s(links, gpu_token_loads(p, load)));
    if (b.placements++ % 37 == 0)  // the bound holds for any split: check the LP split on a sample
      b.lp_min_s = std::min(b.lp_min_s, layer_link_s(links, split_replicas(p, load, ReplicaChoice::lp, &split).gpu_tokens));
  });
  return b;
}

Topology nodes_of(int nodes, int gpus_per_node) {
  DgxClusterOptions o;
  o.nodes = nodes;
  o.gpus_per_node = gpus_per_node;
  return generate_dgx_cluster(o);
}

}  // namespace

TEST_CASE("busiest-node bound <= every placement's link time (brute force, 2 nodes x 2 GPUs)", "[bounds][node]") {
  Topology topo = nodes_of(2, 2);
  RouteTable routes(topo);
  const std::vector<std::vector<double>> loads{{300, 100, 20}, {100, 100, 100}, {500, 0, 60}, {90, 80, 70, 10}};
  // deepep-normal without and with de-duplication (node_factor < 1: one copy per node, the case the
  // node bound is for), and NCCL's flat all-to-all.
  const EpLinkModel plain(topo, routes, 4);
  const EpLinkModel dedup = plain.with_routing(ExchangeRouting{0.85, 0.4, 0});
  const EpLinkModel nccl(topo, routes, 4, default_kernel_params(ExchangeKernelKind::nccl));
  int tighter = 0;
  for (const EpLinkModel* links : {&plain, &dedup, &nccl})
    for (const auto& load : loads) {
      const int S = 2;  // 8 slots: 4 or 5 redundant
      LayerBounds b = layer_lower_bounds(*links, load, S, kDispatchBytes, kCombineBytes, false);
      BruteForce bf = brute_force(*links, S, load);
      CAPTURE(load, b.link_s, b.busiest_rank_link_s, b.link_tight, bf.rule_min_s, bf.lp_min_s, bf.placements);
      REQUIRE(bf.placements > 0);
      CHECK(b.link_s >= b.busiest_rank_link_s);
      CHECK(b.link_s <= bf.rule_min_s * (1 + 1e-12));
      CHECK(b.link_s <= bf.lp_min_s * (1 + 1e-12));
      if (b.link_s > b.busiest_rank_link_s * (1 + 1e-6)) ++tighter;
    }
  // The node bound adds something on this fabric (checked, not assumed).
  CHECK(tighter > 0);
}

TEST_CASE("busiest-node bound on uneven nodes (EP 3 = 2 + 1 ranks) stays valid", "[bounds][node]") {
  Topology topo = nodes_of(2, 2);
  RouteTable routes(topo);
  const EpLinkModel plain(topo, routes, 3);
  const EpLinkModel dedup = plain.with_routing(ExchangeRouting{0.85, 0.4, 0});
  for (const EpLinkModel* links : {&plain, &dedup})
    for (const std::vector<double>& load : {std::vector<double>{300, 100, 20}, std::vector<double>{50, 40, 30, 20}}) {
      const int S = 2;
      LayerBounds b = layer_lower_bounds(*links, load, S, kDispatchBytes, kCombineBytes, false);
      BruteForce bf = brute_force(*links, S, load);
      CAPTURE(load, b.link_s, b.link_tight, bf.rule_min_s, bf.placements);
      CHECK(b.link_s <= bf.rule_min_s * (1 + 1e-12));
      CHECK(b.link_s <= bf.lp_min_s * (1 + 1e-12));
    }
}

TEST_CASE("busiest-node bound on one node adds nothing", "[bounds][node]") {
  Topology topo = nodes_of(1, 4);
  RouteTable routes(topo);
  const EpLinkModel links(topo, routes, 4);
  LayerBounds b = layer_lower_bounds(links, {300, 100, 20}, 2, kDispatchBytes, kCombineBytes, false);
  CHECK(b.link_tight == "busiest-rank");
  CHECK(b.link_s == b.busiest_rank_link_s);
}
