// simulate with a calibration: the exchange kernel's fitted parameters and calibrated link bandwidths
// reach the exchanges (DeepSeek-V3 prefill on 2 DGX H100 nodes, EP 16, serial schedule, analytical).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "sim/simulate.hpp"

using namespace epsim;

namespace {

const std::string kScenarios = EPSIM_SCENARIOS_DIR;

Scenario ep16_prefill() {
  Scenario s;
  s.file = "test.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/deepseek-v3.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.gpu = "h100";
  s.parallel = ParallelConfig{16, 1, 1, 16, 1};
  s.phase.kind = PhaseKind::prefill;
  s.phase.sequence_length = 1024;
  s.phase.batch = 1;
  s.schedule = ScheduleKind::serial;
  s.placement_algorithm = "contiguous";  // the same placement with and without a calibration
  return s;
}

// A deepep-normal calibration whose closed form is latency + link time (hand-checkable): latency
// 10 us flat, no notify, no SM limit, p = 1, InfiniBand at `ib_efficiency` of its 50 GB/s.
KernelCalibration deepep_normal_fit(double ib_efficiency) {
  KernelCalibration k{default_kernel_params(ExchangeKernelKind::deepep_normal), "test"};
  k.params.notify_latency_us = 0;
  k.params.notify_per_log2_node_us = 0;
  for (KernelPhaseParams* p : {&k.params.dispatch, &k.params.combine}) {
    p->latency_us = 10;
    p->latency_per_log2_node_us = 0;
    p->per_remote_expert_us = 0;
    p->per_peer_us = 0;
    p->sm_rate_GBps = 0;
    p->overlap_exponent = 1;
    p->nvlink_efficiency = 1;
    p->infiniband_efficiency = ib_efficiency;
  }
  return k;
}

// The notices of a run that concern a calibration (the others are kernel-table look-ups).
std::vector<std::string> calibration_notices(const SimulationResult& r) {
  std::vector<std::string> out;
  for (const std::string& n : r.notices)
    if (n.rfind("calibration ", 0) == 0) out.push_back(n);
  return out;
}

// Write `c` with the one writer, as `epsim calibrate` does, and return the path.
std::string write_calibration(const Calibration& c, const std::string& name) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / ("epsim_test_" + name + ".json");
  std::ofstream(p) << calibration_to_json(c).dump(1) << "\n";
  return p.string();
}

}  // namespace

TEST_CASE("simulate uses the calibrated exchange kernel: halving the fitted bandwidth doubles the link time",
          "[simulate][calibration]") {
  Calibration a;
  a.gpu = "H100";
  a.exchange_kernels[ExchangeKernelKind::deepep_normal] = deepep_normal_fit(0.2);
  Calibration b = a;
  b.exchange_kernels[ExchangeKernelKind::deepep_normal] = deepep_normal_fit(0.1);

  Scenario s = ep16_prefill();
  s.calibration = write_calibration(a, "cal_a");
  const SimulationResult ra = simulate(prepare_scenario(s), SimulateOptions{});
  s.calibration = write_calibration(b, "cal_b");
  const SimulationResult rb = simulate(prepare_scenario(s), SimulateOptions{});
  s.calibration.clear();
  const SimulationResult r0 = simulate(prepare_scenario(s), SimulateOptions{});

  CHECK(calibration_notices(ra).empty());
  const LayerBreakdown& la = ra.layers[4];  // a MoE layer (DeepSeek-V3: layers 3.. are MoE)
  const LayerBreakdown& lb = rb.layers[4];
  REQUIRE(la.moe);
  // At InfiniBand 0.2 x 50 = 10 GB/s the rail links bind (NVLink at 450 GB/s carries the same bytes
  // per node pair at most), so time = 10 us + link; at 5 GB/s the link time doubles:
  //   t_b = 10 + 2 (t_a - 10).
  CHECK(la.dispatch_us > 10);
  CHECK(lb.dispatch_us == Approx(10 + 2 * (la.dispatch_us - 10)).epsilon(1e-9));
  CHECK(lb.combine_us == Approx(10 + 2 * (la.combine_us - 10)).epsilon(1e-9));
  // And the calibration changed the answer: the defaults (InfiniBand efficiency 0.95) are faster.
  CHECK(r0.layers[4].dispatch_us < la.dispatch_us);
}

TEST_CASE("a calibration without the chosen kernel's parameters: the defaults and a one-line notice",
          "[simulate][calibration]") {
  Calibration c;
  c.gpu = "H100";
  c.exchange_kernels[ExchangeKernelKind::deepep_ll] = KernelCalibration{default_kernel_params(ExchangeKernelKind::deepep_ll), ""};
  Scenario s = ep16_prefill();  // prefill: deepep-normal
  const SimulationResult r0 = simulate(prepare_scenario(s), SimulateOptions{});
  s.calibration = write_calibration(c, "cal_ll_only");
  const SimulationResult r = simulate(prepare_scenario(s), SimulateOptions{});
  const std::vector<std::string> notices = calibration_notices(r);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0] == "calibration " + s.calibration.string() +
                            " has no parameters for exchange kernel deepep-normal: its defaults are used");
  CHECK(r.layers[4].dispatch_us == r0.layers[4].dispatch_us);
  CHECK(r.layers[4].combine_us == r0.layers[4].combine_us);
}

TEST_CASE("a calibration of another GPU than the scenario's is a warning naming both", "[simulate][calibration]") {
  Calibration c;
  c.gpu = "H200";
  c.device = "NVIDIA H200";
  Scenario s = ep16_prefill();  // h100
  s.calibration = write_calibration(c, "cal_h200");
  const ScenarioInputs in = prepare_scenario(s);
  REQUIRE(in.warnings.size() == 1);
  CHECK(in.warnings[0] == "calibration " + s.calibration.string() + " was measured on NVIDIA H200 (H200), the GPUs here are H100");
  s.gpu = "h200";
  CHECK(prepare_scenario(s).warnings.empty());
}
