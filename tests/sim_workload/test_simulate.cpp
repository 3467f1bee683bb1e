// Whole-iteration simulations of small scenarios (DeepSeek-V3 on 2 DGX H100 nodes, EP 16).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "comm/exchange_prediction.hpp"
#include "comm/collectives.hpp"
#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"
#include "sim/closed_form_exchange.hpp"
#include "sim/sim_report.hpp"
#include "topology/generators.hpp"
#include "sim/simulate.hpp"
#include "sim/workload/workload.hpp"

using namespace epsim;

namespace {

const std::string kScenarios = EPSIM_SCENARIOS_DIR;

Scenario ep16_scenario() {
  Scenario s;
  s.file = "test.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/deepseek-v3.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.parallel = ParallelConfig{16, 1, 1, 16, 1};
  s.phase.kind = PhaseKind::prefill;
  s.phase.sequence_length = 1024;
  s.phase.batch = 1;
  s.schedule = ScheduleKind::serial;
  s.placement_algorithm = "contiguous";  // expert e on rank floor(e / 16)
  return s;
}

}  // namespace

TEST_CASE("identical layers give identical per-layer times", "[simulate]") {
  ScenarioInputs in = prepare_scenario(ep16_scenario());  // uniform loads: every MoE layer the same
  for (ScheduleKind sched : {ScheduleKind::serial, ScheduleKind::overlap}) {
    SimulateOptions o;
    o.schedule = sched;
    SimulationResult r = simulate(in, o);
    const LayerBreakdown& ref = r.layers[4];
    // Layers 4..59 (away from the first MoE layer after the dense ones and the last) are equal.
    for (int l = 4; l < 60; ++l) {
      CAPTURE(l, to_string(sched));
      CHECK(r.layers[static_cast<std::size_t>(l)].compute_us == ref.compute_us);
      CHECK(r.layers[static_cast<std::size_t>(l)].dispatch_us == ref.dispatch_us);
      CHECK(r.layers[static_cast<std::size_t>(l)].combine_us == ref.combine_us);
    }
    CHECK(ref.dispatch_us > 0);
    CHECK(ref.compute_us > 0);
  }
}

TEST_CASE("all tokens routed to experts on GPU 0", "[simulate]") {
  ScenarioInputs in = prepare_scenario(ep16_scenario());
  // Contiguous placement puts experts 0..15 on GPU 0: route every token there.
  for (auto& layer : in.loads.count)
    for (std::size_t e = 0; e < layer.size(); ++e) layer[e] = e < 16 ? 1.0 : 0.0;
  for (ScheduleKind sched : {ScheduleKind::serial, ScheduleKind::overlap}) {
    SimulateOptions o;
    o.schedule = sched;
    SimulationResult r = simulate(in, o);
    CAPTURE(to_string(sched));
    CHECK(std::isfinite(r.iteration.to_us()));
    CHECK(r.iteration > Time());
    for (int g = 1; g < 16; ++g) {
      CHECK(r.gpus[static_cast<std::size_t>(g)].expert_compute_us == 0);
      CHECK(r.gpus[static_cast<std::size_t>(g)].dispatch_received_bytes == 0);
      CHECK(r.gpus[static_cast<std::size_t>(g)].routed_tokens == 0);
    }
    // GPU 0 computes 1024 tokens x 8 experts x 16 ranks per MoE layer (58 of them).
    CHECK(r.gpus[0].routed_tokens == Approx(1024.0 * 8 * 16 * 58));
    CHECK(r.gpus[0].dispatch_received_bytes > 0);
    // The iteration is GPU 0's path: every expert op on the critical path runs on GPU 0.
    CHECK(r.critical_gpu == 0);
    for (const CriticalOp& op : r.critical_path)
      if (op.op == OpKind::experts) CHECK(op.gpu == 0);
    CHECK(r.critical_path.back().end_us == Approx(r.iteration.to_us()));
  }
}

TEST_CASE("overlap hides communication for large prefill batches", "[simulate]") {
  Scenario s = ep16_scenario();
  s.phase.sequence_length = 4096;
  s.phase.micro_batches = 2;
  ScenarioInputs in = prepare_scenario(s);
  SimulateOptions serial, overlap;
  serial.schedule = ScheduleKind::serial;
  overlap.schedule = ScheduleKind::overlap;
  SimulationResult a = simulate(in, serial), b = simulate(in, overlap);
  CHECK(b.iteration < a.iteration);
  CHECK(b.layers[10].exposed_comm_us < a.layers[10].exposed_comm_us);
}

TEST_CASE("overlap loses on tiny latency-bound messages", "[simulate]") {
  // Decode, 2 sequences per GPU: each dispatch carries a few KB; splitting it into 8 chunks pays the
  // exchange overhead and route latency 8 times and 8 x 3 expert-kernel launches, which is more than
  // the little compute it could hide.
  Scenario s = ep16_scenario();
  s.phase.kind = PhaseKind::decode;
  s.phase.batch = 2;
  s.phase.context_length = 1024;
  ScenarioInputs in = prepare_scenario(s);
  SimulateOptions serial, overlap;
  serial.schedule = ScheduleKind::serial;
  overlap.schedule = ScheduleKind::overlap;
  overlap.chunks = 8;
  SimulationResult a = simulate(in, serial), b = simulate(in, overlap);
  CHECK(b.iteration > a.iteration);
}

TEST_CASE("flow and analytical networks agree on an uncontended iteration shape", "[simulate]") {
  Scenario s = ep16_scenario();
  s.phase.sequence_length = 512;
  ScenarioInputs in = prepare_scenario(s);
  SimulateOptions fa, fl;
  fa.network = "analytical";
  fl.network = "flow";
  SimulationResult a = simulate(in, fa), b = simulate(in, fl);
  // The flow model shares links max-min fairly, the analytical one drains each exchange's busiest
  // link at full rate; compute dominates this iteration, so the two are within a factor 2.
  CHECK(b.iteration.to_us() < 2 * a.iteration.to_us());
  CHECK(a.iteration.to_us() < 2 * b.iteration.to_us());
}

TEST_CASE("flow (one flow per GPU and host) stays within 1% of flow-per-transfer", "[simulate]") {
  // The grouped flow makes one GPU's transfers to one host progress in lockstep; on the EP 16 prefill
  // (2 nodes, two-batch) the iteration moves by a small fraction (bench_simulate measures +0.03% at
  // EP 32 and +0.02% at EP 64), with the same bytes on every link and far fewer flow events.
  Scenario s = ep16_scenario();
  s.phase.micro_batches = 2;
  ScenarioInputs in = prepare_scenario(s);
  SimulateOptions grouped, exact;
  grouped.network = "flow";
  exact.network = "flow-per-transfer";
  SimulationResult g = simulate(in, grouped), e = simulate(in, exact);
  CHECK(g.iteration.to_us() == Approx(e.iteration.to_us()).epsilon(0.01));
  CHECK(g.busiest_link_bytes == Approx(e.busiest_link_bytes).epsilon(1e-9));
  CHECK(g.events < e.events);
}

TEST_CASE("the busiest link is the one busy longest, not the one with most bytes", "[simulate]") {
  // busiest = argmax_l bytes_l / bandwidth_l; utilization = bytes / (bandwidth x iteration).
  Scenario s = ep16_scenario();
  ScenarioInputs in = prepare_scenario(s);
  SimulationResult r = simulate(in, SimulateOptions{});
  REQUIRE(r.busiest_link >= 0);
  auto busy_s = [&](std::size_t l) { return r.link_bytes[l] / (in.topology->link(static_cast<int>(l)).bandwidth_GBps * 1e9); };
  for (std::size_t l = 0; l < r.link_bytes.size(); ++l) CHECK(busy_s(l) <= busy_s(static_cast<std::size_t>(r.busiest_link)));
  CHECK(r.busiest_link_utilization ==
        Approx(busy_s(static_cast<std::size_t>(r.busiest_link)) / r.iteration.to_seconds()));
}

TEST_CASE("reports and traces are deterministic", "[simulate]") {
  ScenarioInputs in = prepare_scenario(ep16_scenario());
  SimulateOptions o;
  o.schedule = ScheduleKind::overlap;
  o.trace_gpus = {0, 5};
  SimulationResult a = simulate(in, o), b = simulate(in, o);
  CHECK(report_to_json(a).dump() == report_to_json(b).dump());
  Json t = trace_to_json(a);
  CHECK(t.dump() == trace_to_json(b).dump());
  bool gpu5 = false;
  for (const Json& e : t["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 5) gpu5 = true;
  CHECK(gpu5);
  CHECK(report_to_json(a)["schema"] == "epsim.report/1");
}

TEST_CASE("the planner's objective and simulate's analytical exchange give the same time", "[simulate][comm]") {
  // 2 nodes x 4 GPUs, EP 8, skewed per-rank selections; for every kernel the planner's closed form
  // (LayerEvaluator / exchange_cost over EpLinkModel rows) and the closed form simulate runs
  // (ClosedFormExchange::all_to_all: per-GPU completion) agree: the exchange ends when its slowest
  // GPU does, which is the planner's whole-exchange time.
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  const std::vector<double> tokens = {300, 100, 50, 800, 120, 90, 60, 400};
  const ExchangeRouting routing{0.8, 0.5, 64};
  // nvlink-one-sided runs inside one NVLink domain only: its 8 GPUs on one node.
  DgxClusterOptions one_node;
  one_node.nodes = 1;
  one_node.gpus_per_node = 8;
  const Topology node = generate_dgx_cluster(one_node);
  const RouteTable node_routes(node);
  for (std::string_view name : exchange_kernel_names()) {
    CAPTURE(name);
    ExchangeKernelParams k = default_kernel_params(parse_exchange_kernel(name));
    const bool one_sided = k.kind == ExchangeKernelKind::nvlink_one_sided;
    EpLinkModel links(one_sided ? node : topo, one_sided ? node_routes : routes, 8, k, routing);
    ClosedFormExchange closed(one_sided ? node : topo, one_sided ? node_routes : routes, k);
    for (bool dispatch : {true, false}) {
      const Exchange dir = dispatch ? Exchange::dispatch : Exchange::combine;
      const double B = dispatch ? 7168 : 14336;
      auto bytes = exchange_link_bytes(links, tokens, B, dir);
      const double planner_us = exchange_cost(links, bytes, tokens, B, dir).phase.time_us;
      std::vector<Time> done;
      std::vector<double> received;
      REQUIRE(closed.all_to_all(tokens, B, 1.0, dispatch, 0, routing, done, received));
      const Time slowest = *std::max_element(done.begin(), done.end());
      CHECK(slowest.to_us() == Approx(planner_us).epsilon(1e-6));
      // `epsim predict exchange` reports the same time (comm/exchange_prediction.hpp).
      const ExchangePrediction p = predict_exchange(links, tokens, B, B);
      CHECK((dispatch ? p.dispatch : p.combine).time_us == Approx(planner_us).epsilon(1e-9));
    }
  }
}

TEST_CASE("MTP: each draft forward adds the module's dispatch and combine at the traffic of the step's sequences",
          "[simulate][mtp]") {
  // Decode, 64 sequences per GPU in one micro-batch, serial schedule, the shipped H100 kernel tables (the
  // MTP module's compute is modelled with them). With d draft tokens every layer runs T (1 + d) rows and
  // each of the d MTP forwards exchanges the T sequences' tokens: fraction 1 / (1 + d) of the last MoE
  // layer's traffic, which is exactly that layer's traffic in the run without MTP (same loads, same
  // contiguous placement, same routing sample): its dispatch and combine must take the same time.
  auto run = [](int d) {
    Scenario s = ep16_scenario();
    s.phase.kind = PhaseKind::decode;
    s.phase.batch = 64;
    s.phase.context_length = 1000;
    s.phase.sequence_length = 0;
    s.serving.mtp_draft_tokens = d;
    s.serving.mtp_acceptance_rate = d > 0 ? 0.8 : 0.0;
    SimulateOptions o;
    o.trace_gpus = {0};
    return simulate(prepare_scenario(s), o);
  };
  const int last = 60;  // DeepSeek-V3: layers 3..60 are MoE
  auto slices = [&](const SimulationResult& r, OpKind op) {
    std::vector<double> us;
    for (const TraceSlice& t : r.trace)
      if (t.comm && t.op == op && t.layer == last && t.gpu == 0) us.push_back((t.end - t.start).to_us());
    return us;
  };
  const SimulationResult none = run(0), two = run(2);
  for (OpKind op : {OpKind::dispatch, OpKind::combine}) {
    CAPTURE(to_string(op));
    const std::vector<double> base = slices(none, op), mtp = slices(two, op);
    REQUIRE(base.size() == 1);  // one micro-batch, one chunk
    REQUIRE(mtp.size() == 3);   // the layer itself + 2 MTP forwards
    CHECK(mtp[1] == Approx(base[0]).epsilon(1e-9));
    CHECK(mtp[2] == Approx(base[0]).epsilon(1e-9));
    CHECK(mtp[0] > base[0]);  // the layer itself carries 3 x the rows
  }
  // Without kernel tables the MTP module's compute is not modelled, and neither are its exchanges.
  Scenario off = ep16_scenario();
  off.phase.kind = PhaseKind::decode;
  off.phase.batch = 64;
  off.phase.context_length = 1000;
  off.phase.sequence_length = 0;
  off.serving.kernel_tables_off = true;
  off.serving.mtp_draft_tokens = 2;
  off.serving.mtp_acceptance_rate = 0.8;
  SimulateOptions o;
  o.trace_gpus = {0};
  CHECK(slices(simulate(prepare_scenario(off), o), OpKind::dispatch).size() == 1);
}

TEST_CASE("per-token routing sample: the same iteration on 1 and 3 threads", "[simulate][routing]") {
  // Every layer samples with its own generator (seed 1) and writes its own slot (layer_costs.cpp
  // sample_routing), so the thread count cannot change a result. The real DeepSeek-V3 loads make the
  // layers' de-duplication differ, so a sample written to another layer's slot would show.
  Scenario s = ep16_scenario();
  s.loads = kScenarios + "/loads/deepseek-v3/prefill_in4096.json";
  s.placement_algorithm = "greedy";
  const ScenarioInputs in = prepare_scenario(s);
  SimulateOptions one, three;
  one.routing.threads = 1;
  three.routing.threads = 3;
  const SimulationResult a = simulate(in, one), b = simulate(in, three);
  CHECK(a.iteration == b.iteration);
  REQUIRE(a.layers.size() == b.layers.size());
  bool layers_differ = false;
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    CAPTURE(l);
    CHECK(a.layers[l].dispatch_us == b.layers[l].dispatch_us);
    CHECK(a.layers[l].combine_us == b.layers[l].combine_us);
    layers_differ = layers_differ || (a.layers[l].moe && a.layers[l].dispatch_us != a.layers[4].dispatch_us);
  }
  CHECK(layers_differ);
}

TEST_CASE("replica choice lp in simulate: the per-batch LP split sets the busiest GPU's tokens", "[simulate][replica]") {
  // EP 16 + 16 redundant slots (17 per GPU), contiguous experts (GPU g: 16g..16g+15) and one replica of
  // expert 0 on GPU 1's 17th slot. Layer loads: expert 0 = 257, the others 1 (sum 512), scaled to the
  // 1024 x 16 x 8 = 131072 selections of a micro-batch: expert 0 = 65792, the others 256.
  //   rule: expert 0's replicas take 32896 each: GPU 0 = 32896 + 15 x 256 = 36736,
  //         GPU 1 = 16 x 256 + 32896 = 36992 (the busiest);
  //   lp:   GPUs 0 and 1 share 3840 + 4096 + 65792 equally: 36864 each.
  Scenario s = ep16_scenario();
  s.redundant = 16;
  auto run = [&](ReplicaChoice choice) {
    Scenario sc = s;
    sc.replica_choice = choice;
    ScenarioInputs in = prepare_scenario(sc);
    REQUIRE(in.replica_choice == choice);
    for (std::size_t l = 0; l < in.placement.size(); ++l) {
      if (in.placement[l].num_gpus == 0) continue;
      in.placement[l] = contiguous_placement(256, 16, 17);
      in.placement[l].slot_expert[1 * 17 + 16] = 0;
      in.loads.count[l].assign(256, 1.0);
      in.loads.count[l][0] = 257;
    }
    return in;
  };
  const ScenarioInputs rule = run(ReplicaChoice::rule), lp = run(ReplicaChoice::lp);
  const CollectiveModel coll(*rule.topology, *rule.routes, rule.collective_params);
  const auto cr = layer_costs(rule, coll, 1), cl = layer_costs(lp, coll, 1);
  const LayerCosts& a = cr[3];  // the first MoE layer
  const LayerCosts& b = cl[3];
  CHECK(a.gpu_tokens[0] == Approx(36736));
  CHECK(a.gpu_tokens[1] == Approx(36992));
  CHECK(b.gpu_tokens[0] == Approx(36864));
  CHECK(b.gpu_tokens[1] == Approx(36864));
  CHECK(b.gpu_tokens[2] == Approx(4096));  // single-replica GPUs unchanged
  // The slower busiest GPU costs MoE time: the lp step is not slower, and the report says which split ran.
  const SimulationResult ra = simulate(rule, SimulateOptions{}), rb = simulate(lp, SimulateOptions{});
  CHECK(ra.replica_choice == "rule");
  CHECK(rb.replica_choice == "lp");
  CHECK(rb.iteration <= ra.iteration);
}
