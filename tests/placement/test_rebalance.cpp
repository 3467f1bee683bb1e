// Periodic rebalancing (placement/rebalance): assignment, minimal-move matching, migration bytes
// over the links, and a T = 10, K = 3 run computed by hand.
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/error.hpp"
#include "placement/rebalance/assignment.hpp"
#include "placement/rebalance/migration.hpp"
#include "placement/rebalance/rebalance.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {

// 4 experts, one MoE layer; one replica = 3 x 1024 x 512 x 1 B = 1,572,864 B (FP8 weights).
MoeModel four_experts() {
  MoeModel m;
  m.name = "four";
  m.num_layers = 1;
  m.hidden_size = 1024;
  m.num_experts = 4;
  m.top_k = 1;
  m.moe_intermediate_size = 512;
  m.num_attention_heads = 8;
  return m;
}

ExpertLoads window(const char* name, std::vector<double> counts) {
  ExpertLoads l;
  l.source = name;
  l.count = {std::move(counts)};
  return l;
}

constexpr double kReplicaBytes = 3.0 * 1024 * 512;

}  // namespace

TEST_CASE("max-weight assignment", "[rebalance]") {
  // Best: row 0 -> 2 (5), row 1 -> 0 (4), row 2 -> 1 (3): 12; any other permutation is lower.
  std::vector<std::vector<double>> w{{1, 2, 5}, {4, 1, 1}, {2, 3, 1}};
  CHECK(max_weight_assignment(w) == std::vector<int>{2, 0, 1});
  CHECK_THROWS(max_weight_assignment({{1, 2}}));
}

TEST_CASE("rebalance count: exactly floor(T / K), none for K = 0 or K > T", "[rebalance]") {
  CHECK(rebalance_count(10, 3) == 3);
  CHECK(rebalance_count(9, 3) == 3);
  CHECK(rebalance_count(10, 10) == 1);
  CHECK(rebalance_count(10, 11) == 0);
  CHECK(rebalance_count(10, 0) == 0);
  CHECK(rebalance_count(0, 3) == 0);
  CHECK_THROWS_AS(rebalance_count(10, -1), UsageError);
  CHECK_THROWS_AS(rebalance_count(-1, 2), UsageError);
}

TEST_CASE("matching keeps experts in place, migration bytes cross the NICs", "[rebalance]") {
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 1;  // GPU 0 on node 0, GPU 1 on node 1: every copy crosses the network
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  LayerPlacement old{2, 2, {0, 3, 1, 2}};    // {0,3} | {1,2}
  LayerPlacement fresh{2, 2, {1, 3, 2, 0}};  // {1,3} | {0,2}: relabelled, GPU 0 keeps 0 or 3
  auto all = [](const LayerPlacement&) { return true; };
  LayerPlacement m = match_placement(old, fresh, all);
  CHECK(replicas_to_copy(old, m) == 2);  // one expert per GPU changes
  // Kept experts stay in their slot: GPU 0 held 0 in slot 0 or 3 in slot 1.
  CHECK((m.slot_expert[0] == 0 || m.slot_expert[1] == 3));
  // Identical contents in another slot order: nothing to copy, and the old slot order is kept.
  LayerPlacement same{2, 2, {3, 0, 2, 1}};
  CHECK(match_placement(old, same, all) == old);
  Migration mig = plan_migration(routes, {old}, {m}, kReplicaBytes);
  REQUIRE(mig.copies.size() == 2);
  CHECK(mig.bytes == 2 * kReplicaBytes);
  // One replica each way; the slowest hop is the 50 GB/s NIC: 1,572,864 B / 50e9 B/s = 31.457 us.
  CHECK(mig.bottleneck_s == Approx(kReplicaBytes / 50e9));
  CHECK(mig.latency_s > 0);
}

TEST_CASE("T = 10 windows, rebalance every K = 3: 3 rebalances, moved bytes by hand", "[rebalance]") {
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 1;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 2);
  MoeModel model = four_experts();
  // A = [8,4,2,1]: the best pairing is {0,3}|{1,2} (9 | 6); B = [8,2,1,4]: {0,2}|{1,3} (9 | 6).
  ExpertLoads a = window("A", {8, 4, 2, 1}), b = window("B", {8, 2, 1, 4});
  std::vector<const ExpertLoads*> windows{&a, &a, &a, &b, &b, &b, &a, &a, &a, &b};
  PlanSettings ps;
  ps.ep = 2;
  ps.tokens_per_gpu = 0;  // counts as they are
  ps.objective = ObjectiveKind::gpu;
  ps.threads = 1;
  ps.baseline = "epsim";
  Plan first = make_plan(links, model, a, ps);
  std::vector<LayerPlacement> initial = placements_by_layer(first.chosen, model);
  auto pairs = [](const LayerPlacement& p) {
    std::vector<int> g0{p.slot_expert[0], p.slot_expert[1]};
    std::sort(g0.begin(), g0.end());
    return g0;
  };
  REQUIRE((pairs(initial[0]) == std::vector<int>{0, 3} || pairs(initial[0]) == std::vector<int>{1, 2}));
  // Iteration "time" = the busiest GPU's tokens (a stand-in cost, so every value is hand-made).
  IterationCostFn cost = [](const std::vector<LayerPlacement>& pl, const ExpertLoads& l) {
    auto t = gpu_token_loads(pl[0], l.count[0]);
    return IterationCost{*std::max_element(t.begin(), t.end()), {}};
  };
  RebalanceSettings rs;
  rs.every = 3;
  rs.iterations_per_window = 2;
  RebalanceReport r = run_rebalancing(links, routes, model, windows, ps, rs, initial, cost);
  REQUIRE(r.events.size() == 3);  // floor(10 / 3), after windows 3, 6, 9
  CHECK(r.events[0].after_window == 3);
  CHECK(r.events[1].after_window == 6);
  CHECK(r.events[2].after_window == 9);
  // After 3: counts of 3 x A -> the A pairing again, nothing moves. After 6: 3 x B -> {0,2}|{1,3}:
  // one expert per GPU changes (2 copies). After 9: back to A (2 copies). 4 x 1,572,864 B.
  CHECK(r.events[0].moved_replicas == 0);
  CHECK(r.events[1].moved_replicas == 2);
  CHECK(r.events[2].moved_replicas == 2);
  CHECK(r.moved_bytes == 4 * kReplicaBytes);
  CHECK(r.events[0].exposed_s == 0);
  // Blocking copies: window 7 and window 10 carry the migration of the rebalance before them.
  // Migration time = 1,572,864 B / 50 GB/s (one replica each way over the NICs) + route latency
  // (a few hops of 250-600 ns each: under 10 us).
  CHECK(r.events[1].migration_s > kReplicaBytes / 50e9);
  CHECK(r.events[1].migration_s < kReplicaBytes / 50e9 + 1e-5);
  // Per window busiest-GPU tokens: static (A pairing throughout) 9,9,9,12,12,12,9,9,9,12;
  // rebalanced 9,9,9 | 12,12,12 (A plan again) | 10,10,10 (B plan on A) | 12 (A plan on B).
  const double st[] = {9, 9, 9, 12, 12, 12, 9, 9, 9, 12};
  const double rb[] = {9, 9, 9, 12, 12, 12, 10, 10, 10, 12};
  for (int w = 0; w < 10; ++w) {
    INFO("window " << w + 1);
    CHECK(r.windows[static_cast<std::size_t>(w)].static_iteration_s == st[w]);
    CHECK(r.windows[static_cast<std::size_t>(w)].rebalanced_iteration_s == rb[w]);
  }
  CHECK(r.windows[6].rebalanced_window_s == Approx(2 * 10 + r.events[1].migration_s));
  CHECK(r.windows[9].rebalanced_window_s == Approx(2 * 12 + r.events[2].migration_s));
  CHECK(r.static_total_s == Approx(2 * (9 * 6 + 12 * 4)));
  CHECK(r.rebalanced_total_s == Approx(2 * (9 * 3 + 12 * 4 + 10 * 3) + r.events[1].migration_s + r.events[2].migration_s));
  // K = 0 and K > T: no rebalance, the rebalanced run is the static one.
  for (int k : {0, 11}) {
    rs.every = k;
    RebalanceReport none = run_rebalancing(links, routes, model, windows, ps, rs, initial, cost);
    CHECK(none.events.empty());
    CHECK(none.rebalanced_total_s == none.static_total_s);
  }
}
