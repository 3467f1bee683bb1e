// Training iterations (phase "training"): pipeline orders, backward = 2 x forward, MoE backward
// all-to-alls, data-parallel gradient reductions on the topology, optimizer step, memory, rejections.
// Model: Qwen3-30B-A3B (48 MoE layers, hidden 2048, 32 heads / 4 KV heads of 128, 128 experts of
// width 768, top-8) on 2 DGX H100 nodes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "sim/closed_form_exchange.hpp"
#include "sim/network/network_model.hpp"
#include "sim/simulate.hpp"
#include "sim/workload/training.hpp"
#include "sim/workload/workload.hpp"

using namespace epsim;

namespace {

const std::string kScenarios = EPSIM_SCENARIOS_DIR;

// dp x pp GPUs, ep = dp, 1024 tokens per replica and micro-batch.
Scenario qwen_training(int dp, int pp, int micro_batches) {
  Scenario s;
  s.file = "train.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/qwen3-30b-a3b.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.parallel = ParallelConfig{dp, 1, pp, dp, 1};
  s.phase.kind = PhaseKind::training;
  s.phase.sequence_length = 1024;
  s.phase.micro_batches = micro_batches;
  s.phase.batch = micro_batches;  // the replica's batch: one 1024-token sequence per micro-batch
  s.schedule = ScheduleKind::serial;
  s.placement_algorithm = "contiguous";
  s.training.overlap_grad_reduce = false;
  return s;
}

SimulateOptions exact() {
  SimulateOptions o;
  o.overlap_slowdown = 1.0;  // no SM slowdown: compute times are exact integer sums
  return o;
}

// Runs the task graph as simulate() does; returns the end of the last forward/backward compute op
// (before gradient reductions and the optimizer) over all GPUs.
Time last_backward_end(const ScenarioInputs& in, ScheduleKind schedule) {
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  std::vector<LayerCosts> costs = layer_costs(in, coll, 1);
  Simulator sim;
  auto net = make_network_model("analytical", sim, *in.topology, *in.routes);
  StreamExecutor ex(in.scenario.parallel.gpus(), 1.0, Time());
  build_workload(in, costs, WorkloadConfig{schedule, 1}, ex);
  ClosedFormExchange closed(*in.topology, *in.routes);
  ex.run(sim, net.get(), &closed);
  Time end;
  for (int t = 0; t < ex.num_tasks(); ++t)
    if (ex.spec(t).kind == TaskKind::compute && ex.spec(t).op != OpKind::optimizer) end = std::max(end, ex.end(t));
  return end;
}

// Dense parameters of one Qwen3-30B-A3B layer: q 2048 x 4096, k and v 2048 x 512 each, o 4096 x 2048,
// router 2048 x 128 = 2048 x 9344.
constexpr double kQwenDenseParams = 2048.0 * 9344.0;

Json training_doc() {
  return Json::parse(R"({
    "schema": "epsim.scenario/1",
    "topology": "topo.json", "model": "model.json", "gemm_efficiency": "g.csv",
    "parallel": {"dp": 16, "ep": 16},
    "phase": {"kind": "training", "tokens_per_gpu": 1024, "micro_batches": 4},
    "training": {"overlap_grad_reduce": false, "grad_reduce": "reduce_scatter"}
  })");
}

std::string error_of(const Json& doc) {
  try {
    scenario_from_json(doc, "/data/t.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("pipeline orders of GPipe and 1F1B", "[training]") {
  using S = PipelineSlot;
  // GPipe: all forwards, then all backwards.
  CHECK(pipeline_order(PipelineSchedule::gpipe, 2, 0, 3) ==
        std::vector<S>{{0, false}, {1, false}, {2, false}, {0, true}, {1, true}, {2, true}});
  // 1F1B, pp 3, m 4: stage s runs pp - 1 - s warm-up forwards, then alternates.
  CHECK(pipeline_order(PipelineSchedule::one_f_one_b, 3, 0, 4) ==
        std::vector<S>{{0, false}, {1, false}, {2, false}, {0, true}, {3, false}, {1, true}, {2, true}, {3, true}});
  CHECK(pipeline_order(PipelineSchedule::one_f_one_b, 3, 2, 4) ==
        std::vector<S>{{0, false}, {0, true}, {1, false}, {1, true}, {2, false}, {2, true}, {3, false}, {3, true}});
  // Fewer micro-batches than warm-up slots: all forwards first.
  CHECK(pipeline_order(PipelineSchedule::one_f_one_b, 4, 0, 2) ==
        std::vector<S>{{0, false}, {1, false}, {0, true}, {1, true}});
  // 1F1B keeps at most pp - stage micro-batches in flight (forward done, backward not yet).
  for (int stage = 0; stage < 4; ++stage) {
    int in_flight = 0, most = 0;
    for (const S& slot : pipeline_order(PipelineSchedule::one_f_one_b, 4, stage, 8)) {
      in_flight += slot.backward ? -1 : 1;
      most = std::max(most, in_flight);
    }
    CHECK(most == 4 - stage);
    CHECK(in_flight == 0);
  }
  CHECK_THROWS_AS(pipeline_order(PipelineSchedule::gpipe, 2, 2, 1), std::invalid_argument);
  CHECK_THROWS_AS(pipeline_order(PipelineSchedule::gpipe, 2, 0, 0), std::invalid_argument);
}

TEST_CASE("backward compute is twice the forward compute", "[training]") {
  // Every backward op = dgrad + wgrad of each forward GEMM (kBackwardComputeFactor = 2), so with no
  // overlap slowdown backward compute-stream time = 2 x forward exactly (per op, in integer ps).
  ScenarioInputs in = prepare_scenario(qwen_training(16, 1, 2));
  SimulationResult r = simulate(in, exact());
  CHECK(r.forward_compute_us > 0);
  CHECK(r.backward_compute_us == Approx(2.0 * r.forward_compute_us).epsilon(1e-9));
  for (const LayerBreakdown& l : r.layers) {
    CAPTURE(l.layer);
    // compute_us = forward + backward = 3 x forward, of which backward is 2/3.
    CHECK(l.backward_compute_us == Approx(l.compute_us * 2.0 / 3.0).epsilon(1e-9));
  }
  CHECK(r.latency_name == "step");
  SimulateOptions two = exact();
  two.schedule = ScheduleKind::two_batch;  // --schedule two-batch overriding the scenario
  CHECK_THROWS_WITH(simulate(in, two), Catch::Contains("/schedule") && Catch::Contains("training"));
  // Throughput = training tokens of all replicas / iteration: 16 replicas x 2 x 1024 tokens.
  CHECK(r.tokens_per_iteration == 16.0 * 2 * 1024);
  CHECK(r.throughput_tokens_per_s == Approx(r.tokens_per_iteration / r.iteration.to_seconds()));
  CHECK(r.mfu > 0);
  CHECK(r.mfu < 1);
}

TEST_CASE("MoE backward has its own dispatch and combine with the forward's bytes", "[training]") {
  // Uniform loads: every GPU sends and receives the same bytes per direction, so the backward's
  // combine-gradient (dispatch direction, combine bytes) and dispatch-gradient (combine direction,
  // dispatch bytes) exchanges double what the forward alone (prefill of the same tokens) receives.
  Scenario t = qwen_training(16, 1, 2);
  Scenario p = t;
  p.phase.kind = PhaseKind::prefill;
  SimulationResult rt = simulate(prepare_scenario(t), exact()), rp = simulate(prepare_scenario(p), exact());
  for (int g : {0, 7, 15}) {
    CAPTURE(g);
    CHECK(rp.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes > 0);
    CHECK(rt.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes ==
          Approx(2 * rp.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes));
    CHECK(rt.gpus[static_cast<std::size_t>(g)].combine_received_bytes ==
          Approx(2 * rp.gpus[static_cast<std::size_t>(g)].combine_received_bytes));
  }
}

TEST_CASE("training without gradient overlap is the sum of its parts", "[training]") {
  // No overlap: every layer's all-reduce starts after the whole backward and they run one after the
  // other; then the optimizer. iteration = end of backward + sum over layers of AR(layer) + step, with
  // AR = CollectiveModel::cost(all_reduce, the 16 DP GPUs, dense params x 2 bytes) and
  // step = 28 bytes x parameters of the GPU / HBM bandwidth + one launch.
  ScenarioInputs in = prepare_scenario(qwen_training(16, 1, 1));
  SimulationResult r = simulate(in, exact());
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  std::vector<int> dp_group(16);
  for (int g = 0; g < 16; ++g) dp_group[static_cast<std::size_t>(g)] = g;
  Time reductions;
  for (int l = 0; l < 48; ++l) {
    CHECK(layer_dense_params(in.model, l, 1) == kQwenDenseParams);
    reductions += Time::from_ps_ceil(
        coll.cost(CollectiveKind::all_reduce, dp_group, kQwenDenseParams * kTrainGradBytesPerParam).time_us * 1e6);
  }
  // Parameters of one GPU: 48 layers x (dense + 8 experts x 3 x 2048 x 768).
  const double params = 48 * (kQwenDenseParams + 8 * 3.0 * 2048 * 768);
  CHECK(optimizer_step_bytes(in, 0, 5) == Approx(params * 28));
  const GpuSpec& gpu = in.compute.gpu();
  const Time step = Time::from_ps_ceil((params * 28 / (gpu.hbm_TBps * 1e12) * 1e6 + in.compute.params().launch_overhead_us) * 1e6);
  CHECK(r.iteration == last_backward_end(in, ScheduleKind::serial) + reductions + step);
  CHECK(r.grad_reduce_us == Approx(reductions.to_us()));
  CHECK(r.grad_reduce_exposed_us == Approx(reductions.to_us()));  // nothing overlaps them
  CHECK(r.optimizer_us == Approx(step.to_us()));
  CHECK(r.param_gather_us == 0);
}

TEST_CASE("overlapping gradient reduction with backward hides most of it", "[training]") {
  Scenario s = qwen_training(16, 1, 2);
  SimulationResult off = simulate(prepare_scenario(s), exact());
  s.training.overlap_grad_reduce = true;
  SimulationResult on = simulate(prepare_scenario(s), exact());
  CHECK(on.grad_reduce_us == Approx(off.grad_reduce_us));  // the same reductions ...
  CHECK(on.grad_reduce_exposed_us < 0.5 * off.grad_reduce_exposed_us);  // ... mostly hidden
  // Only the last layer's (layer 0's) reduction cannot hide behind any backward compute.
  CHECK(on.layers[0].grad_reduce_exposed_us == Approx(on.layers[0].grad_reduce_us));
  CHECK(on.iteration < off.iteration);
  CHECK(off.iteration - on.iteration <= Time::from_ps_ceil((off.grad_reduce_exposed_us - on.grad_reduce_exposed_us) * 1e6) +
                                            Time::from_ps_rounded(1e3));
}

TEST_CASE("a DP all-reduce on a ring costs 2(N-1)/N x S / B plus the step latencies", "[training]") {
  // pp 2 on 2 nodes: the DP group of stage 1 is the 8 GPUs of node 1; NVLS off, so NCCL's ring:
  // t = 8.4 us + 2(N-1)/N x S / B + 2(N-1) x 3.4 us (base latency, NVLink step latency), with
  // B = ring bus bandwidth of the group and S = dense parameters x 2 bytes of BF16 gradients.
  ScenarioInputs in = prepare_scenario(qwen_training(8, 2, 2));
  in.collective_params.allow_nvls = false;
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  const std::vector<int> group{8, 9, 10, 11, 12, 13, 14, 15};
  const double B = coll.ring_bus_bandwidth_GBps(group) * 1e9;
  const double S = kQwenDenseParams * 2;
  std::vector<GradReduction> red = layer_grad_reductions(in, coll, 30, 1);
  REQUIRE(red.size() == 1);  // no redundant experts: one DP group of dense parameters (tp = 1)
  CHECK(red[0].gpus == group);
  CHECK(red[0].time.to_us() == Approx(8.4 + 2.0 * 7 / 8 * S / B * 1e6 + 14 * 3.4).margin(1e-6));
  CHECK(red[0].gather_time == Time());
  // reduce_scatter: (N-1)/N x S / B + (N-1) steps, then the same for the all-gather after the step.
  in.scenario.training.grad_reduce = GradReduce::reduce_scatter;
  red = layer_grad_reductions(in, coll, 30, 1);
  CHECK(red[0].time.to_us() == Approx(8.4 + 7.0 / 8 * S / B * 1e6 + 7 * 3.4).margin(1e-6));
  CHECK(red[0].gather_time.to_us() == Approx(8.4 + 7.0 / 8 * S / B * 1e6 + 7 * 3.4).margin(1e-6));
  // The optimizer of a sharded step touches 1/8 of the dense parameters.
  CHECK(optimizer_step_bytes(in, 1, 0) == Approx(24 * (kQwenDenseParams / 8 + 16 * 3.0 * 2048 * 768) * 28));
}

TEST_CASE("replicated experts reduce their gradients among their replicas", "[training]") {
  Scenario s = qwen_training(16, 1, 1);
  s.redundant = 16;  // 144 slots, 9 per GPU: 16 experts get a second replica
  s.placement_algorithm = "greedy";
  ScenarioInputs in = prepare_scenario(s);
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  const LayerPlacement& pl = in.placement[5];
  int expected = 0;
  for (int e = 0; e < 128; ++e) expected += pl.gpus_of_expert(e).size() > 1 ? 1 : 0;
  std::vector<GradReduction> red = layer_grad_reductions(in, coll, 5, 0);
  int experts = 0;
  for (const GradReduction& g : red) {
    if (!g.expert) continue;
    ++experts;
    // One expert's gradients: 3 x 2048 x 768 parameters x 2 bytes, all-reduced among its holders.
    CHECK(g.time == Time::from_ps_ceil(coll.cost(CollectiveKind::all_reduce, g.gpus, 3.0 * 2048 * 768 * 2).time_us * 1e6));
  }
  CHECK(expected > 0);
  CHECK(experts == expected);
  CHECK(simulate(in, exact()).iteration > Time());
}

TEST_CASE("expert-data-parallel groups: EP groups smaller than the stage", "[training]") {
  // dp 16, ep 8: two EP groups (GPUs 0-7, 8-15) hold the same experts; EP rank r's expert gradients
  // (16 slots x 3 x 2048 x 768 parameters x 2 bytes) are all-reduced over {r, r + 8}.
  Scenario s = qwen_training(16, 1, 1);
  s.parallel.ep = 8;
  ScenarioInputs in = prepare_scenario(s);
  REQUIRE(in.scenario.parallel.edp() == 2);
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  std::vector<GradReduction> red = layer_grad_reductions(in, coll, 5, 0);
  REQUIRE(red.size() == 1 + 8);
  CHECK_FALSE(red[0].expert);
  CHECK(red[0].gpus.size() == 16);
  for (int r = 0; r < 8; ++r) {
    const GradReduction& g = red[static_cast<std::size_t>(1 + r)];
    CHECK(g.expert);
    CHECK(g.gpus == std::vector<int>{r, r + 8});
    CHECK(g.time == Time::from_ps_ceil(coll.cost(CollectiveKind::all_reduce, g.gpus, 16 * 3.0 * 2048 * 768 * 2).time_us * 1e6));
  }
  // Each GPU still originates its 1024 tokens; with uniform loads rank d computes 1024 x top_k = 8192
  // token-expert pairs per layer, and receives (ep - 1) / ep of them from the other ranks of its
  // group: 7/8 at ep 8 against 15/16 at ep 16, a ratio of 14/15.
  SimulationResult r8 = simulate(in, exact());
  SimulationResult r16 = simulate(prepare_scenario(qwen_training(16, 1, 1)), exact());
  for (int g : {0, 9}) {
    CAPTURE(g);
    CHECK(r8.gpus[static_cast<std::size_t>(g)].routed_tokens == Approx(48 * 8192.0));
    CHECK(r8.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes ==
          Approx(r16.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes * 14 / 15));
  }
  CHECK(r8.grad_reduce_us > r16.grad_reduce_us);  // + the expert reductions
  // reduce_scatter shards the experts' optimizer states and step over the 2 EP groups as well.
  in.scenario.training.grad_reduce = GradReduce::reduce_scatter;
  CHECK(optimizer_step_bytes(in, 0, 9) == Approx(48 * (kQwenDenseParams / 16 + 16 * 3.0 * 2048 * 768 / 2) * 28));
  MoeModel m = load_moe_model(s.model);
  GpuParams p = gpu_params(in.scenario, m, 16);
  CHECK(estimate_memory(in.scenario, m, 16).optimizer_states == Approx((p.expert / 2 + p.dense / 16) * 12));
  // Inference keeps one EP group per stage.
  s.phase.kind = PhaseKind::prefill;
  CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/parallel/ep"));
}

TEST_CASE("1F1B and GPipe bubbles are (pp-1)/(m+pp-1) of the iteration", "[training]") {
  // Uniform stages of t = t_f + t_b per micro-batch: both schedules end the backward at
  // (m + pp - 1) x t, of which m x t is work; with m = 1, t = end / pp. Pipeline sends and exchange
  // waits make slots slightly uneven: 2% tolerance.
  for (PipelineSchedule ps : {PipelineSchedule::one_f_one_b, PipelineSchedule::gpipe}) {
    Scenario s = qwen_training(8, 2, 1);
    s.pipeline = ps;
    const double t = last_backward_end(prepare_scenario(s), ScheduleKind::serial).to_us() / 2;
    for (int m : {4, 8}) {
      CAPTURE(to_string(ps), m);
      s = qwen_training(8, 2, m);
      s.pipeline = ps;
      ScenarioInputs in = prepare_scenario(s);
      const double end = last_backward_end(in, ScheduleKind::serial).to_us();
      CHECK(end == Approx((m + 1) * t).epsilon(0.02));
      CHECK(1 - m * t / end == Approx(1.0 / (m + 1)).margin(0.02));
      CHECK(simulate(in).pipeline_bubble_fraction == Approx(1.0 / (m + 1)));
    }
  }
}

TEST_CASE("training memory: 16 bytes per parameter plus activations", "[training]") {
  Scenario s = qwen_training(8, 2, 8);
  MoeModel m = load_moe_model(s.model);
  GpuParams p = gpu_params(s, m, 16);
  CHECK(p.expert == Approx(24 * 16 * 3.0 * 2048 * 768));  // 24 layers x 16 slots x expert
  CHECK(p.dense == Approx(24 * kQwenDenseParams));
  MemoryEstimate e = estimate_memory(s, m, 16);
  CHECK(e.expert_weights + e.other_weights == Approx((p.expert + p.dense) * 2));  // BF16 weights
  CHECK(e.gradients == Approx((p.expert + p.dense) * 2));                         // BF16 gradients
  CHECK(e.optimizer_states == Approx((p.expert + p.dense) * 12));                 // FP32 master, m, v
  CHECK(e.kv_cache == 0);
  // 1F1B keeps min(m, pp) = 2 micro-batches of activations on stage 0, GPipe all m = 8.
  s.pipeline = PipelineSchedule::gpipe;
  CHECK(estimate_memory(s, m, 16).activations == Approx(4 * e.activations));
  // reduce_scatter shards the dense parameters' optimizer states over the dp = 8 replicas.
  s.training.grad_reduce = GradReduce::reduce_scatter;
  CHECK(estimate_memory(s, m, 16).optimizer_states == Approx((p.expert + p.dense / 8) * 12));
}

TEST_CASE("invalid training configurations are rejected with the field", "[training]") {
  CHECK(error_of(training_doc()) == "no error");
  Scenario ok = scenario_from_json(training_doc(), "/data/t.json");
  CHECK(ok.training.grad_reduce == GradReduce::reduce_scatter);
  CHECK_FALSE(ok.training.overlap_grad_reduce);
  CHECK(ok.phase.tokens_per_micro_batch() == 1024);
  CHECK(scenario_from_json([] { Json d = training_doc(); d.erase("training"); return d; }(), "t.json")
            .training.overlap_grad_reduce);  // default: overlapped

  Json d = training_doc();
  d["phase"] = {{"kind", "prefill"}, {"tokens_per_gpu", 1024}};
  CHECK_THAT(error_of(d), Catch::Contains("/training") && Catch::Contains("/phase/kind"));
  d = training_doc();
  d["schedule"] = "two-batch";
  CHECK_THAT(error_of(d), Catch::Contains("/schedule") && Catch::Contains("training"));
  d = training_doc();
  d["training"]["grad_reduce"] = "all_to_all";
  CHECK_THAT(error_of(d), Catch::Contains("/training/grad_reduce") && Catch::Contains("reduce_scatter"));
  d = training_doc();
  d["training"]["overlap_grad_reduce"] = "yes";
  CHECK_THAT(error_of(d), Catch::Contains("/training/overlap_grad_reduce"));
  d = training_doc();
  d["training"]["zero_stage"] = 3;
  CHECK_THAT(error_of(d), Catch::Contains("/training/zero_stage"));
  d = training_doc();
  d["parallel"]["ep"] = 6;  // EP groups must tile the stage: 16 % 6 != 0
  CHECK_THAT(error_of(d), Catch::Contains("/parallel/ep") && Catch::Contains("dividing"));
  d = training_doc();
  d["parallel"]["ep"] = 4;
  CHECK(error_of(d) == "no error");  // 4 EP groups of 4
  d["parallel"]["expert_tp"] = 2;    // ep 4 x expert_tp 2 = 8 < 16: not with expert TP
  CHECK_THAT(error_of(d), Catch::Contains("/parallel/ep"));
  d = training_doc();
  d["phase"]["context_length"] = 100;  // a decode field
  CHECK_THAT(error_of(d), Catch::Contains("/phase/context_length"));

  // DeepSeek-V3 training on 16 H100s: 256 experts x 58 layers / 16 GPUs x 44M parameters x 16 bytes
  // = 10.5 TB / 16 = 650 GB per GPU, far above 80 GB.
  Scenario s;
  s.file = "t.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/deepseek-v3.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.parallel = ParallelConfig{16, 1, 1, 16, 1};
  s.phase.kind = PhaseKind::training;
  s.phase.sequence_length = 1024;
  s.phase.batch = 1;
  s.placement_algorithm = "contiguous";
  CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/parallel") && Catch::Contains("optimizer states") &&
                                             Catch::Contains("training"));
  // Qwen3-30B-A3B fits at 1024 tokens per micro-batch but not with 256 Ki-token micro-batches.
  Scenario q = qwen_training(16, 1, 1);
  q.phase.sequence_length = 262144;
  q.phase.batch = 1;
  CHECK_THROWS_WITH(prepare_scenario(q), Catch::Contains("/parallel") && Catch::Contains("activations"));
}

TEST_CASE("the shipped training scenario parses", "[training]") {
  Scenario s = load_scenario(kScenarios + "/deepseek-v3/train-ep32-pp8.json");
  CHECK(s.phase.kind == PhaseKind::training);
  CHECK(s.parallel.gpus() == 256);
  CHECK(s.training.grad_reduce == GradReduce::reduce_scatter);
  CHECK(s.training.overlap_grad_reduce);
  CHECK(s.pipeline == PipelineSchedule::one_f_one_b);
}

TEST_CASE("reduction_traffic: hierarchical reduce-scatter / all-reduce bytes", "[training]") {
  // 2 hosts x 2 GPUs (ranks 0, 1 on node 0; 8, 9 on node 1 of the 2-node DGX), S = 1000 B.
  // Per phase: inside a host each GPU sends S / g = 500 B to its host peer; across the N = 2 hosts
  // each sends (N - 1) / N x S / g = 250 B to the GPU with its local index on the next host.
  // All-reduce (2 phases): 1000 B inside, 500 B across.
  Scenario s = qwen_training(16, 1, 1);
  ScenarioInputs in = prepare_scenario(s);
  const Topology& topo = *in.topology;
  auto sent = [](const std::vector<Transfer>& t, int a, int b) {
    double x = 0;
    for (const Transfer& e : t)
      if (e.src_gpu == a && e.dst_gpu == b) x += e.bytes;
    return x;
  };
  std::vector<Transfer> ar = reduction_traffic(topo, {0, 1, 8, 9}, 1000.0, 2);
  CHECK(ar.size() == 8);  // 4 intra-host + 4 cross-host transfers
  CHECK(sent(ar, 0, 1) == 1000.0);
  CHECK(sent(ar, 9, 8) == 1000.0);
  CHECK(sent(ar, 0, 8) == 500.0);
  CHECK(sent(ar, 9, 1) == 500.0);
  CHECK(sent(ar, 0, 9) == 0.0);
  std::vector<Transfer> rs = reduction_traffic(topo, {0, 1, 8, 9}, 1000.0, 1);
  CHECK(sent(rs, 1, 0) == 500.0);
  CHECK(sent(rs, 1, 9) == 250.0);
  // One host of 4: (g - 1) / g x S out per GPU per phase, S / 4 = 250 B to each peer; nothing across.
  std::vector<Transfer> one = reduction_traffic(topo, {0, 1, 2, 3}, 1000.0, 1);
  CHECK(one.size() == 12);
  for (const Transfer& t : one) CHECK(t.bytes == 250.0);
  CHECK(reduction_traffic(topo, {5}, 1000.0, 2).empty());
  CHECK_THROWS_AS(reduction_traffic(topo, {0, 99}, 1000.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(reduction_traffic(topo, {0, 1}, -1.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(reduction_traffic(topo, {0, 1}, 1000.0, 0), std::invalid_argument);
}

TEST_CASE("under the flow models gradient reductions load the links and last at least their collective time",
          "[training]") {
  // No overlap: each layer's all-reduce runs alone on the network after the backward. Its traffic
  // (reduction_traffic: 1.75 S over NVLink and S / 8 over the NIC per GPU) drains well within the
  // collective model's time, so every reduction lasts exactly that time, as with the analytical
  // network (where it is a fixed-time collective): same reduction totals. Under flow its bytes are on
  // the links: the link bytes grow by the reductions' traffic.
  Scenario s = qwen_training(16, 1, 1);
  ScenarioInputs in = prepare_scenario(s);
  SimulateOptions a = exact(), f = exact();
  a.network = "analytical";
  f.network = "flow";
  SimulationResult ra = simulate(in, a), rf = simulate(in, f);
  CHECK(rf.grad_reduce_us == Approx(ra.grad_reduce_us).epsilon(1e-9));
  double bytes_a = 0, bytes_f = 0;
  for (double b : ra.link_bytes) bytes_a += b;
  for (double b : rf.link_bytes) bytes_f += b;
  CHECK(bytes_f > bytes_a);
}
