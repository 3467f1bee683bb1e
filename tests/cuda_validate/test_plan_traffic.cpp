// Plan -> per-pair byte counts: the counts the harness sends must be the bytes the planner's link
// model puts on links.
#include <catch2/catch.hpp>

#include <map>

#include "common/error.hpp"
#include "cuda_validate/plan_traffic.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using namespace epsim::validate;

namespace {

// Sum over pairs s != d of bytes(s, d) x (share of route(s -> d) on link l).
std::vector<double> link_bytes_from_pairs(const PairMatrix& m, const RouteTable& routes, int num_links) {
  std::vector<double> bytes(static_cast<std::size_t>(num_links), 0.0);
  for (int s = 0; s < m.size(); ++s)
    for (int d = 0; d < m.size(); ++d) {
      if (s == d) continue;
      for (const RouteHop& h : routes.route(s, d))
        bytes[static_cast<std::size_t>(h.link)] += static_cast<double>(m.at(s, d)) * h.fraction;
    }
  return bytes;
}

// Known per-expert loads, one expert per GPU: multiples of 16 (= EP) so that every source rank
// sends exactly T_d / 16 tokens, and skewed (rank 5 is 9x rank 0).
std::vector<double> known_tokens() {
  std::vector<double> t;
  for (int d = 0; d < 16; ++d) t.push_back(16.0 * 8 * (1 + (d * 7) % 9));
  return t;
}

}  // namespace

TEST_CASE("16-GPU plan: per-pair counts x route fractions equal the planner's link bytes exactly", "[cuda_validate]") {
  DgxClusterOptions o;  // 2 nodes x 8 GPUs, rail-optimized, 8 spines
  Topology topo = generate_dgx_cluster(o);
  REQUIRE(topo.num_gpus() == 16);
  auto policy = GENERATE(RoutingPolicy::shortest, RoutingPolicy::pxn);
  RouteTable routes(topo, RoutingOptions{policy});
  // The harness replays a plan with NCCL all-to-all-v: one copy per (token, expert), the nccl kernel.
  EpLinkModel links(topo, routes, 16, default_kernel_params(ExchangeKernelKind::nccl));
  const std::vector<double> tokens = known_tokens();
  const std::int64_t dispatch_bpt = 7168;  // DeepSeek-V3 hidden 7168, FP8
  const std::int64_t combine_bpt = 14336;  // BF16
  for (auto [dir, bpt] : {std::pair{Exchange::dispatch, dispatch_bpt}, std::pair{Exchange::combine, combine_bpt}}) {
    PairMatrix m = exchange_pair_bytes(tokens, bpt, dir);
    std::vector<double> expected = exchange_link_bytes(links, tokens, static_cast<double>(bpt), dir);
    std::vector<double> got = link_bytes_from_pairs(m, routes, topo.num_links());
    // Every term is an integer times a dyadic fraction (1, 1/2, 1/8 ...), so both sums are exact.
    for (int l = 0; l < topo.num_links(); ++l) {
      INFO("link " << topo.link_name(l));
      REQUIRE(got[static_cast<std::size_t>(l)] == expected[static_cast<std::size_t>(l)]);
    }
    // Buffer sizes: in dispatch rank d receives T_d tokens; in combine it sends them back.
    for (int d = 0; d < 16; ++d) {
      auto t = static_cast<std::int64_t>(tokens[static_cast<std::size_t>(d)]);
      if (dir == Exchange::dispatch) CHECK(m.recv_total(d) == t * bpt);
      else CHECK(m.send_total(d) == t * bpt);
    }
    // Off-diagonal bytes: sum_d T_d x (15/16) x bpt.
    double total = 0;
    for (double t : tokens) total += t;
    CHECK(static_cast<double>(m.off_diagonal_total()) == total * 15 / 16 * static_cast<double>(bpt));
  }
}

TEST_CASE("Counts of a plan made by make_plan and read back from plan.json match its link bytes", "[cuda_validate]") {
  Topology topo = generate_dgx_cluster(DgxClusterOptions{});
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 16, default_kernel_params(ExchangeKernelKind::nccl));
  MoeModel model = load_moe_model(EPSIM_SCENARIOS_DIR "/models/phi-3.5-moe-instruct.config.json");
  REQUIRE(model.num_experts == 16);
  ExpertLoads loads;
  loads.source = "hand-made";
  for (int layer = 0; layer < model.num_layers; ++layer) {
    std::vector<double> row;
    for (int e = 0; e < 16; ++e) row.push_back(16.0 * (1 + (e * 5 + layer) % 13));  // multiples of EP
    loads.count.push_back(row);
  }
  PlanSettings settings;
  settings.ep = 16;
  settings.algorithm = "contiguous";
  settings.tokens_per_gpu = 0;  // keep the counts, so gpu_tokens are integers divisible by 16
  Plan plan = make_plan(links, model, loads, settings);
  Json doc = plan_to_json(plan, links, PlanInputs{"t.json", "l.json", "m.json"});
  PlanTraffic traffic = plan_traffic_from_json(doc, "plan.json");
  REQUIRE(traffic.ep == 16);
  REQUIRE(traffic.gpus.size() == 16);
  REQUIRE(traffic.layers.size() == plan.chosen.layers.size());
  CHECK(traffic.dispatch_bytes_per_token == static_cast<std::int64_t>(plan.dispatch_bytes_per_token));
  const PlanLayer& layer = traffic.default_layer();
  CHECK(layer.layer == plan.chosen.worst_layer);
  for (Exchange dir : {Exchange::dispatch, Exchange::combine}) {
    PairMatrix m = exchange_pair_bytes(layer.gpu_tokens, traffic.bytes_per_token(dir), dir);
    auto expected =
        exchange_link_bytes(links, layer.gpu_tokens, static_cast<double>(traffic.bytes_per_token(dir)), dir);
    auto got = link_bytes_from_pairs(m, routes, topo.num_links());
    for (std::size_t l = 0; l < got.size(); ++l) REQUIRE(got[l] == expected[l]);
  }
}

TEST_CASE("Token counts that EP does not divide are split with no token lost", "[cuda_validate]") {
  // count(s, d) = floor(T (s+1) / n) - floor(T s / n): sums to T, entries differ by at most 1.
  std::vector<double> tokens = {0, 1, 7, 100, 333.4, 5};
  PairMatrix m = dispatch_token_counts(tokens);
  for (int d = 0; d < m.size(); ++d) {
    std::int64_t lo = m.at(0, d), hi = m.at(0, d);
    for (int s = 0; s < m.size(); ++s) {
      lo = std::min(lo, m.at(s, d));
      hi = std::max(hi, m.at(s, d));
    }
    CHECK(m.recv_total(d) == std::llround(tokens[static_cast<std::size_t>(d)]));
    CHECK(hi - lo <= 1);
  }
  CHECK(m.at(0, 3) == 16);  // floor(100 / 6)
  CHECK_THROWS_AS(dispatch_token_counts({1, -2}), InputError);
  // Combine returns results: rank 2 sends back the 18 / 3 tokens rank 0 dispatched to it, x 10 B.
  CHECK(exchange_pair_bytes({6, 12, 18}, 10, Exchange::combine).at(2, 0) == 60);
}

TEST_CASE("plan.json fields the harness needs are checked", "[cuda_validate]") {
  Json good = Json::parse(R"({"schema":"epsim.plan/1","settings":{"ep":2,"slots_per_gpu":1,"dispatch_bytes_per_token":7168,
    "combine_bytes_per_token":14336},"gpus":["n0/gpu0","n0/gpu1"],
    "layers":[{"layer":3,"gpu_tokens":[10,20]},{"layer":4,"gpu_tokens":[30,40]}]})");
  PlanTraffic p = plan_traffic_from_json(good, "plan.json");
  CHECK(p.find_layer(4).gpu_tokens[1] == 40);
  CHECK(p.default_layer().layer == 3);
  CHECK_THROWS_WITH(p.find_layer(9), Catch::Contains("plan.json") && Catch::Contains("/layers"));

  Json bad = good;
  bad["settings"]["dispatch_bytes_per_token"] = 7168.5;
  CHECK_THROWS_WITH(plan_traffic_from_json(bad, "plan.json"),
                    Catch::Contains("/settings/dispatch_bytes_per_token") && Catch::Contains("whole number"));
  bad = good;
  bad["layers"][1]["gpu_tokens"] = {1, 2, 3};
  CHECK_THROWS_WITH(plan_traffic_from_json(bad, "plan.json"), Catch::Contains("/layers/1/gpu_tokens"));
  bad = good;
  bad["settings"].erase("ep");
  CHECK_THROWS_WITH(plan_traffic_from_json(bad, "plan.json"), Catch::Contains("/settings/ep"));
  // The settings come from placement's plan reader (one reader): its schema check applies.
  bad = good;
  bad["schema"] = "epsim.plan/0";
  CHECK_THROWS_WITH(plan_traffic_from_json(bad, "plan.json"), Catch::Contains("/schema") && Catch::Contains("epsim.plan/1"));
  bad = good;
  bad["settings"].erase("combine_bytes_per_token");
  CHECK_THROWS_WITH(plan_traffic_from_json(bad, "plan.json"), Catch::Contains("/settings/combine_bytes_per_token"));
}

TEST_CASE("GEMM sizes to measure follow the plan's tokens per expert", "[cuda_validate]") {
  PlanTraffic p;
  p.ep = 4;
  p.slots_per_gpu = 2;
  PlanLayer l{0, {100, 100, 0, 301}};
  // round(t / 2 slots): 50, 50, 0 (dropped), 151 (150.5 rounds away from zero).
  CHECK(tokens_per_expert_sweep(p, l) == std::vector<int>{50, 151});
  PlanLayer many{0, {}};
  for (int d = 1; d <= 20; ++d) many.gpu_tokens.push_back(2.0 * d);  // M = 1..20
  std::vector<int> sweep = tokens_per_expert_sweep(p, many, 5);
  CHECK(sweep == std::vector<int>{1, 5, 10, 15, 20});  // quantiles at index 19 q / 4, ends kept
}
