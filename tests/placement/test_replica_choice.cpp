// Replica choice (placement/replica_choice.hpp): the rule's equal shares and the per-batch LP split of
// each expert's tokens over its replicas; its effect on a plan and its record in plan.json.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/error.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "placement/plan_reader.hpp"
#include "placement/replica_choice.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {

LayerPlacement placement_of(int gpus, int slots, std::vector<int> slot_expert) {
  LayerPlacement p;
  p.num_gpus = gpus;
  p.slots_per_gpu = slots;
  p.slot_expert = std::move(slot_expert);
  return p;
}

double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// Busiest link time of one exchange direction for given GPU tokens (comm/link_load.hpp).
double busiest_link_s(const EpLinkModel& links, const std::vector<double>& gpu_tokens, double bytes, Exchange dir) {
  auto b = exchange_link_bytes(links, gpu_tokens, bytes, dir);
  double t = 0;
  for (int l = 0; l < links.num_links(); ++l) t = std::max(t, b[static_cast<std::size_t>(l)] / links.bandwidth_Bps(l, dir));
  return t;
}

}  // namespace

TEST_CASE("replica choice names, an unknown choice is rejected naming the valid ones", "[placement][replica_choice]") {
  CHECK(replica_choice_names() == std::vector<std::string>{"rule", "lp"});
  CHECK(parse_replica_choice("rule") == ReplicaChoice::rule);
  CHECK(parse_replica_choice("lp") == ReplicaChoice::lp);
  CHECK(to_string(ReplicaChoice::lp) == "lp");
  CHECK_THROWS_WITH(parse_replica_choice("greedy"),
                    Catch::Contains("replica_choice greedy") && Catch::Contains("rule or lp"));
  CHECK_THROWS_AS(parse_replica_choice(""), SettingError);
}

TEST_CASE("lp split: 2 GPUs, expert 0 on both, beats the rule by 30 tokens", "[placement][replica_choice]") {
  // GPU 0 = {expert 0, expert 1}, GPU 1 = {expert 0, expert 2}; loads 100, 60, 0.
  LayerPlacement pl = placement_of(2, 2, {0, 1, 0, 2});
  const std::vector<double> load{100, 60, 0};
  // rule: each replica of expert 0 computes 100 / 2 = 50: GPU 0 = 50 + 60 = 110, GPU 1 = 50 + 0 = 50.
  ReplicaSplit rule = split_replicas(pl, load, ReplicaChoice::rule);
  CHECK(rule.gpu_tokens == std::vector<double>{110, 50});
  CHECK(rule.lp_solves == 0);
  // lp: min T s.t. x0 + x1 = 100, 60 + x0 <= T, x1 <= T  ->  T = (100 + 60) / 2 = 80 at x0 = 20, x1 = 80.
  ReplicaSplit lp = split_replicas(pl, load, ReplicaChoice::lp);
  CHECK(lp.lp_solves == 1);
  CHECK(lp.gpu_tokens[0] == Approx(80));
  CHECK(lp.gpu_tokens[1] == Approx(80));
  CHECK(lp.slot_tokens[0] == Approx(20));
  CHECK(lp.slot_tokens[1] == Approx(60));
  CHECK(lp.slot_tokens[2] == Approx(80));
  CHECK(lp.slot_tokens[3] == Approx(0).margin(1e-12));
  // The gain: busiest GPU 110 -> 80 (110 / 80 = 1.375).
  CHECK(max_of(rule.gpu_tokens) / max_of(lp.gpu_tokens) == Approx(1.375));
}

TEST_CASE("lp split: a chain of two replicated experts over 3 GPUs reaches the average", "[placement][replica_choice]") {
  // GPU 0 = {A, B}, GPU 1 = {A, C}, GPU 2 = {C, D}; A, B, C, D = experts 0..3, loads 90, 30, 60, 0.
  LayerPlacement pl = placement_of(3, 2, {0, 1, 0, 2, 2, 3});
  const std::vector<double> load{90, 30, 60, 0};
  // rule: A and C halve: GPU 0 = 45 + 30 = 75, GPU 1 = 45 + 30 = 75, GPU 2 = 30 + 0 = 30.
  CHECK(split_replicas(pl, load, ReplicaChoice::rule).gpu_tokens == std::vector<double>{75, 75, 30});
  // lp: the average 180 / 3 = 60 is reachable: A = 30 on GPU 0 and 60 on GPU 1, C = 0 on GPU 1 and
  // 60 on GPU 2 (GPU 0 = 30 + 30, GPU 1 = 60 + 0, GPU 2 = 60); no split does better than the average.
  ReplicaSplit lp = split_replicas(pl, load, ReplicaChoice::lp);
  for (double t : lp.gpu_tokens) CHECK(t == Approx(60));
  CHECK(lp.slot_tokens[0] == Approx(30));
  CHECK(lp.slot_tokens[2] == Approx(60));
  CHECK(lp.slot_tokens[3] == Approx(0).margin(1e-9));
  CHECK(lp.slot_tokens[4] == Approx(60));
}

TEST_CASE("lp split: nothing to solve without a replicated expert", "[placement][replica_choice]") {
  LayerPlacement pl = placement_of(2, 2, {0, 1, 2, -1});
  const std::vector<double> load{5, 7, 11};
  ReplicaSplit lp = split_replicas(pl, load, ReplicaChoice::lp);
  CHECK(lp.lp_solves == 0);
  CHECK(lp.gpu_tokens == std::vector<double>{12, 11});
  CHECK(lp.slot_tokens == std::vector<double>{5, 7, 11, 0});
}

TEST_CASE("lp split: never worse than the rule, every expert's tokens conserved (random placements)",
          "[placement][replica_choice]") {
  std::mt19937_64 rng(16);
  for (int trial = 0; trial < 60; ++trial) {
    const int G = 2 + static_cast<int>(rng() % 7), S = 1 + static_cast<int>(rng() % 3);
    const int E = std::max(1, G * S - static_cast<int>(rng() % static_cast<unsigned>(G * S)));
    // Every expert once (a random GPU order), then random extra replicas on GPUs without one.
    std::vector<int> slots(static_cast<std::size_t>(G * S), -1);
    std::vector<int> order(static_cast<std::size_t>(G * S));
    for (int i = 0; i < G * S; ++i) order[static_cast<std::size_t>(i)] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (int e = 0; e < E; ++e) slots[static_cast<std::size_t>(order[static_cast<std::size_t>(e)])] = e;
    for (int i = E; i < G * S; ++i) {
      const int p = order[static_cast<std::size_t>(i)], g = p / S, e = static_cast<int>(rng() % static_cast<unsigned>(E));
      bool on_gpu = false;
      for (int k = 0; k < S; ++k) on_gpu = on_gpu || slots[static_cast<std::size_t>(g * S + k)] == e;
      if (!on_gpu) slots[static_cast<std::size_t>(p)] = e;
    }
    LayerPlacement pl = placement_of(G, S, slots);
    check_placement(pl, E, "random placement");
    std::vector<double> load(static_cast<std::size_t>(E));
    for (double& v : load) v = static_cast<double>(rng() % 1000);
    ReplicaSplit rule = split_replicas(pl, load, ReplicaChoice::rule);
    ReplicaSplit lp = split_replicas(pl, load, ReplicaChoice::lp);
    CAPTURE(trial, G, S, E);
    CHECK(max_of(lp.gpu_tokens) <= max_of(rule.gpu_tokens) * (1 + 1e-12));
    // The average is a lower bound on any split's busiest GPU.
    double total = 0;
    for (double v : load) total += v;
    CHECK(max_of(lp.gpu_tokens) >= total / G * (1 - 1e-9));
    std::vector<double> per_expert(static_cast<std::size_t>(E), 0.0);
    for (std::size_t p = 0; p < slots.size(); ++p) {
      CHECK(lp.slot_tokens[p] >= 0);
      if (slots[p] >= 0) per_expert[static_cast<std::size_t>(slots[p])] += lp.slot_tokens[p];
    }
    for (int e = 0; e < E; ++e) CHECK(per_expert[static_cast<std::size_t>(e)] == Approx(load[static_cast<std::size_t>(e)]));
  }
}

TEST_CASE("lp split, stage 2: among busiest-GPU optima, the one with the lighter busiest links",
          "[placement][replica_choice]") {
  // EP 12 on 2 DGX nodes of 8 GPUs: ranks 0..7 on node 0, 8..11 on node 1 (4 GPUs). S = 1, 11 experts:
  // expert 0 (load 200) on GPUs 0 and 8, expert 1 (150) on GPU 1, experts 2..10 (10 each) elsewhere.
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 12);
  LayerPlacement pl = placement_of(12, 1, {0, 1, 2, 3, 4, 5, 6, 7, 0, 8, 9, 10});
  std::vector<double> load(11, 10.0);
  load[0] = 200;
  load[1] = 150;
  const double bytes = 7168;
  const ReplicaSplitLinks with_links{&links, bytes, 2 * bytes};
  ReplicaSplit rule = split_replicas(pl, load, ReplicaChoice::rule);
  ReplicaSplit lp = split_replicas(pl, load, ReplicaChoice::lp, &with_links);
  // Stage 1: GPU 1's 150 tokens are fixed, so T1 = 150 and any x0 + x8 = 200 with both <= 150 is
  // optimal (the rule's 100 + 100 too).
  CHECK(max_of(rule.gpu_tokens) == Approx(150));
  CHECK(max_of(lp.gpu_tokens) == Approx(150));
  // Stage 2 (link rows of deepep-normal's same-rail forwarding, EpLinkModel::into / out_of): node 1
  // has rails 0..3 only, so the NIC down-link leaf0 -> node1/nic0 carries rank 8's dispatch from 5
  // node-0 ranks (rail 0 and rails 4..7) and 1 share of each of ranks 9..11: 5 x8 + 30 (tokens x
  // bytes / 12 / 50 GB/s). The up-link node1/nic0 -> leaf0 carries 1 share of every node-0 rank:
  // x0 + 150 + 6 x 10 = 410 - x8 (x0 = 200 - x8). Both are 50 GB/s NIC links; every other link is
  // lighter (leaf1 -> node1/nic1: x8 + 5 x 10 + 20; NVLink into rank 8: 6 x8 at 9x the bandwidth).
  // min over x8 of max(5 x8 + 30, 410 - x8): x8 = 380 / 6 = 63.33, both 346.67 (inside 50 <= x8 <= 75
  // of stage 1); the rule's x8 = 100 gives max(530, 310) = 530. Ratio rule / lp = 530 / 346.67 =
  // 1.5288. Combine's rows are the mirror (out_of), so the same split and the same ratio.
  CHECK(lp.gpu_tokens[8] == Approx(380.0 / 6.0).epsilon(1e-6));
  CHECK(lp.gpu_tokens[0] == Approx(200 - 380.0 / 6.0).epsilon(1e-6));
  CHECK(busiest_link_s(links, rule.gpu_tokens, bytes, Exchange::dispatch) /
            busiest_link_s(links, lp.gpu_tokens, bytes, Exchange::dispatch) ==
        Approx(530.0 / (410 - 380.0 / 6.0)).epsilon(1e-6));
  CHECK(busiest_link_s(links, rule.gpu_tokens, 2 * bytes, Exchange::combine) /
            busiest_link_s(links, lp.gpu_tokens, 2 * bytes, Exchange::combine) ==
        Approx(530.0 / (410 - 380.0 / 6.0)).epsilon(1e-6));
  CHECK(lp.lp_solves >= 2);
  // Without the link model only stage 1 runs.
  CHECK(split_replicas(pl, load, ReplicaChoice::lp).lp_solves == 1);
}

TEST_CASE("split_replicas rejects mismatched sizes and bad loads", "[placement][replica_choice]") {
  LayerPlacement pl = placement_of(2, 2, {0, 1, 0, 2});
  CHECK_THROWS_AS(split_replicas(pl, {1, 2}, ReplicaChoice::lp), std::invalid_argument);  // expert 2 has no load
  CHECK_THROWS_AS(split_replicas(pl, {1, -2, 3}, ReplicaChoice::lp), std::invalid_argument);
  CHECK_THROWS_AS(split_replicas(pl, {1, std::nan(""), 3}, ReplicaChoice::rule), std::invalid_argument);
  LayerPlacement bad = placement_of(2, 2, {0, 1, 0});
  CHECK_THROWS_AS(split_replicas(bad, {1, 2}, ReplicaChoice::rule), std::invalid_argument);
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 4);
  const ReplicaSplitLinks wrong_ep{&links, 1, 1};
  CHECK_THROWS_AS(split_replicas(pl, {1, 2, 3}, ReplicaChoice::lp, &wrong_ep), std::invalid_argument);
}

TEST_CASE("plan --replica-choice lp: lower busiest GPU, recorded in plan.json and read back", "[placement][replica_choice]") {
  // One MoE layer, 8 experts on EP 4 of one DGX node, 4 redundant slots (3 slots per GPU).
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 4);
  MoeModel m;
  m.name = "test8";
  m.num_layers = 1;
  m.hidden_size = 1024;
  m.num_experts = 8;
  m.top_k = 2;
  m.moe_intermediate_size = 512;
  m.num_attention_heads = 8;
  ExpertLoads loads;
  loads.source = "skewed";
  loads.count = {{400, 300, 50, 40, 30, 20, 10, 5}};
  PlanSettings s;
  s.ep = 4;
  s.redundant = 4;
  s.tokens_per_gpu = 0;
  s.threads = 1;
  s.algorithm = s.baseline = "greedy";
  Plan rule = make_plan(links, m, loads, s);
  s.replica_choice = ReplicaChoice::lp;
  Plan lp = make_plan(links, m, loads, s);
  // The same placements (the search places under the rule either way), evaluated with both splits.
  REQUIRE(lp.chosen.layers[0].placement.slot_expert == rule.chosen.layers[0].placement.slot_expert);
  CHECK(lp.chosen.replica_choice == ReplicaChoice::lp);
  CHECK(lp.chosen.layers[0].max_gpu_tokens <= rule.chosen.layers[0].max_gpu_tokens * (1 + 1e-12));
  CHECK(lp.chosen.layers[0].rule_max_gpu_tokens == Approx(rule.chosen.layers[0].max_gpu_tokens));
  CHECK(lp.chosen.rule_sum_link_s == Approx(rule.chosen.sum_link_s));
  // Any split's busiest GPU is >= the average 855 / 4 = 213.75 (and the certified bound stays below).
  CHECK(lp.chosen.layers[0].max_gpu_tokens >= 213.75 * (1 - 1e-9));
  CHECK(lp.chosen.layers[0].bounds.gpu_tokens <= lp.chosen.layers[0].max_gpu_tokens * (1 + 1e-9));

  const auto dir = std::filesystem::temp_directory_path() / "epsim_test_replica_choice";
  std::filesystem::create_directories(dir);
  Json doc = plan_to_json(lp, links, PlanInputs{"t.json", "l.json", "m.json"});
  CHECK(doc["settings"]["replica_choice"] == "lp");
  CHECK(doc["summary"]["replica_choice"] == "lp");
  CHECK(!plan_to_json(rule, links, PlanInputs{"t.json", "l.json", "m.json"})["settings"].contains("replica_choice"));
  {
    std::ofstream(dir / "lp.json") << doc.dump(1);
  }
  CHECK(read_plan_file(dir / "lp.json", m).replica_choice == ReplicaChoice::lp);
  doc["settings"]["replica_choice"] = "fastest";
  {
    std::ofstream(dir / "bad.json") << doc.dump(1);
  }
  CHECK_THROWS_WITH(read_plan_file(dir / "bad.json", m),
                    Catch::Contains("/settings/replica_choice") && Catch::Contains("rule or lp"));
  doc["settings"].erase("replica_choice");
  {
    std::ofstream(dir / "rule.json") << doc.dump(1);
  }
  CHECK(read_plan_file(dir / "rule.json", m).replica_choice == ReplicaChoice::rule);
  // A token count beyond the planner's range (1e15, common/limits.hpp) is the file's error, named at its
  // pointer (it was reported as the flag --tokens-per-gpu by `epsim evaluate`).
  doc["settings"]["tokens_per_gpu"] = 1e300;
  {
    std::ofstream(dir / "huge.json") << doc.dump(1);
  }
  CHECK_THROWS_WITH(read_plan_file(dir / "huge.json", m), Catch::Contains("/settings/tokens_per_gpu"));
  std::filesystem::remove_all(dir);
}
