#include <algorithm>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"

using namespace epsim;

namespace {
PlacementProblem problem(std::vector<double> load, int gpus, int slots) {
  PlacementProblem p;
  p.num_gpus = gpus;
  p.slots_per_gpu = slots;
  p.load = std::move(load);
  return p;
}
double max_load(const LayerPlacement& pl, const std::vector<double>& load) {
  auto g = gpu_token_loads(pl, load);
  return *std::max_element(g.begin(), g.end());
}
}  // namespace

TEST_CASE("Smallest valid redundant count: (G - E mod G) mod G") {
  CHECK(smallest_valid_redundant(256, 3) == 2);   // 256 = 3 x 85 + 1 -> 2 more
  CHECK(smallest_valid_redundant(256, 24) == 8);  // 256 = 24 x 10 + 16 -> 8 more
  CHECK(smallest_valid_redundant(256, 32) == 0);
  CHECK(smallest_valid_redundant(60, 16) == 4);   // 60 = 16 x 3 + 12 -> 4 more
}

TEST_CASE("contiguous puts expert e on rank floor(e / (E/G))") {
  auto p = problem(std::vector<double>(16, 1.0), 4, 5);
  LayerPlacement pl = place_contiguous(p);
  for (int e = 0; e < 16; ++e) CHECK(pl.gpus_of_expert(e) == std::vector<int>{e / 4});
  CHECK(std::count(pl.slot_expert.begin(), pl.slot_expert.end(), -1) == 4);  // redundant slots stay empty
  CHECK_NOTHROW(check_placement(pl, 16, "contiguous"));
}

TEST_CASE("greedy replicates one hot expert onto every rank: 800 over 8 ranks = 100") {
  std::vector<double> load{800, 0, 0, 0, 0, 0, 0, 0};
  auto p = problem(load, 8, 2);
  LayerPlacement pl = place_greedy(p);
  CHECK_NOTHROW(check_placement(pl, 8, "greedy"));  // also rejects two replicas on one rank
  // Expert 0 on all 8 ranks, each replica takes 800 / 8 = 100.
  CHECK(pl.replica_counts(8)[0] == 8);
  CHECK(max_load(pl, load) == Approx(100));
}

TEST_CASE("All-zero loads give a valid plan with max load 0") {
  std::vector<double> load(12, 0.0);
  for (const char* algo : {"contiguous", "greedy"}) {
    LayerPlacement pl = run_placement(algo, problem(load, 4, 4));
    CHECK_NOTHROW(check_placement(pl, 12, algo));
    CHECK(max_load(pl, load) == 0.0);
  }
}

TEST_CASE("greedy balances the EPLB example's layer 0 on 8 ranks x 2 slots") {
  std::vector<double> load{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86};
  LayerPlacement pl = place_greedy(problem(load, 8, 2));
  CHECK_NOTHROW(check_placement(pl, 12, "greedy"));
  // Lower bound: total / G = 1033 / 8 = 129.1; greedy must be within 10% of the optimum 136.
  CHECK(max_load(pl, load) <= 136 * 1.10);
}

TEST_CASE("Unknown algorithms and infeasible problems are rejected") {
  auto p = problem({1, 2, 3}, 1, 2);
  CHECK_THROWS_AS(run_placement("contiguous", p), InputError);  // 3 experts, 2 slots
  CHECK_THROWS_WITH(run_placement("magic", problem({1, 2}, 1, 2)), Catch::Contains("unknown placement algorithm"));
}
