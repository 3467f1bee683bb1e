// Many identical micro-batches (issue 17 item 5): a pp = 1 training step of K micro-batches is
// K x T_micro + the final micro-batch's extra (gradient reductions, optimizer), computed from runs of 1 and
// 2 micro-batches in memory that does not grow with K; task graphs above kMaxSimTasks are refused with
// their estimate. Model: Qwen3-30B-A3B on 2 DGX H100 nodes (16 GPUs, EP 16).
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "sim/simulate.hpp"
#include "sim/workload/workload.hpp"

using namespace epsim;

namespace {

const std::string kScenarios = EPSIM_SCENARIOS_DIR;

Scenario qwen(PhaseKind kind, int micro_batches) {
  Scenario s;
  s.file = "train.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/qwen3-30b-a3b.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.parallel = ParallelConfig{16, 1, 1, 16, 1};
  s.phase.kind = kind;
  s.phase.sequence_length = 1024;
  s.phase.micro_batches = micro_batches;
  s.phase.batch = micro_batches;  // one 1024-token sequence per micro-batch
  s.schedule = ScheduleKind::overlap;
  s.chunks = 2;
  s.placement_algorithm = "contiguous";
  s.training.overlap_grad_reduce = true;
  return s;
}

SimulateOptions explicit_run() {
  SimulateOptions o;
  o.repeat_micro_batches = false;
  o.trace_gpus = {0};
  return o;
}

}  // namespace

TEST_CASE("pp = 1 training: K micro-batches repeated from 1 and 2 equal the full simulation of K", "[training][repeat]") {
  // Explicitly simulated, with the barrier between micro-batches: T(K) = T(1) + (K - 1) x (T(2) - T(1))
  // exactly in integer picoseconds, because every micro-batch but the last starts with every GPU idle.
  const SimulationResult t1 = simulate(prepare_scenario(qwen(PhaseKind::training, 1)), explicit_run());
  const SimulationResult t2 = simulate(prepare_scenario(qwen(PhaseKind::training, 2)), explicit_run());
  const SimulationResult t5 = simulate(prepare_scenario(qwen(PhaseKind::training, 5)), explicit_run());
  const Time t_micro = t2.iteration - t1.iteration;
  CHECK(t_micro > Time());
  CHECK(t5.iteration == t1.iteration + t_micro * 4);
  // The repeated form gives the same figures without building micro-batches 2..4.
  SimulateOptions repeat = explicit_run();
  repeat.repeat_micro_batches = true;
  const SimulationResult r5 = simulate(prepare_scenario(qwen(PhaseKind::training, 5)), repeat);
  CHECK(r5.micro_batches == 5);
  CHECK(r5.micro_batches_simulated == 2);
  CHECK(r5.iteration == t5.iteration);
  CHECK(r5.tasks == t2.tasks);
  CHECK(r5.tasks < t5.tasks);
  CHECK(r5.tokens_per_iteration == t5.tokens_per_iteration);
  CHECK(r5.backward_compute_us == Approx(t5.backward_compute_us).epsilon(1e-9));
  CHECK(r5.grad_reduce_exposed_us == Approx(t5.grad_reduce_exposed_us).epsilon(1e-9));
  CHECK(r5.mfu == Approx(t5.mfu).epsilon(1e-9));
  CHECK(r5.busiest_link == t5.busiest_link);
  for (std::size_t g : {std::size_t{0}, std::size_t{9}}) {
    CHECK(r5.gpus[g].compute_busy_us == Approx(t5.gpus[g].compute_busy_us).epsilon(1e-9));
    CHECK(r5.gpus[g].dispatch_received_bytes == Approx(t5.gpus[g].dispatch_received_bytes).epsilon(1e-9));
  }
  for (std::size_t l = 0; l < r5.layers.size(); ++l) {
    CAPTURE(l);
    CHECK(r5.layers[l].compute_us == Approx(t5.layers[l].compute_us).epsilon(1e-9));
    CHECK(r5.layers[l].exposed_comm_us == Approx(t5.layers[l].exposed_comm_us).epsilon(1e-9).margin(1e-6));
  }
  // The trace ends where the iteration ends: the last micro-batch is moved to its place and renumbered.
  Time trace_end;
  for (const TraceSlice& s : r5.trace) trace_end = std::max(trace_end, s.end);
  CHECK(trace_end <= r5.iteration);
  CHECK(r5.critical_path.back().micro_batch == 4);
  CHECK(r5.critical_path.back().end_us == Approx(r5.iteration.to_us()));
}

TEST_CASE("a training step of 32,768 identical micro-batches: K x T_micro + final, memory of two", "[training][repeat]") {
  // total = K x T_micro + (T(1) - T_micro): the last micro-batch's gradient reductions and optimizer step.
  const int K = 32768;
  const SimulationResult t1 = simulate(prepare_scenario(qwen(PhaseKind::training, 1)), explicit_run());
  const SimulationResult t2 = simulate(prepare_scenario(qwen(PhaseKind::training, 2)), explicit_run());
  const Time t_micro = t2.iteration - t1.iteration, final_extra = t1.iteration - t_micro;
  SimulateOptions repeat = explicit_run();
  repeat.repeat_micro_batches = true;
  const SimulationResult r = simulate(prepare_scenario(qwen(PhaseKind::training, K)), repeat);
  CHECK(r.iteration == t_micro * K + final_extra);
  CHECK(r.tasks == t2.tasks);  // two micro-batches were built, not 32,768
  CHECK(r.tokens_per_iteration == 16.0 * K * 1024);
  // Built explicitly, the same step would pass the task cap: refused, naming the field and the estimate.
  CHECK_THROWS_WITH(simulate(prepare_scenario(qwen(PhaseKind::training, K)), explicit_run()),
                    Catch::Contains("train.json: /phase/micro_batches") && Catch::Contains("tasks"));
}

TEST_CASE("estimate_workload_size counts the tasks build_workload adds", "[repeat]") {
  // Prefill, overlap schedule, 2 chunks, EP 16 on 16 GPUs, Qwen3-30B-A3B (48 MoE layers, no shared
  // experts, no dense layers): per micro-batch and layer 16 x (attention + gate + shared slot + 2 chunks)
  // + 2 chunks x (dispatch + combine) = 16 x 5 + 4 = 84 estimated, of which the 16 shared-expert tasks
  // do not exist (no shared experts): an upper bound; plus the LM head of each of the 16 GPUs per
  // micro-batch and one step-overhead task per GPU. 3 x (48 x 84 + 16) + 16 = 12160.
  ScenarioInputs in = prepare_scenario(qwen(PhaseKind::prefill, 3));
  const WorkloadSize est = estimate_workload_size(in, WorkloadConfig{ScheduleKind::overlap, 2, false}, 3);
  CHECK(est.tasks == 3 * (48 * 84 + 16) + 16);
  CHECK(est.memory_bytes == static_cast<std::uint64_t>(est.tasks) * kWorkloadBytesPerTask);
  const SimulationResult r = simulate(in, explicit_run());
  // The graph that was built: 68 per layer and micro-batch, and the 16 LM heads of each micro-batch
  // (no step overhead in prefill).
  CHECK(r.tasks == 3 * (48 * (16 * 4 + 4) + 16));
  CHECK(r.tasks <= est.tasks);
}
