#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "model/trace_generator.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {
MoeModel sixteen_expert_model() {
  MoeModel m;
  m.name = "test16";
  m.num_layers = 2;
  m.hidden_size = 1024;
  m.num_experts = 16;
  m.top_k = 2;
  m.moe_intermediate_size = 512;
  m.num_attention_heads = 8;
  return m;
}
}  // namespace

TEST_CASE("make_plan: all MoE layers, baseline beside the chosen algorithm") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 16);
  MoeModel model = sixteen_expert_model();
  ExpertLoads loads;
  loads.source = "test";
  loads.count = {std::vector<double>(16, 10.0), std::vector<double>(16, 0.0)};
  loads.count[0][3] = 500;  // one hot expert in layer 0
  PlanSettings s;
  s.ep = 16;
  s.redundant = 16;
  s.tokens_per_gpu = 0;  // use the counts as they are
  Plan plan = make_plan(links, model, loads, s);
  REQUIRE(plan.chosen.layers.size() == 2);
  CHECK(plan.slots_per_gpu == 2);
  // Bytes per token = hidden x bytes per element: 1024 x (1 + 4/128) (FP8 and its per-128 FP32 scales)
  // = 1056 and 1024 x 2 (BF16).
  CHECK(plan.dispatch_bytes_per_token == 1056);
  CHECK(plan.combine_bytes_per_token == 2048);
  // Greedy spreads expert 3 (500 tokens) over many ranks; contiguous leaves it on rank 3.
  CHECK(plan.baseline.layers[0].max_gpu_tokens == 500);
  CHECK(plan.chosen.layers[0].max_gpu_tokens < 500);
  // The all-zero layer is planned too and costs nothing.
  CHECK(plan.chosen.layers[1].max_gpu_tokens == 0);
  CHECK(plan.chosen.layers[1].dispatch.time_s() == 0);
  // Identical inputs give identical JSON text.
  Plan again = make_plan(links, model, loads, s);
  CHECK(plan_to_json(plan, links, {}).dump(1) == plan_to_json(again, links, {}).dump(1));
}

TEST_CASE("make_plan rejects slot counts that do not divide, naming the smallest valid one") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 16);
  MoeModel model = sixteen_expert_model();
  ExpertLoads loads;
  loads.count = {std::vector<double>(16, 1.0), std::vector<double>(16, 1.0)};
  PlanSettings s;
  s.ep = 16;
  s.redundant = 3;
  CHECK_THROWS_WITH(make_plan(links, model, loads, s), Catch::Contains("smallest valid value is 0"));
  s.redundant = -1;
  CHECK_THROWS_AS(make_plan(links, model, loads, s), UsageError);
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 17), Catch::Contains("EP size 17"));
}

TEST_CASE("Loads are rescaled so that every rank originates tokens_per_gpu tokens") {
  MoeModel model = sixteen_expert_model();  // top-2
  std::vector<double> count(16, 5.0);
  // Total token-expert pairs after scaling = tokens_per_gpu x EP x top_k = 100 x 16 x 2 = 3200.
  auto scaled = scaled_layer_load(count, model, 16, 100);
  double total = 0;
  for (double v : scaled) total += v;
  CHECK(total == Approx(3200));
  // An all-zero layer is uniform, as simulate and predict exchange route it: 3200 / 16 experts = 200 each;
  // with tokens_per_gpu 0 (counts as they are) it stays zero.
  CHECK(scaled_layer_load(std::vector<double>(16, 0.0), model, 16, 100) == std::vector<double>(16, 200.0));
  CHECK(scaled_layer_load(std::vector<double>(16, 0.0), model, 16, 0) == std::vector<double>(16, 0.0));
}

TEST_CASE("make_plan with a trace: epsim optimizes the trace layers only, baseline and other layers unchanged") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 16);
  MoeModel model = sixteen_expert_model();
  ExpertLoads loads;
  loads.source = "test";
  loads.count = {std::vector<double>(16, 10.0), std::vector<double>(16, 10.0)};
  loads.count[0][3] = 500;
  loads.count[1][5] = 300;
  PlanSettings s;
  s.ep = 16;
  s.redundant = 16;
  s.tokens_per_gpu = 0;
  TraceGeneratorOptions go;
  go.ep = 16;
  go.tokens_per_gpu = 20;
  go.seed = 4;
  Trace trace;
  trace.num_experts = 16;
  trace.top_k = model.top_k;
  trace.num_ranks = 16;
  trace.layers.push_back(generate_trace_layer(loads.count[0], model, 0, go));
  PlanTrace pt{&trace, &routes, TokenDelivery::node_forwarding};
  Plan plain = make_plan(links, model, loads, s);
  Plan traced = make_plan(links, model, loads, s, &pt);
  CHECK(traced.chosen.trace_objective);
  CHECK_FALSE(plain.chosen.trace_objective);
  // Layer 1 is not in the trace: same plan as without it; the baseline never uses the trace.
  CHECK(traced.chosen.layers[1].placement.slot_expert == plain.chosen.layers[1].placement.slot_expert);
  CHECK(traced.baseline.layers[0].placement.slot_expert == plain.baseline.layers[0].placement.slot_expert);
  // On the trace objective, layer 0 is no worse than the baseline nor than the uniform-model plan.
  TraceObjectiveInput in{&trace.layers[0], model.top_k, &routes, TokenDelivery::node_forwarding,
                         traced.dispatch_bytes_per_token, 0};
  ObjectiveValue mine = trace_objective(in, traced.chosen.layers[0].placement, 16, ObjectiveKind::link);
  CHECK_FALSE(trace_objective(in, traced.baseline.layers[0].placement, 16, ObjectiveKind::link) < mine);
  CHECK_FALSE(trace_objective(in, plain.chosen.layers[0].placement, 16, ObjectiveKind::link) < mine);
  s.max_nodes_per_token = -1;
  CHECK_THROWS_AS(make_plan(links, model, loads, s, &pt), UsageError);
}
