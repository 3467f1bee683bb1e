// Validation of deepep-ll and deepep-normal on ONE node across MoE shapes other than DeepSeek-V3's:
// AIConfigurator's SGLang 0.5.12 DeepEP tables (H100 and H200, EP 8, hidden 2048-7168, top-k 1-22,
// experts 8-512, normal kernels at 4-24 SMs; tests/data/comm/aic_h{100,200}_deepep_*_1node_0512.csv,
// copies of ../shared/data/measurements/aiconfigurator with their provenance).
// (a) the kernel's defaults, nothing fitted; (b) `epsim calibrate`'s fields fitted on every other
// shape (hidden, top-k, experts) of the same file, the other shapes predicted. Prints the figures
// docs/validation.md reports and asserts the bars stated there.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

#include "comm/kernel_fit.hpp"
#include "comm/kernel_samples.hpp"
#include "measurements/deepep_tables.hpp"

using namespace epsim;

namespace {

using Shape = std::tuple<double, int, int>;  // (bytes per token copy, top-k, experts)

Shape shape_of(const KernelSample& s) { return {s.bytes_per_token, s.topk, s.experts}; }

struct Split {
  std::vector<KernelSample> train, test;
};

// Every other shape (in sorted order) held out; the rest train. Shapes are compared per phase, so
// dispatch (FP8 bytes) and combine (BF16 bytes) each split the same shapes the same way.
Split split_by_shape(const std::vector<KernelSample>& rows) {
  std::map<Shape, int> index;
  for (const KernelSample& s : rows) index.emplace(shape_of(s), 0);
  int i = 0;
  for (auto& [shape, k] : index) k = i++;
  Split out;
  for (const KernelSample& s : rows) (index.at(shape_of(s)) % 2 ? out.test : out.train).push_back(s);
  return out;
}

std::vector<KernelSample> phase(const std::vector<KernelSample>& v, bool dispatch) {
  std::vector<KernelSample> out;
  for (const KernelSample& s : v)
    if (s.dispatch == dispatch) out.push_back(s);
  return out;
}

struct Result {
  double a = 0, b = 0;
};

Result report(const char* table, ExchangeKernelKind kind, const std::vector<KernelSample>& rows) {
  const ExchangeKernelParams def = default_kernel_params(kind);
  const double a = mean_abs_error(predict_samples(def, rows), rows);
  const Split sp = split_by_shape(rows);
  const ExchangeKernelParams fit = fit_kernel(def, sp.train, calibration_fields(kind));
  const std::vector<double> pred = predict_samples(fit, sp.test);
  const double b = mean_abs_error(pred, sp.test);
  const KernelPhaseParams& f = sp.test.front().dispatch ? fit.dispatch : fit.combine;
  std::printf("  fitted: latency %.2f us, per remote expert %.3f us, NVLink eff %.3f, SM rate %.2f GB/s x sms^%.2f, "
              "per token round %.3f us\n", f.latency_us, f.per_remote_expert_us, f.nvlink_efficiency, f.sm_rate_GBps,
              f.sm_exponent, f.per_token_round_us);
  std::printf("%s: %zu rows, (a) defaults MAE %.1f%%, (b) every other shape held out (%zu rows) MAE %.1f%%\n", table,
              rows.size(), 100 * a, sp.test.size(), 100 * b);
  // Per held-out shape: the mean signed error, to see which shapes the model misses.
  std::map<Shape, std::pair<double, int>> by_shape;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    auto& [sum, n] = by_shape[shape_of(sp.test[i])];
    sum += pred[i] / sp.test[i].measured_us - 1;
    ++n;
  }
  for (const auto& [shape, acc] : by_shape)
    std::printf("    held out: %.0f B per copy, top-%d, %d experts: mean signed error %+.1f%%\n", std::get<0>(shape),
                std::get<1>(shape), std::get<2>(shape), 100 * acc.first / acc.second);
  return {a, b};
}

}  // namespace

TEST_CASE("deepep-ll on one node across MoE shapes (AIConfigurator SGLang 0.5.12, H100 and H200)",
          "[validation][comm]") {
  for (const char* gpu : {"h100", "h200"}) {
    const std::string path = std::string(EPSIM_TEST_DATA_DIR "/comm/aic_") + gpu + "_deepep_ll_1node_0512.csv";
    const auto all = deepep_ll_samples(read_deepep_ll_table(path));
    REQUIRE(all.size() == 2 * 176);
    for (bool dispatch : {true, false}) {
      const std::string name = std::string("deepep-ll ") + gpu + (dispatch ? " dispatch" : " combine");
      const Result r = report(name.c_str(), ExchangeKernelKind::deepep_ll, phase(all, dispatch));
      CHECK(r.b <= 0.10);
    }
  }
}

TEST_CASE("deepep-normal on one node across MoE shapes and SMs (AIConfigurator SGLang 0.5.12, H100 and H200)",
          "[validation][comm]") {
  for (const char* gpu : {"h100", "h200"}) {
    const std::string path = std::string(EPSIM_TEST_DATA_DIR "/comm/aic_") + gpu + "_deepep_normal_1node_0512.csv";
    const auto all = deepep_normal_samples(read_deepep_normal_table(path));
    REQUIRE(all.size() == 2 * 2484);
    for (bool dispatch : {true, false}) {
      const std::string name = std::string("deepep-normal ") + gpu + (dispatch ? " dispatch" : " combine");
      const Result r = report(name.c_str(), ExchangeKernelKind::deepep_normal, phase(all, dispatch));
      // The bar is 10%, met: dispatch 8.2% H100, 7.7% H200; combine 8.6 / 8.5% since calibrate fits the
      // combine's per-token SM copies (sm_copies_per_token; 10.8 / 10.6% without, docs/validation.md).
      CHECK(r.b <= 0.10);
    }
  }
}

// The shipped deepep-ll latency, NVLink efficiency and per-token round (comm/kernels/deepep_ll.cpp) are
// this fit: the three fields together, from the former assumptions (latency 14 us, NVLink efficiency
// NCCL's 20.6 / 25, no round), every other parameter at its default, on every row of the H100 table.
// (a) of deepep-ll on the H100 table therefore is not a validation; the H200 table (another GPU's
// measurement, another run) is, and the multi-node tables are (docs/validation.md).
TEST_CASE("deepep-ll's one-node defaults are the fit on the H100 one-node table", "[validation][comm]") {
  const auto all = deepep_ll_samples(read_deepep_ll_table(EPSIM_TEST_DATA_DIR "/comm/aic_h100_deepep_ll_1node_0512.csv"));
  const ExchangeKernelParams shipped = default_kernel_params(ExchangeKernelKind::deepep_ll);
  ExchangeKernelParams start = shipped;
  for (KernelPhaseParams* p : {&start.dispatch, &start.combine}) {
    p->latency_us = 14;
    p->nvlink_efficiency = 20.6 / 25.0;
    p->per_token_round_us = 0;
  }
  const ExchangeKernelParams fit =
      fit_kernel(start, all, {FitField::latency_us, FitField::nvlink_efficiency, FitField::per_token_round_us});
  for (bool d : {true, false}) {
    const KernelPhaseParams& f = d ? fit.dispatch : fit.combine;
    const KernelPhaseParams& s = d ? shipped.dispatch : shipped.combine;
    std::printf("deepep-ll %s fitted on H100 0.5.12 (all rows): latency %.2f us, NVLink efficiency %.3f, per-token "
                "round %.3f us\n", d ? "dispatch" : "combine", f.latency_us, f.nvlink_efficiency, f.per_token_round_us);
    CHECK(s.latency_us == Approx(f.latency_us).epsilon(0.05));
    CHECK(s.nvlink_efficiency == Approx(f.nvlink_efficiency).epsilon(0.05));
    CHECK(s.per_token_round_us == Approx(f.per_token_round_us).epsilon(0.05));
  }
}

// The shipped deepep-normal one-node phases (comm/kernels/deepep_normal.cpp) are this fit: latency, SM
// rate, SM exponent and per-token SM copies together, from the kernel's multi-node phases, every other
// field kept, on every row of the H100 table. (a) of deepep-normal on the H100 one-node table
// therefore is not a validation; the H200 table and DeepEP's H800 intranode row are.
TEST_CASE("deepep-normal's one-node defaults are the fit on the H100 one-node table", "[validation][comm]") {
  const auto all =
      deepep_normal_samples(read_deepep_normal_table(EPSIM_TEST_DATA_DIR "/comm/aic_h100_deepep_normal_1node_0512.csv"));
  const ExchangeKernelParams shipped = default_kernel_params(ExchangeKernelKind::deepep_normal);
  REQUIRE(shipped.one_node.has_value());
  ExchangeKernelParams start = shipped;
  start.one_node = KernelPhases{start.dispatch, start.combine};
  const ExchangeKernelParams fit = fit_kernel(
      start, all, {FitField::latency_us, FitField::sm_rate_GBps, FitField::sm_exponent, FitField::sm_copies_per_token});
  for (bool d : {true, false}) {
    const KernelPhaseParams& f = d ? fit.one_node->dispatch : fit.one_node->combine;
    const KernelPhaseParams& s = d ? shipped.one_node->dispatch : shipped.one_node->combine;
    std::printf("deepep-normal one-node %s fitted on H100 0.5.12 (all rows): latency %.2f us, SM rate %.2f GB/s x "
                "sms^%.3f, per-token copies %.3f\n", d ? "dispatch" : "combine", f.latency_us, f.sm_rate_GBps,
                f.sm_exponent, f.sm_copies_per_token);
    CHECK(s.latency_us == Approx(f.latency_us).epsilon(0.05));
    CHECK(s.sm_rate_GBps == Approx(f.sm_rate_GBps).epsilon(0.05));
    CHECK(s.sm_exponent == Approx(f.sm_exponent).epsilon(0.05));
    CHECK(s.sm_copies_per_token == Approx(f.sm_copies_per_token).margin(0.05));
    // The multi-node phases had no sample: left as they were.
    CHECK((d ? fit.dispatch : fit.combine).sm_rate_GBps == (d ? shipped.dispatch : shipped.combine).sm_rate_GBps);
  }
}
