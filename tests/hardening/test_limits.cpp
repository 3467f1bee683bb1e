// Scale limits (docs/limits.md): requests beyond them are refused with a clear InputError / UsageError
// before memory is spent, and sizes at the limit are accepted.
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "hardening_support.hpp"
#include "model/expert_loads.hpp"
#include "comm/link_load.hpp"
#include "model/moe_model.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "sweep/sweep_spec.hpp"

using namespace hardening;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {
Json model_with(std::int64_t experts, std::int64_t layers) {
  return Json{{"num_hidden_layers", layers}, {"hidden_size", 1024}, {"num_local_experts", experts},
              {"num_experts_per_tok", 2},    {"intermediate_size", 512}, {"num_attention_heads", 8}};
}
}  // namespace

TEST_CASE("model and loads: experts and layers above the caps are refused, at the caps accepted") {
  using epsim::limits::kMaxExperts;
  using epsim::limits::kMaxLayers;
  CHECK(epsim::moe_model_from_json(model_with(kMaxExperts, kMaxLayers), "m.json").num_experts == kMaxExperts);
  CHECK_THROWS_WITH(epsim::moe_model_from_json(model_with(kMaxExperts + 1, 4), "m.json"),
                    Contains("m.json: /num_local_experts"));
  CHECK_THROWS_WITH(epsim::moe_model_from_json(model_with(8, kMaxLayers + 1), "m.json"),
                    Contains("m.json: /num_hidden_layers"));

  Json loads = {{"logical_count", Json::array()}};
  for (int l = 0; l < kMaxLayers + 1; ++l) loads["logical_count"].push_back(Json::array({1, 2}));
  CHECK_THROWS_WITH(epsim::expert_loads_from_json(loads, "l.json"), Contains("l.json: /logical_count: at most 1024 layers"));
  // Layers x experts above kMaxLoadCounts: refused at the first row, before the others are read.
  Json counts = {{"logical_count", Json::array()}};
  counts["logical_count"].push_back(Json(std::vector<int>(epsim::limits::kMaxLoadCounts / kMaxLayers + 1, 0)));
  for (int l = 1; l < kMaxLayers; ++l) counts["logical_count"].push_back(Json::array());
  CHECK_THROWS_WITH(epsim::expert_loads_from_json(counts, "l.json"), Contains("l.json: /logical_count/0: at most"));
}

TEST_CASE("routes: an all-to-all above the EP cap is refused before its EP^2 routes are aggregated") {
  epsim::DgxClusterOptions o;
  o.nodes = epsim::limits::kMaxEpRanks / 8 + 1;
  epsim::Topology big = epsim::generate_dgx_cluster(o);
  REQUIRE(big.num_gpus() > epsim::limits::kMaxEpRanks);
  epsim::RouteTable routes(big);  // the compact route table itself serves such a cluster
  CHECK_THROWS_AS(epsim::EpLinkModel(big, routes, big.num_gpus()), epsim::InputError);
  CHECK_THROWS_WITH(epsim::EpLinkModel(big, routes, big.num_gpus()), Contains("at most 4096 GPUs"));
}

TEST_CASE("routes: a cluster above the routed-GPU cap is refused before the table is built") {
  // kMaxRoutedGpus / 8 + 1 DGX nodes of 8 GPUs = 16392 GPUs > 16384.
  epsim::DgxClusterOptions o;
  o.nodes = epsim::limits::kMaxRoutedGpus / 8 + 1;
  epsim::Topology big = epsim::generate_dgx_cluster(o);
  REQUIRE(big.num_gpus() == epsim::limits::kMaxRoutedGpus + 8);
  CHECK_THROWS_AS(epsim::RouteTable(big), epsim::InputError);
  CHECK_THROWS_WITH(epsim::RouteTable(big), Contains("16392 GPUs") && Contains("at most 16384") && Contains("docs/limits.md"));
}

TEST_CASE("sweep: a grid above kMaxSweepPoints is refused naming /axes, one at the cap accepted") {
  // 4 axes: ep x 100 values, placement x 3, oversubscription x N: sizes chosen around 1,000,000.
  auto spec = [](int ep_values, int oversubscription_values) {
    Json ep = Json::array(), over = Json::array();
    for (int i = 0; i < ep_values; ++i) ep.push_back(8 * (i + 1));
    for (int i = 0; i < oversubscription_values; ++i) over.push_back(1.0 + i);
    return Json{{"schema", "epsim.sweep/2"},
                {"base",
                 {{"schema", "epsim.scenario/1"},
                  {"model", kPhiModel},
                  {"gemm_efficiency", "measurements/deepgemm_grouped_fp8_h800.csv"},
                  {"phase", {{"kind", "prefill"}, {"tokens_per_gpu", 1024}}},
                  {"topology", {{"fabric", "rail-optimized"}}},
                  {"parallel", {{"dp", 8}, {"ep", 8}}}}},
                {"axes", {{"ep", ep}, {"oversubscription", over}}}};
  };
  // 1000 x 1000 = kMaxSweepPoints: accepted (no point is made while parsing).
  CHECK(epsim::sweep_spec_from_json(spec(1000, 1000), "s.json", kScenarios).num_points() == epsim::kMaxSweepPoints);
  CHECK_THROWS_WITH(epsim::sweep_spec_from_json(spec(1000, 1001), "s.json", kScenarios),
                    Contains("s.json: /axes") && Contains("at most 1000000 points"));
}

TEST_CASE("epsim plan with EP above the cap exits 1 with the limit named") {
  std::string dir = fresh_temp_dir("hard_limit_plan");
  std::string topo = dir + "/big.json";
  REQUIRE(run_epsim("topo generate dgx-h100 --nodes 513 --out " + topo).exit_code == 0);
  CliResult r = plan(topo, kLoads, kModel, "--ep 4104 --out " + dir + "/plan.json");
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "4104 GPUs"));
  CHECK(has(r.err, "docs/limits.md"));
  CHECK_FALSE(std::filesystem::exists(dir + "/plan.json"));
}
