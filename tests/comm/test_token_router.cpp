// Per-token routing (comm/token_router.hpp): route_set against route, and de-duplication factors
// on placements where every token picks every expert (so the factors do not depend on the draws).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "comm/token_router.hpp"

using namespace epsim;

TEST_CASE("route_set picks the experts route picks, draw for draw") {
  // Same seed, one generator each: the two must consume the same draws and return the same set,
  // for DeepSeek-V3's group-limited rule (256 experts, 8 groups, 4 kept, top-8) and plain top-k.
  std::mt19937_64 wgen(3);
  std::vector<double> weights(256);
  for (double& w : weights) w = 1.0 + static_cast<double>(wgen() % 1000);
  weights[17] = 0.0;  // never chosen
  for (auto [n_group, topk_group] : {std::pair{8, 4}, std::pair{1, 1}}) {
    TokenRouter a(256, 8, n_group, topk_group, weights), b(256, 8, n_group, topk_group, weights);
    std::mt19937_64 ra(11), rb(11);
    std::vector<int> ea, eb;
    for (int t = 0; t < 2000; ++t) {
      a.route(ra, ea);
      b.route_set(rb, eb);
      std::sort(ea.begin(), ea.end());
      std::sort(eb.begin(), eb.end());
      REQUIRE(ea == eb);
      CHECK(std::find(eb.begin(), eb.end(), 17) == eb.end());
    }
    CHECK(ra() == rb());  // the generators are still in step
  }
}

TEST_CASE("routing_statistics: every token picks all 4 experts, hand-computed factors") {
  // top_k = experts = 4: each token selects experts 0..3, 4 selections per token.
  TokenRouter router(4, 4, 1, 1);
  LayerPlacement one_each;  // 4 GPUs, one expert each, 2 GPUs per node: 4 GPUs and 2 nodes per token
  one_each.num_gpus = 4;
  one_each.slots_per_gpu = 1;
  one_each.slot_expert = {0, 1, 2, 3};
  ExchangeRouting r = routing_statistics(router, one_each, 2, 64, 1);
  CHECK(r.gpu_factor == 1.0);   // 4 GPUs / 4 selections
  CHECK(r.node_factor == 0.5);  // 2 nodes / 4 selections
  CHECK(r.experts == 4);
  LayerPlacement two_each;  // 2 GPUs x 2 experts on one node: 2 GPUs and 1 node per token
  two_each.num_gpus = 2;
  two_each.slots_per_gpu = 2;
  two_each.slot_expert = {0, 1, 2, 3};
  r = routing_statistics(router, two_each, 2, 64, 1);
  CHECK(r.gpu_factor == 0.5);
  CHECK(r.node_factor == 0.25);
  LayerPlacement replicated = one_each;  // expert 0 on GPUs 0 and 2 (other node): a replica is drawn
  replicated.slots_per_gpu = 2;
  replicated.slot_expert = {0, 1, 2, -1, 0, 3, -1, -1};  // GPU 0: 0 1; GPU 1: 2; GPU 2: 0 3; GPU 3: -
  r = routing_statistics(router, replicated, 2, 4096, 1);
  // GPUs reached per token: {0 or 2 for expert 0} + GPU 0 (expert 1) + GPU 1 + GPU 2: always 3 GPUs;
  // nodes: node 0 (GPUs 0, 1) and node 1 (GPU 2): always 2. Per 4 selections: 0.75 and 0.5.
  CHECK(r.gpu_factor == 0.75);
  CHECK(r.node_factor == 0.5);
}
