// The plan evaluator: metrics against make_plan, skip reasons, the shared input cache, topologies.
#include "comm/token_router.hpp"
#include <catch2/catch.hpp>

#include <cmath>

#include "common/error.hpp"
#include "placement/plan.hpp"
#include "sweep/grid.hpp"
#include "sweep/plan_evaluator.hpp"
#include "sim/scenario/scenario_topology.hpp"
#include "sweep_test_util.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using epsim::test::parse_spec;
using epsim::test::phi_spec_json;

namespace {

SweepPoint point_of(const Json& axes, std::size_t index = 0) { return make_point(parse_spec(phi_spec_json(axes)), index); }

// The skip reason of a point whose scenario was edited after the spec was parsed.
std::string skipped(const PlanEvaluator& ev, const SweepPoint& p) { return ev(p).skipped_reason; }

}  // namespace

TEST_CASE("plan metrics equal make_plan's totals on the same inputs", "[sweep][plan]") {
  PlanEvaluator ev;
  // One micro-batch: the planner sees the 1024 tokens of a GPU's micro-batch (plan_settings).
  Json spec = phi_spec_json({{"ep", {8}}, {"placement", {"greedy"}}});
  spec["base"]["phase"]["micro_batches"] = 1;
  PointResult r = ev(make_point(parse_spec(spec), 0));
  REQUIRE(r.skipped_reason.empty());
  // The same plan by hand: one DGX H100 node (ep 8 / 8 GPUs per node), EP 8, greedy, 1024 tokens/GPU.
  DgxClusterOptions one_node;
  one_node.nodes = 1;
  Topology topo = generate_dgx_cluster(one_node);
  RouteTable routes(topo);
  MoeModel model = load_moe_model(std::string(EPSIM_SCENARIOS_DIR) + "/models/phi-3.5-moe-instruct.config.json");
  // As `epsim plan`: the deepep-normal kernel with the model's uniform-routing de-duplication.
  EpLinkModel links(topo, routes, 8, default_kernel_params(ExchangeKernelKind::deepep_normal),
                    uniform_routing_statistics(model.num_experts, model.top_k, model.n_group, model.topk_group, 8, 8));
  ExpertLoads loads = load_expert_loads(std::string(EPSIM_TEST_DATA_DIR) + "/loads_phi16.json");
  PlanSettings st;
  st.ep = 8;
  st.algorithm = st.baseline = "greedy";
  st.tokens_per_gpu = 1024;
  st.threads = 1;
  Plan plan = make_plan(links, model, loads, st);
  const Json& m = r.metrics;
  CHECK(m["alltoall_us"].get<double>() == Approx((plan.chosen.sum_dispatch_s + plan.chosen.sum_combine_s) * 1e6));
  CHECK(m["dispatch_us"].get<double>() == Approx(plan.chosen.sum_dispatch_s * 1e6));
  CHECK(m["combine_us"].get<double>() == Approx(plan.chosen.sum_combine_s * 1e6));
  CHECK(m["max_gpu_tokens"].get<double>() == Approx(plan.chosen.max_gpu_tokens));
  CHECK(m["gpu_imbalance"].get<double>() == Approx(plan.chosen.mean_imbalance));
  CHECK(m["worst_layer"] == plan.chosen.worst_layer);
  // Mean GPU tokens: 1024 tokens x top-2 per GPU on average (every rank originates 1024 x 2 pairs).
  CHECK(m["mean_gpu_tokens"].get<double>() == Approx(2048));
  // One node: the busiest link is an NVLink; utilization in (0, 1].
  CHECK(m["busiest_link_kind"] == "nvlink");
  double util = m["busiest_link_util"].get<double>();
  CHECK(util > 0);
  CHECK(util <= 1.0 + 1e-12);
  // The gap against the planner's certified bounds: sum of link times / sum of bounds - 1 >= 0.
  CHECK(m["plan_gap"].get<double>() == Approx(plan.chosen.sum_link_s / plan.chosen.sum_link_lb_s - 1));
  CHECK(m["plan_gap"].get<double>() >= -1e-9);
  // Simulate-only metrics are absent, never invented.
  CHECK_FALSE(m.contains("iteration_us"));
  CHECK_FALSE(m.contains("tokens_per_s_per_gpu"));
}

TEST_CASE("plan evaluator skip reasons", "[sweep][plan]") {
  PlanEvaluator ev;
  CHECK_THAT(ev(point_of({{"ep", {3}}})).skipped_reason,
             Catch::Contains("16 experts + 0 redundant slots do not divide over EP 3") && Catch::Contains("redundant: 2"));
  CHECK_THAT(ev(point_of({{"layout", {"tp8xpp2"}}})).skipped_reason, Catch::Contains("simulate evaluator"));
  // The redundant axis: 16 + 4 slots do not divide over EP 8; 16 + 8 do (3 slots per GPU).
  SweepSpec red = parse_spec(phi_spec_json({{"redundant", {4, 8}}}));
  CHECK_THAT(ev(make_point(red, 0)).skipped_reason, Catch::Contains("16 experts + 4 redundant slots do not divide over EP 8"));
  CHECK(ev(make_point(red, 1)).skipped_reason.empty());
  // A topology file with fewer GPUs than EP.
  Json spec = phi_spec_json({{"ep", {32}}});
  spec["base"]["topology"] = "topologies/dgx-h100-2node.json";
  CHECK_THAT(ev(make_point(parse_spec(spec), 0)).skipped_reason, Catch::Contains("EP 32 exceeds the 16 GPUs"));
  // Loads of another model.
  Json mismatch = phi_spec_json({{"model", {"models/deepseek-v3.config.json"}}});
  CHECK_THAT(ev(make_point(parse_spec(mismatch), 0)).skipped_reason, Catch::Contains("loads do not match the model"));
  // The point's exchange kernel is planned with (it was ignored: nvlink-one-sided across two DGX nodes was
  // priced over InfiniBand); it cannot run beyond one NVLink domain: skipped with the reason.
  Json one_sided = phi_spec_json({{"ep", {16}}});
  one_sided["base"]["exchange_kernel"] = "nvlink-one-sided";
  CHECK_THAT(ev(make_point(parse_spec(one_sided), 0)).skipped_reason, Catch::Contains("over NVLink only"));
  Json ll = phi_spec_json({{"ep", {16}}});
  ll["base"]["exchange_kernel"] = "deepep-ll";  // a different kernel, a different plan cost
  Json normal = phi_spec_json({{"ep", {16}}});
  normal["base"]["exchange_kernel"] = "deepep-normal";
  CHECK(ev(make_point(parse_spec(ll), 0)).metrics["alltoall_us"].get<double>() !=
        ev(make_point(parse_spec(normal), 0)).metrics["alltoall_us"].get<double>());
}

TEST_CASE("plan evaluator records a point with an invalid scenario as skipped, with the reason", "[sweep][plan][rejections]") {
  using Catch::Contains;
  PlanEvaluator ev;
  SweepPoint p = point_of(Json::object());
  p.scenario.erase("phase");
  CHECK_THAT(skipped(ev, p), Contains("scenario of sweep point 0") && Contains("/phase"));
  p = point_of(Json::object());
  p.scenario["topology"]["spines"] = 0;
  CHECK_THAT(skipped(ev, p), Contains("/topology/spines"));
  p = point_of(Json::object());
  p.scenario["topology"]["colour"] = "blue";
  CHECK_THAT(skipped(ev, p), Contains("/topology/colour"));
  p = point_of(Json::object());
  p.scenario["placement"]["algorithm"] = "random";
  CHECK_THAT(skipped(ev, p), Contains("/placement/algorithm"));
  // One invalid combination among valid ones: redundant 256 at EP 16 is recorded, the sweep goes on.
  SweepSpec s = parse_spec(phi_spec_json({{"ep", {8, 16}}, {"redundant", {0, 257}}}));
  CHECK(skipped(ev, make_point(s, 0)).empty());
  CHECK_THAT(skipped(ev, make_point(s, 3)), Contains("do not divide over EP 16"));
}

TEST_CASE("inputs are parsed and routes built once per distinct input", "[sweep][plan]") {
  PlanEvaluator ev;
  SweepSpec s = parse_spec(phi_spec_json({{"oversubscription", {1, 2}}, {"ep", {8, 16}}, {"placement", {"contiguous", "greedy"}}}));
  for (std::size_t i = 0; i < s.num_points(); ++i) CHECK(ev(make_point(s, i)).skipped_reason.empty());
  PlanEvaluatorStats st = ev.stats();
  CHECK(st.models_parsed == 1);
  CHECK(st.loads_parsed == 1);
  CHECK(st.topologies_built == 4);   // (1 or 2 nodes) x (oversubscription 1 or 2)
  CHECK(st.link_models_built == 4);  // one EP per topology here
}

TEST_CASE("fat tree: the sweep builds topology's FabricKind::fat_tree cluster", "[sweep][plan][topology]") {
  // A full scalable unit (32 nodes, 256 GPUs) with a 2:1 spine: 8 leaves, each with the 32 NICs of
  // 4 whole nodes (node-major blocks of 256 / 8 NICs), uplink = 32 NICs x 50 GB/s / (8 spines x 2).
  Json spec = phi_spec_json({{"fabric", {"fat-tree"}}, {"oversubscription", {2}}, {"nodes", {32}}});
  SweepPoint p = make_point(parse_spec(spec), 0);
  TopologyVariant v;
  v.dgx = cluster_from_json(p.scenario["topology"], 8);
  CHECK(v.dgx.fabric == FabricKind::fat_tree);
  Topology t = build_topology(v);
  DgxClusterOptions o;
  o.fabric = FabricKind::fat_tree;
  o.nodes = 32;
  o.oversubscription = 2;
  Topology want = generate_dgx_cluster(o);
  REQUIRE(t.num_links() == want.num_links());
  for (int l = 0; l < t.num_links(); ++l) CHECK(t.link_name(l) == want.link_name(l));
  int spine_links = 0;
  for (const Link& l : t.links())
    if (t.device(l.src).kind == DeviceKind::spine || t.device(l.dst).kind == DeviceKind::spine) {
      ++spine_links;
      CHECK(l.bandwidth_GBps == Approx(100));
    }
  CHECK(spine_links == 8 * 8 * 2);  // 8 leaves x 8 spines, both directions
  // Node 5's NICs all sit on leaf 1 (NICs 40..47 of the SU, 32 per leaf).
  int on_leaf1 = 0;
  for (const Link& l : t.links())
    if (t.device(l.src).id.rfind("node5/nic", 0) == 0 && t.device(l.dst).id == "su0/leaf1") ++on_leaf1;
  CHECK(on_leaf1 == 8);
  // The removed sweep-only member is rejected, naming it.
  Json old = phi_spec_json(Json::object());
  old["base"]["topology"]["nodes_per_leaf"] = 4;
  CHECK_THROWS_WITH(parse_spec(old), Catch::Contains("/base/topology/nodes_per_leaf"));

  PlanEvaluator ev;
  SweepSpec s = parse_spec(phi_spec_json({{"fabric", {"rail-optimized", "fat-tree"}}, {"ep", {16}}}));
  PointResult rail = ev(make_point(s, 0));
  PointResult fat = ev(make_point(s, 1));
  REQUIRE(rail.skipped_reason.empty());
  REQUIRE(fat.skipped_reason.empty());
  CHECK(fat.metrics["alltoall_us"].get<double>() > 0);
}

TEST_CASE("a sweep point whose loads file is missing stops the sweep naming the point and the key", "[sweep][plan][rejections]") {
  // Files that concern every point stop the sweep (InputError); the message says which point names the file.
  PlanEvaluator ev;
  SweepPoint p = point_of(Json::object());
  p.scenario["loads"] = "/nonexistent/loads.json";
  CHECK_THROWS_WITH(ev(p), Catch::Contains("/nonexistent/loads.json: cannot open") &&
                               Catch::Contains("scenario of sweep point 0 names at /loads"));
}
