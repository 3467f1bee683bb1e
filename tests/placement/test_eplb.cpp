// Tests of the EPLB port (placement/algorithms/eplb.hpp) against DeepSeek's worked example and hand-checked cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "placement/algorithms/eplb.hpp"
#include "model/layer_placement.hpp"

using epsim::InputError;

namespace {

nlohmann::json load_example() {
  std::ifstream in(std::string(EPSIM_TEST_DATA_DIR) + "/eplb_readme_example.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

double max_of(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, x);
  return m;
}

}  // namespace

TEST_CASE("EPLB reproduces the README example exactly", "[eplb]") {
  const auto j = load_example();
  const auto weight = j.at("weight").get<std::vector<std::vector<double>>>();
  const auto r = epsim::eplb_rebalance(weight, j.at("num_replicas"), j.at("num_groups"), j.at("num_nodes"),
                                       j.at("num_gpus"));
  CHECK(r.used_hierarchical);
  CHECK(r.phy2log == j.at("expected_phy2log").get<std::vector<std::vector<int>>>());
  CHECK(r.logcnt == j.at("expected_logcnt").get<std::vector<std::vector<int>>>());

  // log2phy is the inverse of (phy2log, phyrank); max replica count over layers is 2.
  REQUIRE(r.log2phy.size() == 2);
  for (std::size_t l = 0; l < 2; ++l) {
    REQUIRE(r.log2phy[l].size() == 12);
    for (std::size_t e = 0; e < 12; ++e) {
      REQUIRE(r.log2phy[l][e].size() == 2);
      for (int k = 0; k < 2; ++k) {
        const int p = r.log2phy[l][e][static_cast<std::size_t>(k)];
        if (k < r.logcnt[l][e]) {
          REQUIRE(p >= 0);
          CHECK(r.phy2log[l][static_cast<std::size_t>(p)] == static_cast<int>(e));
          CHECK(r.phyrank[l][static_cast<std::size_t>(p)] == k);
        } else {
          CHECK(p == -1);
        }
      }
    }
  }
}

TEST_CASE("EPLB README example: max GPU loads 156 and 179.5", "[eplb]") {
  const auto j = load_example();
  const auto weight = j.at("weight").get<std::vector<std::vector<double>>>();
  // Layer 0 GPU 2 holds experts 8 (73) and 4 (104/2 = 52) ... the hottest GPU sums to 156;
  // layer 1's hottest is 172/2 + 187/2 = 179.5 (GPU 1: experts 6 and 8, both replicated).
  const double expected[2] = {156.0, 179.5};
  for (std::size_t l = 0; l < 2; ++l) {
    std::string note;
    const auto pl = epsim::eplb_layer_placement(weight[l], 16, 4, 2, 8, &note);
    CHECK(pl.num_gpus == 8);
    CHECK(pl.slots_per_gpu == 2);
    CHECK(pl.slot_expert == j.at("expected_phy2log")[l].get<std::vector<int>>());
    CHECK(note.find("hierarchical") != std::string::npos);
    CHECK(max_of(epsim::gpu_token_loads(pl, weight[l])) == Approx(expected[l]));
    epsim::check_placement(pl, 12, "eplb readme layer");
  }
}

TEST_CASE("EPLB falls back to the global policy when groups do not divide over nodes", "[eplb]") {
  // 4 experts; 3 groups is not a multiple of 2 nodes -> global policy: replicate, then pack to GPUs.
  // Loads 10 8 3 1, 6 slots on 2 GPUs: the extra replicas go to 10 (-> 5, 5) and 8 (-> 4, 4).
  // Replica loads in sorted order 5 5 4 4 3 1, each to the lighter GPU with room (first on ties):
  // 5->G0, 5->G1, 4->G0, 4->G1, 3->G0, 1->G1, so G0 = 5+4+3 = 12 and G1 = 5+4+1 = 10.
  const auto r = epsim::eplb_rebalance({{10, 8, 3, 1}}, 6, 3, 2, 2);
  CHECK_FALSE(r.used_hierarchical);
  CHECK(r.note.find("global") != std::string::npos);
  CHECK(r.logcnt[0] == std::vector<int>{2, 2, 1, 1});
  epsim::LayerPlacement pl{2, 3, r.phy2log[0]};
  const auto loads = epsim::gpu_token_loads(pl, {10, 8, 3, 1});
  CHECK(loads[0] == Approx(12.0));
  CHECK(loads[1] == Approx(10.0));
}

TEST_CASE("EPLB building blocks break ties like torch", "[eplb]") {
  // balanced_packing: equal weights keep index order (torch sort of <= 16 items is insertion sort).
  const auto p = epsim::eplb_balanced_packing({1, 1, 1, 1}, 2);
  CHECK(p.pack_index == std::vector<int>{0, 1, 0, 1});
  CHECK(p.rank_in_pack == std::vector<int>{0, 0, 1, 1});
  // One item per pack: identity.
  const auto id = epsim::eplb_balanced_packing({3, 9, 1}, 3);
  CHECK(id.pack_index == std::vector<int>{0, 1, 2});
  CHECK(id.rank_in_pack == std::vector<int>{0, 0, 0});
  // replicate_experts: 6/1 ties 6/1 -> first expert; then 6/2=3 < 6 -> second.
  const auto rep = epsim::eplb_replicate_experts({6, 6, 1}, 5);
  CHECK(rep.phy2log == std::vector<int>{0, 1, 2, 0, 1});
  CHECK(rep.rank == std::vector<int>{0, 0, 0, 1, 1});
  CHECK(rep.logcnt == std::vector<int>{2, 2, 1});
}

TEST_CASE("EPLB may co-locate replicas and says so", "[eplb]") {
  // One expert, 2 slots on 1 GPU: both replicas land on GPU 0.
  std::string note;
  const auto pl = epsim::eplb_layer_placement({5.0}, 2, 1, 1, 1, &note);
  CHECK(pl.slot_expert == std::vector<int>{0, 0});
  CHECK(note.find("share a GPU") != std::string::npos);
}

TEST_CASE("EPLB rejects invalid arguments", "[eplb][errors]") {
  const std::vector<std::vector<double>> w = {{4, 3, 2, 1}};
  CHECK_THROWS_AS(epsim::eplb_rebalance(w, 6, 2, 2, 4), InputError);  // 6 replicas % 4 GPUs
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 6, 2, 2, 4), Catch::Contains("num_replicas = 6 is not a multiple"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 6, 2, 2, 3), Catch::Contains("num_gpus = 3 is not a multiple"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 2, 2, 1, 2), Catch::Contains("fewer than the 4 experts"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 4, 3, 1, 2), Catch::Contains("equal groups"));  // 4 % 3
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 4, 0, 1, 2), Catch::Contains("num_groups = 0"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 4, 2, 0, 2), Catch::Contains("num_nodes = 0"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 4, 2, 1, 0), Catch::Contains("num_gpus = 0"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance(w, 0, 2, 1, 2), Catch::Contains("num_replicas = 0"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({}, 4, 2, 1, 2), Catch::Contains("no layers"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({{}}, 4, 2, 1, 2), Catch::Contains("no experts"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({{1, 2, 3, 4}, {1, 2}}, 4, 2, 1, 2), Catch::Contains("layer 1 has 2"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({{1, -2, 3, 4}}, 4, 2, 1, 2), Catch::Contains("weight[0][1]"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({{1, std::nan(""), 3, 4}}, 4, 2, 1, 2), Catch::Contains("finite"));
  CHECK_THROWS_WITH(epsim::eplb_rebalance({{1, 1e300, 3, 4}}, 4, 2, 1, 2), Catch::Contains("float32"));
  CHECK_THROWS_AS(epsim::eplb_rebalance_hierarchical(w, 4, 2, 4, 4), InputError);  // 2 groups % 4 nodes
  CHECK_THROWS_AS(epsim::eplb_layer_placement({4, 3, 2, 1}, 6, 2, 1, 4, nullptr), InputError);
  CHECK_THROWS_AS(epsim::eplb_balanced_packing({1, 2, 3}, 2), InputError);
  CHECK_THROWS_AS(epsim::eplb_balanced_packing({1, 2}, 0), InputError);
  CHECK_THROWS_AS(epsim::eplb_replicate_experts({1, 2, 3}, 2), InputError);
  CHECK_THROWS_AS(epsim::eplb_replicate_experts({}, 2), InputError);
}

TEST_CASE("EPLB output is a consistent placement on random loads", "[eplb]") {
  // 16 experts in 4 groups, 2 nodes x 4 GPUs, 24 slots (8 redundant). Fixed seed: deterministic.
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> tokens(0, 500);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> w(16);
    for (double& x : w) x = tokens(rng);
    for (bool hierarchical : {true, false}) {  // 1 group does not divide over 2 nodes -> global policy
      const auto r = epsim::eplb_rebalance({w}, 24, hierarchical ? 4 : 1, 2, 8);
      CHECK(r.used_hierarchical == hierarchical);
      const auto& phy2log = r.phy2log[0];
      std::vector<int> cnt(16, 0);
      for (int e : phy2log) {
        REQUIRE(e >= 0);
        REQUIRE(e < 16);
        ++cnt[static_cast<std::size_t>(e)];
      }
      CHECK(cnt == r.logcnt[0]);
      int total = 0;
      for (int c : cnt) total += c;
      CHECK(total == 24);
      if (hierarchical)  // groups are packed to nodes: all replicas of an expert stay in one node (12 slots)
        for (std::size_t p = 0; p < 24; ++p)
          CHECK(r.log2phy[0][static_cast<std::size_t>(phy2log[p])][0] / 12 == static_cast<int>(p / 12));
      for (std::size_t p = 0; p < 24; ++p)
        CHECK(r.log2phy[0][static_cast<std::size_t>(phy2log[p])][static_cast<std::size_t>(r.phyrank[0][p])] ==
              static_cast<int>(p));
    }
  }
}
