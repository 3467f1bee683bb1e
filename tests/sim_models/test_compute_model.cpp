#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "sim/compute/compute_model.hpp"

using namespace epsim;

namespace {
const std::string kDeepGemm = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepgemm_grouped_fp8_h800.csv";
MoeModel deepseek() { return load_moe_model(std::string(EPSIM_SCENARIOS_DIR) + "/models/deepseek-v3.config.json"); }
}  // namespace

TEST_CASE("roofline: compute-bound and memory-bound cases", "[compute_model]") {
  // Compute-bound: 1e12 FLOP at 989 TFLOP/s x 1.0 = 1e12 / 989e12 s = 1011.122 us; memory 1e6 B / 3.35e12
  // B/s = 0.3 us; plus one 4 us launch.
  CHECK(roofline_time_us({1e12, 1e6}, 989.0, 1.0, 3.35, 1, 4.0) == Approx(1e6 / 989.0 + 4.0));
  // Memory-bound: 3.35e9 B / 3.35e12 B/s = 1000 us; compute 1e9 / (989e12 x 0.5) = 2 us; no launch.
  CHECK(roofline_time_us({1e9, 3.35e9}, 989.0, 0.5, 3.35, 0, 4.0) == Approx(1000.0));
  CHECK_THROWS_AS(roofline_time_us({1, 1}, 0.0, 1.0, 3.35, 1, 4.0), std::invalid_argument);
}

TEST_CASE("GEMM efficiency from DeepGEMM: table points and log-M interpolation", "[compute_model]") {
  GemmEfficiencyTable t = load_deepgemm_efficiency(kDeepGemm);
  REQUIRE(t.points().size() == 7);  // M = 64, 128, 256, 512, 1024, 4096, 8192
  // M = 64: mean of the six dense rows (206+289+219+336+287+295)/6 = 272 TFLOP/s, / 1979.
  CHECK(t.at(64) == Approx(272.0 / 1979.0));
  // M = 128: (352+535+358+645+533+510)/6 = 488.833.
  CHECK(t.at(128) == Approx((352.0 + 535 + 358 + 645 + 533 + 510) / 6 / 1979.0));
  // M = 256: masked (932+815)/2; M = 4096: six dense + two contiguous rows: 9772/8 = 1221.5.
  CHECK(t.at(256) == Approx(873.5 / 1979.0));
  CHECK(t.at(4096) == Approx(1221.5 / 1979.0));
  // Halfway in log(M) between 64 and 128 (M = sqrt(64 x 128)) is the mean of the two efficiencies.
  CHECK(t.at(std::sqrt(64.0 * 128.0)) == Approx((t.at(64) + t.at(128)) / 2));
  // Clamped at the ends.
  CHECK(t.at(1) == Approx(t.at(64)));
  CHECK(t.at(1e6) == Approx(1280.0 / 1979.0));
}

TEST_CASE("SwiGLU FLOPs of a DeepSeek-V3 expert", "[compute_model]") {
  // 3 GEMMs x 2 x M x hidden 7168 x moe_intermediate 2048.
  MoeModel m = deepseek();
  CHECK(swiglu_flops(128, m.hidden_size, m.moe_intermediate_size) == Approx(3.0 * 2 * 128 * 7168 * 2048));
}

TEST_CASE("grouped expert FFN time is the sum of per-expert rooflines plus 3 launches", "[compute_model]") {
  MoeModel m = deepseek();
  ComputeModel cm(gpu_spec("H100"), load_deepgemm_efficiency(kDeepGemm));
  // One expert, M = 4096 FP8: each GEMM 2 x 4096 x 2048 x 7168 FLOP at 1979 x (1221.5/1979) TFLOP/s =
  // 1221.5 TFLOP/s (compute-bound: its bytes (4096x7168 + 7168x2048) x 1 + 2 x 4096 x 2048 = 60.8 MB
  // take 18 us at 3.35 TB/s); time = 3 x flops / 1221.5e12 + 3 x 4 us.
  std::vector<double> one{4096};
  double gemm_s = 2.0 * 4096 * 2048 * 7168 / 1221.5e12;
  CHECK(cm.expert_ffn_time_us(one, m, Precision::fp8) == Approx(3 * gemm_s * 1e6 + 12.0));
  // Two local experts with M = 4096 and an idle one: twice the GEMM work, still 3 launches.
  std::vector<double> three{4096, 0, 4096};
  CHECK(cm.expert_ffn_time_us(three, m, Precision::fp8) == Approx(6 * gemm_s * 1e6 + 12.0));
  // Decode-size M = 1: memory-bound on the weights (2 x 7168 x 2048 + 2048 x 7168 bytes at 3.35 TB/s).
  std::vector<double> tiny{1};
  // gate, up: (1 x 7168 + 7168 x 2048) x 1 + 2 x 1 x 2048; down: (1 x 2048 + 2048 x 7168) x 1 + 2 x 7168.
  double bytes = 2 * (7168 + 7168.0 * 2048 + 2 * 2048) + (2048 + 2048.0 * 7168 + 2 * 7168);
  CHECK(cm.expert_ffn_time_us(tiny, m, Precision::fp8) == Approx(bytes / 3.35e12 * 1e6 + 12.0));
}

TEST_CASE("overlap slowdown: SM share by default, calibration overrides", "[compute_model]") {
  ComputeModel cm(gpu_spec("H100"), load_deepgemm_efficiency(kDeepGemm));
  CHECK(cm.overlap_slowdown() == Approx(132.0 / (132 - 24)));  // DeepEP takes 24 of 132 SMs
  Calibration cal;
  cal.overlap_slowdown = 1.1;
  cal.gemm_efficiency = {{64, 0.1}, {1024, 0.5}};
  ComputeModel c2 = cm.calibrated(cal);
  CHECK(c2.overlap_slowdown() == Approx(1.1));
  CHECK(c2.gemm_efficiency().at(256) == Approx(0.1 + 0.5 * (0.5 - 0.1)));  // log2 256 is halfway 6..10
  CHECK_THROWS_AS(ComputeModel(gpu_spec("H100"), load_deepgemm_efficiency(kDeepGemm), ComputeParams{4.0, 132, {}, 0.75}),
                  std::invalid_argument);
}
