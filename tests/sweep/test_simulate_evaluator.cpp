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
#include "sweep/sim_point_scenario.hpp"
#include "sweep/simulate_evaluator.hpp"
#include "sweep_test_util.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using epsim::test::fresh_dir;
using epsim::test::parse_spec;
using epsim::test::phi_base;
using epsim::test::read_text;

namespace {

// Phi-3.5-MoE (16 experts, top-2, 32 layers, 32 heads) with what the simulator also needs.
Json sim_spec_json(const Json& axes) {
  Json base = phi_base();
  base["gemm_efficiency"] = "measurements/deepgemm_grouped_fp8_h800.csv";
  base["context_length"] = 2048;
  base["schedule"] = "two-batch";
  return {{"schema", "epsim.sweep/1"}, {"name", "s"}, {"evaluator", "simulate"}, {"base", base}, {"axes", axes}};
}

SweepPoint sim_point(const Json& axes, std::size_t index = 0) { return make_point(parse_spec(sim_spec_json(axes)), index); }

std::string error_of(const Json& spec) {
  try {
    SimulateEvaluator ev;
    ev(make_point(parse_spec(spec), 0));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("layouts and work per GPU translate into the simulator's scenario", "[sweep][simulate]") {
  // EP 8: dp 8 x tp 1 x pp 1, one EP rank per GPU; prefill of 1024 tokens per GPU as one sequence.
  SimPoint ep = sim_point_from_sweep(sim_point(Json::object()));
  CHECK(ep.scenario.parallel.dp == 8);
  CHECK(ep.scenario.parallel.ep == 8);
  CHECK(ep.scenario.parallel.gpus() == 8);
  CHECK(ep.scenario.phase.sequence_length == 1024);
  CHECK(ep.scenario.phase.batch == 1);
  CHECK(ep.scenario.phase.micro_batches == 2);  // 2 x pp
  CHECK(ep.scenario.schedule == ScheduleKind::two_batch);
  CHECK(ep.topology.dgx.nodes == 1);  // ceil(8 GPUs / 8 per node)
  // TP 4 x PP 2 without EP: one replica of 8 GPUs, experts sharded 4 ways; same tokens per GPU, so
  // the replica holds 8 x 1024 prompt tokens = 8 sequences of 1024; 2 x pp = 4 micro-batches.
  Json tp = sim_spec_json({{"layout", {"tp4xpp2"}}});
  SimPoint b = sim_point_from_sweep(make_point(parse_spec(tp), 0));
  CHECK(b.scenario.parallel.dp == 1);
  CHECK(b.scenario.parallel.tp == 4);
  CHECK(b.scenario.parallel.pp == 2);
  CHECK(b.scenario.parallel.ep == 1);
  CHECK(b.scenario.parallel.expert_tp == 4);
  CHECK(b.scenario.phase.batch == 8);
  CHECK(b.scenario.phase.micro_batches == 4);
  // Decode: batch_per_gpu sequences per GPU (default tokens_per_gpu) over the context.
  Json dec = sim_spec_json({{"phase", {"decode"}}, {"batch_per_gpu", {64}}});
  SimPoint d = sim_point_from_sweep(make_point(parse_spec(dec), 0));
  CHECK(d.scenario.phase.kind == PhaseKind::decode);
  CHECK(d.scenario.phase.batch == 64);
  CHECK(d.scenario.phase.context_length == 2048);
  // Prefill with batch_per_gpu: sequences of tokens_per_gpu / batch_per_gpu = 1024 / 4 = 256 tokens.
  Json pre = sim_spec_json({{"batch_per_gpu", {4}}});
  CHECK(sim_point_from_sweep(make_point(parse_spec(pre), 0)).scenario.phase.sequence_length == 256);
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
  Json train_two_batch = sim_spec_json({{"phase", {"train"}}});
  train_two_batch["base"]["schedule"] = "two-batch";
  CHECK_THAT(ev(make_point(parse_spec(train_two_batch), 0)).skipped_reason, Catch::Contains("two-batch is for inference"));
  CHECK_THAT(ev(sim_point({{"ep", {3}}})).skipped_reason, Catch::Contains("divisible by ep 3") && Catch::Contains("redundant 2"));
  CHECK_THAT(ev(sim_point({{"tokens_per_gpu", {0}}})).skipped_reason, Catch::Contains("tokens_per_gpu 0"));
  // Phi has 32 heads: TP 3 does not divide them (3 x 1 GPUs; no ep axis, so the grid keeps it).
  CHECK_THAT(ev(sim_point({{"layout", {"tp3xpp1"}}})).skipped_reason, Catch::Contains("/parallel/tp"));
  Json odd = sim_spec_json(Json::object());
  odd["base"]["micro_batches"] = 3;
  CHECK_THAT(ev(make_point(parse_spec(odd), 0)).skipped_reason, Catch::Contains("even number of micro-batches, not 3"));
  Json mismatch = sim_spec_json({{"model", {"models/deepseek-v3.config.json"}}});
  CHECK_THAT(ev(make_point(parse_spec(mismatch), 0)).skipped_reason, Catch::Contains("loads do not match the model"));
  // Decode of 1024 sequences per GPU over 2048-token contexts: the KV cache exceeds the 80 GB of HBM.
  CHECK_THAT(ev(sim_point({{"phase", {"decode"}}})).skipped_reason, Catch::Contains("a layout that fits a H100 (80 GB)"));
  // A baseline runs: TP 8 x PP 1 on one node, experts sharded 8 ways, no all-to-all.
  PointResult tp = ev(sim_point({{"layout", {"tp8xpp1"}}}));
  REQUIRE(tp.skipped_reason.empty());
  CHECK(tp.metrics["gpus"] == 8);
  CHECK(tp.metrics["tokens_per_s_per_gpu"].get<double>() > 0);
  CHECK_FALSE(tp.metrics.contains("alltoall_us"));
}

TEST_CASE("a train point simulates forward and backward of every micro-batch", "[sweep][simulate]") {
  SimulateEvaluator ev;
  Json spec = sim_spec_json({{"phase", {"train", "prefill"}}});
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

TEST_CASE("simulate evaluator rejections name the point and the field", "[sweep][simulate][rejections]") {
  using Catch::Contains;
  Json unknown = sim_spec_json(Json::object());
  unknown["base"]["micro_batch"] = 2;
  CHECK_THAT(error_of(unknown), Contains("scenario of sweep point 0: /micro_batch"));
  Json schedule = sim_spec_json({{"schedule", {"pipelined"}}});
  CHECK_THAT(error_of(schedule), Contains("/schedule") && Contains("two-batch"));
  Json no_gemm = sim_spec_json(Json::object());
  no_gemm["base"].erase("gemm_efficiency");
  CHECK_THAT(error_of(no_gemm), Contains("gemm_efficiency"));
  Json no_ctx = sim_spec_json({{"phase", {"decode"}}});
  no_ctx["base"].erase("context_length");
  CHECK_THAT(error_of(no_ctx), Contains("context_length"));
  Json network = sim_spec_json(Json::object());
  network["base"]["network"] = "packet";
  CHECK_THAT(error_of(network), Contains("/network") && Contains("analytical, flow"));
  Json objective = sim_spec_json(Json::object());
  objective["base"]["placement"]["objective"] = "speed";
  CHECK_THAT(error_of(objective), Contains("/placement/objective"));
  Json gpu = sim_spec_json(Json::object());
  gpu["base"]["gpu"] = "a100";
  CHECK_THAT(error_of(gpu), Contains("/gpu"));
  Json layout = sim_spec_json(Json::object());
  layout["base"]["parallel"]["layout"] = "tp0xpp2";
  CHECK_THAT(error_of(layout), Contains("/parallel/layout"));
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
  Json decode = {{"value", "decode"}, {"set", {{"/tokens_per_gpu", 64}}}};
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
  SweepSpec fat = parse_spec(sim_spec_json({{"fabric", {"fat_tree"}}, {"nodes", {1, 4}}, {"ep", {16}}}));
  CHECK_THAT(ev(make_point(fat, 0)).skipped_reason, Catch::Contains("at most the 8 GPUs"));
  PointResult four = ev(make_point(fat, 1));
  REQUIRE(four.skipped_reason.empty());
  CHECK(four.metrics["gpus"] == 16);
  CHECK(four.metrics["spine_util"].get<double>() > 0);  // NIC blocks span leaves: the spine carries bytes
}
