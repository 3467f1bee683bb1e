// The simulate evaluator: the translation of a sweep scenario into the simulator's, metrics against
// simulate() on the same inputs, skip reasons, rejections, the shared input cache, and results that
// do not depend on -j or shards.
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/error.hpp"
#include "comm/link_load.hpp"
#include "placement/plan.hpp"
#include "sim/simulate.hpp"
#include "sweep/grid.hpp"
#include "sweep/merge.hpp"
#include "sweep/runner.hpp"
#include "sim/scenario/scenario.hpp"
#include "sweep/simulate_evaluator.hpp"
#include "sweep_test_util.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using epsim::test::fresh_dir;
using epsim::test::parse_spec;
using epsim::test::phi_base;
using epsim::test::read_text;

namespace {

// Phi-3.5-MoE (16 experts, top-2, 32 layers, 32 heads), two-batch overlap.
Json sim_spec_json(const Json& axes) {
  Json base = phi_base();
  base["schedule"] = "two-batch";
  return {{"schema", "epsim.sweep/2"}, {"name", "s"}, {"evaluator", "simulate"}, {"base", base}, {"axes", axes}};
}

// The scenario the simulate evaluator reads for a point (what simulate would read).
Scenario scenario_of(const SweepPoint& p) { return scenario_from_json(p.scenario, point_scenario_label(p)); }

SweepPoint sim_point(const Json& axes, std::size_t index = 0) { return make_point(parse_spec(sim_spec_json(axes)), index); }

// The error of parsing `spec`, or else the skip reason of its first point.
std::string error_of(const Json& spec) {
  try {
    SimulateEvaluator ev;
    return ev(make_point(parse_spec(spec), 0)).skipped_reason;
  } catch (const InputError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("a point's scenario is read as simulate reads it: axes and shorthands", "[sweep][simulate]") {
  // EP 8: dp 8 x tp 1 x pp 1, one EP rank per GPU; prefill of 1024 tokens per replica as one sequence.
  Scenario ep = scenario_of(sim_point(Json::object()));
  CHECK(ep.parallel.dp == 8);
  CHECK(ep.parallel.ep == 8);
  CHECK(ep.parallel.gpus() == 8);
  CHECK(ep.phase.sequence_length == 1024);
  CHECK(ep.phase.batch == 1);
  CHECK(ep.phase.micro_batches == 2);
  CHECK(ep.schedule == ScheduleKind::two_batch);
  REQUIRE(ep.cluster);
  CHECK(ep.cluster->nodes == 1);  // ceil(8 GPUs / 8 per node)
  // TP 4 x PP 2 without EP: one replica of 8 GPUs, experts sharded 4 ways; the phase is per replica.
  Scenario b = scenario_of(sim_point({{"layout", {"tp4xpp2"}}}));
  CHECK(b.parallel.dp == 1);
  CHECK(b.parallel.tp == 4);
  CHECK(b.parallel.pp == 2);
  CHECK(b.parallel.ep == 1);
  CHECK(b.parallel.expert_tp == 4);
  CHECK(b.phase.batch == 1);
  // Decode: batch_per_gpu sequences per replica over the context.
  Scenario d = scenario_of(sim_point({{"phase", {epsim::test::decode_value(64, 2048)}}}));
  CHECK(d.phase.kind == PhaseKind::decode);
  CHECK(d.phase.batch == 64);
  CHECK(d.phase.context_length == 2048);
  // A field's pointer as an axis: sequences of 256 tokens = 4 sequences of the 1024 tokens.
  Scenario pre = scenario_of(sim_point({{"/phase/sequence_length", {256}}}));
  CHECK(pre.phase.sequence_length == 256);
  CHECK(pre.phase.batch == 4);
}

TEST_CASE("simulate metrics equal simulate() on the same inputs", "[sweep][simulate]") {
  SimulateEvaluator ev;
  PointResult r = ev(sim_point({{"placement", {"greedy"}}}));
  REQUIRE(r.skipped_reason.empty());
  // The same simulation by hand: one DGX H100 node, EP 8, greedy placement, 1024 tokens per GPU.
  Scenario sc;
  sc.file = "by hand";
  sc.model = std::string(EPSIM_SCENARIOS_DIR) + "/models/phi-3.5-moe-instruct.config.json";
  sc.loads = std::string(EPSIM_TEST_DATA_DIR) + "/loads_phi16.json";
  sc.gemm_efficiency = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepgemm_grouped_fp8_h800.csv";
  sc.parallel.dp = sc.parallel.ep = 8;
  sc.phase.kind = PhaseKind::prefill;
  sc.phase.sequence_length = 1024;
  sc.phase.batch = 1;
  sc.phase.micro_batches = 2;
  sc.schedule = ScheduleKind::two_batch;
  sc.placement_algorithm = "greedy";
  SharedScenarioParts parts;
  parts.topology = std::make_shared<const Topology>(generate_dgx_cluster(dgx_options_for_nodes(1)));
  ScenarioInputs in = prepare_scenario(sc, parts);
  SimulationResult want = simulate(in);
  const Json& m = r.metrics;
  CHECK(m["iteration_us"].get<double>() == Approx(want.iteration.to_us()));
  CHECK(m["latency_ms"].get<double>() == Approx(want.latency_ms));
  CHECK(m["latency_kind"] == "ttft");
  // Throughput per GPU = 8 replicas x 1024 tokens / iteration / 8 GPUs = 1024 / iteration.
  CHECK(m["tokens_per_s_per_gpu"].get<double>() == Approx(1024.0 / want.iteration.to_seconds()));
  double exposed = 0;
  for (const LayerBreakdown& b : want.layers) exposed += b.exposed_comm_us;
  CHECK(m["exposed_comm_us"].get<double>() == Approx(exposed));
  CHECK(m["exposed_comm_share"].get<double>() == Approx(exposed / want.iteration.to_us()));
  CHECK(m["gpus"] == 8);
  // One node: all-to-all bytes cross NVLink only; the busiest link is the most utilized NVLink, and
  // its utilization is the max of the tiers'.
  CHECK(m["busiest_link_tier"] == "nvlink");
  CHECK(m["nic_util"].get<double>() == 0);
  const double util = m["busiest_link_util"].get<double>();
  CHECK(util == Approx(m["nvlink_util"].get<double>()));
  CHECK(util > 0);
  CHECK(util <= 1.0 + 1e-12);
  // The same bytes as simulate() counts on that link: util x bandwidth (450 GB/s) x iteration.
  CHECK(m["busiest_link_GB"].get<double>() == Approx(util * 450.0 * want.iteration.to_seconds()));
  CHECK(m["gpu_imbalance"].get<double>() >= 1.0);
  CHECK(m["plan_gap"].get<double>() >= -1e-9);
  // Plan-only metrics stay empty, never invented.
  CHECK_FALSE(m.contains("worst_layer"));
  CHECK_FALSE(m.contains("max_gpu_tokens"));
}

TEST_CASE("two nodes: the busiest link is the most utilized of every tier", "[sweep][simulate]") {
  SimulateEvaluator ev;
  PointResult r = ev(sim_point({{"ep", {16}}}));
  REQUIRE(r.skipped_reason.empty());
  const Json& m = r.metrics;
  double best = 0;
  for (const char* k : {"nvlink_util", "pcie_util", "nic_util", "spine_util"}) best = std::max(best, m[k].get<double>());
  CHECK(m["busiest_link_util"].get<double>() == Approx(best));
  // Inter-node bytes go GPU -> PCIe -> NIC (64 vs 50 GB/s, same bytes): the NIC is busier than PCIe.
  CHECK(m["nic_util"].get<double>() == Approx(m["pcie_util"].get<double>() * 64.0 / 50.0).epsilon(1e-9));
}

TEST_CASE("simulate evaluator skip reasons", "[sweep][simulate]") {
  SimulateEvaluator ev;
  Json train_two_batch = sim_spec_json({{"phase", {"training"}}});
  CHECK_THAT(ev(make_point(parse_spec(train_two_batch), 0)).skipped_reason,
             Catch::Contains("/schedule") && Catch::Contains("serial or overlap for training"));
  CHECK_THAT(ev(sim_point({{"ep", {3}}})).skipped_reason, Catch::Contains("divisible by ep 3") && Catch::Contains("redundant 2"));
  // Phi has 32 heads: TP 3 does not divide them (3 x 1 GPUs; no ep axis, so the grid keeps it).
  CHECK_THAT(ev(sim_point({{"layout", {"tp3xpp1"}}})).skipped_reason, Catch::Contains("/parallel/tp"));
  CHECK_THAT(ev(sim_point({{"micro_batches", {3}}})).skipped_reason,
             Catch::Contains("/phase/micro_batches") && Catch::Contains("even number of micro-batches"));
  Json mismatch = sim_spec_json({{"model", {"models/deepseek-v3.config.json"}}});
  CHECK_THAT(ev(make_point(parse_spec(mismatch), 0)).skipped_reason, Catch::Contains("loads do not match the model"));
  // Decode of 1024 sequences per GPU over 2048-token contexts: the KV cache exceeds the 80 GB of HBM.
  CHECK_THAT(ev(sim_point({{"phase", {epsim::test::decode_value(1024, 2048)}}})).skipped_reason,
             Catch::Contains("a layout that fits a H100 (80 GB)"));
  // A baseline runs: TP 8 x PP 1 on one node, experts sharded 8 ways, no all-to-all.
  PointResult tp = ev(sim_point({{"layout", {"tp8xpp1"}}}));
  REQUIRE(tp.skipped_reason.empty());
  CHECK(tp.metrics["gpus"] == 8);
  CHECK(tp.metrics["tokens_per_s_per_gpu"].get<double>() > 0);
  CHECK_FALSE(tp.metrics.contains("alltoall_us"));
}

TEST_CASE("a train point simulates forward and backward of every micro-batch", "[sweep][simulate]") {
  SimulateEvaluator ev;
  Json spec = sim_spec_json({{"phase", {"training", "prefill"}}});
  spec["base"]["schedule"] = "serial";
  // Phi-3.5-MoE's 42B parameters at 16 bytes each (mixed-precision Adam) over 8 GPUs: 107 GB per GPU,
  // more than a H100's 80 GB; a H200 (141 GB) holds them.
  spec["base"]["gpu"] = "h200";
  PointResult train = ev(make_point(parse_spec(spec), 0));
  PointResult prefill = ev(make_point(parse_spec(spec), 1));
  INFO(train.skipped_reason);
  REQUIRE(train.skipped_reason.empty());
  REQUIRE(prefill.skipped_reason.empty());
  CHECK(train.metrics["latency_kind"] == "step");
  // tokens_per_gpu is per micro-batch in training (as in epsim.scenario/1) and per iteration in
  // prefill: with 2 micro-batches a training iteration carries 2x the prefill's tokens, and its
  // iteration (forward + backward = 3x forward compute, plus gradient reduction and optimizer) is
  // more than 2x longer.
  CHECK(train.metrics["tokens_per_s_per_gpu"].get<double>() * train.metrics["iteration_us"].get<double>() ==
        Approx(2.0 * prefill.metrics["tokens_per_s_per_gpu"].get<double>() * prefill.metrics["iteration_us"].get<double>()));
  CHECK(train.metrics["iteration_us"].get<double>() > 2.0 * prefill.metrics["iteration_us"].get<double>());
}

TEST_CASE("simulate evaluator rejections name the spec or the point and the field", "[sweep][simulate][rejections]") {
  using Catch::Contains;
  Json unknown = sim_spec_json(Json::object());
  unknown["base"]["micro_batch"] = 2;
  CHECK_THAT(error_of(unknown), Contains("spec.json: /base/micro_batch"));
  Json schedule = sim_spec_json({{"schedule", {"pipelined"}}});
  CHECK_THAT(error_of(schedule), Contains("/axes/schedule/0") && Contains("two-batch"));
  Json no_gemm = sim_spec_json(Json::object());
  no_gemm["base"].erase("gemm_efficiency");
  CHECK_THAT(error_of(no_gemm), Contains("/base/gemm_efficiency"));
  Json no_ctx = sim_spec_json({{"phase", {{{"value", "decode"}, {"set", {{"/phase", {{"kind", "decode"}, {"batch_per_gpu", 8}}}}}}}}});
  CHECK_THAT(error_of(no_ctx), Contains("scenario of sweep point 0") && Contains("/phase/context_length"));
  Json network = sim_spec_json(Json::object());
  network["base"]["network"] = "packet";
  CHECK_THAT(error_of(network), Contains("/base/network") && Contains("analytical, flow"));
  Json objective = sim_spec_json(Json::object());
  objective["base"]["placement"]["objective"] = "speed";
  CHECK_THAT(error_of(objective), Contains("/base/placement/objective"));
  Json gpu = sim_spec_json(Json::object());
  gpu["base"]["gpu"] = "a100";
  CHECK_THAT(error_of(gpu), Contains("/base/gpu"));
  Json layout = sim_spec_json({{"layout", {"tp0xpp2"}}});
  CHECK_THAT(error_of(layout), Contains("/axes/layout/0"));
}

TEST_CASE("simulate shares topologies, models, loads and plans across points", "[sweep][simulate]") {
  // 3 schedules x 2 placements = 6 simulations on one topology with 2 plans (schedules share them).
  SweepSpec spec = parse_spec(sim_spec_json({{"schedule", {"serial", "two-batch", "overlap"}}, {"placement", {"contiguous", "greedy"}}}));
  SimulateEvaluator ev;
  for (std::size_t i = 0; i < spec.num_points(); ++i) REQUIRE(ev(make_point(spec, i)).skipped_reason.empty());
  SimulateEvaluatorStats s = ev.stats();
  CHECK(s.models_parsed == 1);
  CHECK(s.loads_parsed == 1);
  CHECK(s.topologies_built == 1);
  CHECK(s.plans_made == 2);
  CHECK(s.simulations == 6);
}

TEST_CASE("the simulate sweep CSV is identical with -j 1, -j 2 and two merged shards", "[sweep][simulate][runner]") {
  // 2 phases x 3 EPs x 2 placements = 12 points; EP 3 is skipped (16 experts do not divide).
  Json decode = epsim::test::decode_value(64, 2048);
  Json doc = sim_spec_json({{"phase", {"prefill", decode}}, {"ep", {3, 8, 16}}, {"placement", {"greedy", "epsim"}}});
  SweepSpec spec = parse_spec(doc);
  auto opts = [](const std::filesystem::path& out, int threads, Shard shard) {
    SweepRunOptions o;
    o.out = out;
    o.threads = threads;
    o.shard = shard;
    o.plots = false;
    return o;
  };
  auto j1 = fresh_dir("sim_j1"), j2 = fresh_dir("sim_j2"), s0 = fresh_dir("sim_s0"), s1 = fresh_dir("sim_s1");
  SweepRunResult r1 = run_sweep(spec, make_simulate_evaluator(), opts(j1, 1, {}));
  CHECK(r1.progress.evaluated == 12);
  CHECK(r1.progress.skipped == 4);
  run_sweep(spec, make_simulate_evaluator(), opts(j2, 2, {}));
  run_sweep(spec, make_simulate_evaluator(), opts(s0, 2, Shard{0, 2}));
  run_sweep(spec, make_simulate_evaluator(), opts(s1, 1, Shard{1, 2}));
  std::string csv1 = read_text(j1 / "sweep.csv");
  REQUIRE(csv1.find(",ok,") != std::string::npos);
  CHECK(read_text(j2 / "sweep.csv") == csv1);
  auto merged = fresh_dir("sim_merged");
  CHECK(merge_results(merged, {s1, s0}, false).copied == 12);
  CHECK(read_text(merged / "sweep.csv") == csv1);
}

TEST_CASE("topology axes reach the simulated cluster", "[sweep][simulate][topology]") {
  // EP 16 on 2 nodes: half of every GPU's dispatch crosses the NICs, so halving the NIC bandwidth
  // (50 -> 25 GB/s) or halving the spine (oversubscription 2) cannot make the iteration shorter.
  SimulateEvaluator ev;
  SweepSpec nic = parse_spec(sim_spec_json({{"nic_GBps", {25, 50}}, {"ep", {16}}}));
  PointResult slow = ev(make_point(nic, 0)), fast = ev(make_point(nic, 1));
  REQUIRE(slow.skipped_reason.empty());
  REQUIRE(fast.skipped_reason.empty());
  CHECK(slow.metrics["iteration_us"].get<double>() >= fast.metrics["iteration_us"].get<double>());
  // The NIC links carry the same bytes at half the bandwidth over a longer or equal iteration:
  // util(25) x iteration(25) = 2 x util(50) x iteration(50).
  CHECK(slow.metrics["nic_util"].get<double>() * slow.metrics["iteration_us"].get<double>() ==
        Approx(2 * fast.metrics["nic_util"].get<double>() * fast.metrics["iteration_us"].get<double>()));
  SweepSpec os = parse_spec(sim_spec_json({{"oversubscription", {1, 2}}, {"ep", {16}}}));
  CHECK(ev(make_point(os, 1)).metrics["iteration_us"].get<double>() >=
        ev(make_point(os, 0)).metrics["iteration_us"].get<double>());
  // Fat tree and explicit node counts run; EP 16 on 1 node is skipped by the simulator's check.
  SweepSpec fat = parse_spec(sim_spec_json({{"fabric", {"fat-tree"}}, {"nodes", {1, 4}}, {"ep", {16}}}));
  CHECK_THAT(ev(make_point(fat, 0)).skipped_reason, Catch::Contains("at most the 8 GPUs"));
  PointResult four = ev(make_point(fat, 1));
  REQUIRE(four.skipped_reason.empty());
  CHECK(four.metrics["gpus"] == 16);
  CHECK(four.metrics["spine_util"].get<double>() > 0);  // NIC blocks span leaves: the spine carries bytes
}
