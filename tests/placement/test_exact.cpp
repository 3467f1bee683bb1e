// Tests of the exact MILP (placement/algorithms/exact.hpp) on the EPLB README loads and hand-solved cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "common/error.hpp"
#include "placement/bounds/bounds.hpp"
#include "placement/algorithms/eplb.hpp"
#include "placement/algorithms/exact.hpp"
#include "model/layer_placement.hpp"

using epsim::InputError;

namespace {

void check_result(const epsim::ExactPlacementResult& r, const std::vector<double>& load, double optimum) {
  CHECK(r.proven_optimal);
  CHECK(r.max_load == Approx(optimum));
  CHECK(r.lower_bound == Approx(optimum));
  epsim::check_placement(r.placement, static_cast<int>(load.size()), "exact result");
  CHECK(r.placement.replica_counts(static_cast<int>(load.size())) == r.replicas);
  const auto gpu = epsim::gpu_token_loads(r.placement, load);
  CHECK(*std::max_element(gpu.begin(), gpu.end()) == Approx(optimum));
  // The certified bound never exceeds the optimum.
  CHECK(epsim::gpu_load_lower_bounds(load, r.placement.num_gpus, r.placement.slots_per_gpu).best <= optimum + 1e-9);
}

}  // namespace

TEST_CASE("Exact MILP on the EPLB README loads, 8 GPUs x 2 slots, no node constraint", "[exact]") {
  const std::vector<std::vector<double>> loads = {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
                                                  {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  const double optimum[2] = {136.0, 172.0};
  const double eplb[2] = {156.0, 179.5};  // EPLB's hierarchical plan on 2 nodes (test_eplb.cpp)
  for (std::size_t l = 0; l < 2; ++l) {
    const auto r = epsim::exact_min_max_load(loads[l], 8, 2);
    std::cout << "exact README layer " << l << ": max load " << r.max_load << " in " << r.solve_time_s << " s\n";
    check_result(r, loads[l], optimum[l]);
    CHECK(r.max_load <= eplb[l]);
  }
}

TEST_CASE("Exact MILP: one hot expert is spread over every GPU", "[exact]") {
  // 800 tokens on expert 0, 8 GPUs: r_0 = 8 replicas of 100 tokens each; optimum 100 = W / G.
  const std::vector<double> load = {800, 0, 0, 0, 0, 0, 0, 0};
  const auto r = epsim::exact_min_max_load(load, 8, 2);
  check_result(r, load, 100.0);
  CHECK(r.replicas[0] == 8);
}

TEST_CASE("Exact MILP: small hand-solved cases", "[exact]") {
  // 2 GPUs x 1 slot, loads 30 and 10: no replicas possible, optimum 30.
  check_result(epsim::exact_min_max_load({30, 10}, 2, 1), {30, 10}, 30.0);
  // 2 GPUs x 2 slots, loads 30 and 10: replicate both, each GPU computes 15 + 5 = 20 = W / G.
  check_result(epsim::exact_min_max_load({30, 10}, 2, 2), {30, 10}, 20.0);
  // All loads zero: optimum 0.
  check_result(epsim::exact_min_max_load({0, 0, 0}, 2, 2), {0, 0, 0}, 0.0);
}

TEST_CASE("Exact MILP: the GLPK fallback agrees with the packing search", "[exact][glpk]") {
  // search_node_limit = 0 sends every (counts, bound) question to the fixed-count MILP (glp_intopt).
  const std::vector<std::vector<double>> cases = {{30, 10}, {800, 0, 0, 0}, {9, 7, 6, 5, 4, 2}, {50, 20, 20, 10, 5, 1}};
  for (const auto& load : cases) {
    const auto fast = epsim::exact_min_max_load(load, 4, 2);
    const auto milp = epsim::exact_min_max_load(load, 4, 2, 60.0, 0);
    CHECK(fast.proven_optimal);
    CHECK(milp.proven_optimal);
    CHECK(milp.max_load == Approx(fast.max_load));
    epsim::check_placement(milp.placement, static_cast<int>(load.size()), "exact MILP result");
  }
  // {800, 0, 0, 0} on 4 GPUs: 4 replicas of 200 -> optimum 200 = W / G.
  CHECK(epsim::exact_min_max_load({800, 0, 0, 0}, 4, 2, 60.0, 0).max_load == Approx(200.0));
}

TEST_CASE("Exact MILP: an unproven result still carries a valid bound", "[exact]") {
  // 32 experts on 16 GPUs x 3 slots is at the size limit; whether or not it is proven within the time
  // limit, the answer is a valid placement and lower_bound <= max_load.
  std::vector<double> load(32);
  for (std::size_t e = 0; e < load.size(); ++e) load[e] = static_cast<double>((e * 37) % 101 + 1);
  const auto r = epsim::exact_min_max_load(load, 16, 3, 2.0);
  epsim::check_placement(r.placement, 32, "exact result at the size limit");
  CHECK(r.lower_bound <= r.max_load * (1 + 1e-9));
  CHECK(r.lower_bound >= epsim::gpu_load_lower_bounds(load, 16, 3, false).best * (1 - 1e-9));
  if (r.proven_optimal) CHECK(r.lower_bound == r.max_load);
}

TEST_CASE("Exact MILP refuses large or invalid instances", "[exact][errors]") {
  CHECK_THROWS_WITH(epsim::exact_min_max_load(std::vector<double>(4, 1.0), 17, 1), Catch::Contains("17 GPUs"));
  CHECK_THROWS_WITH(epsim::exact_min_max_load(std::vector<double>(33, 1.0), 16, 3), Catch::Contains("33 experts"));
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, 2}, 2, 1, 0.0), InputError);
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, 2}, 2, 1, std::nan("")), InputError);
  CHECK_THROWS_WITH(epsim::exact_min_max_load({1, 2}, 2, 1, 1.0, -1), Catch::Contains("search_node_limit"));
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, 2, 3}, 1, 2), InputError);  // 2 slots for 3 experts
  CHECK_THROWS_AS(epsim::exact_min_max_load({}, 2, 1), InputError);
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, -2}, 2, 1), InputError);
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, 2}, 0, 1), InputError);
  CHECK_THROWS_AS(epsim::exact_min_max_load({1, 2}, 2, 0), InputError);
}
