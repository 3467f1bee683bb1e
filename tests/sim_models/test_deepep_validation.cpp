// Validation of epsim's exchange model against DeepEP's published normal-kernel bandwidths on H800
// (scenarios/measurements/deepep_normal_kernels_h800.csv; docs/validation.md). Tolerance 15%.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/csv_table.hpp"
#include "sim/deepep_normal.hpp"
#include "sim/gpu_spec.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {
const std::string kCsv = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepep_normal_kernels_h800.csv";

// H800 SXM nodes of 8 GPUs: NVLink = gpu_spec("H800").nvlink_GBps (200 GB/s per direction, datasheet
// 400 GB/s bidirectional), one ConnectX-7 400 Gb/s = 50 GB/s NIC per GPU, rail-optimized fabric.
DeepEpPrediction predict(int ep, const CollectiveParams& params = {}) {
  DgxClusterOptions o = dgx_options_for_nodes(ep / 8);
  o.gpu_model = "h800";
  o.nvlink_GBps = gpu_spec("H800").nvlink_GBps;
  o.nic_GBps = 400.0 / 8.0;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  return predict_deepep_normal(routes, DeepEpBenchmark{}, params);
}

// Default-parameter predictions, computed once per EP size (each takes up to a few seconds).
const DeepEpPrediction& predicted(int ep) {
  static std::map<int, DeepEpPrediction> cache;
  auto it = cache.find(ep);
  if (it == cache.end()) it = cache.emplace(ep, predict(ep)).first;
  return it->second;
}

double bandwidth(const DeepEpPrediction& p, const std::string& phase) {
  return phase == "dispatch" ? p.dispatch_GBps : p.combine_GBps;
}

struct Row {
  int ep;
  std::string phase, medium;
  double measured_GBps;
};

std::vector<Row> read_rows() {
  CsvTable t = read_csv_file(kCsv);
  const auto ep = t.column("ep"), phase = t.column("phase"), medium = t.column("bottleneck_medium"),
             bw = t.column("bottleneck_GBps");
  std::vector<Row> rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    rows.push_back({static_cast<int>(t.number(r, ep)), t.rows[r][phase], t.rows[r][medium], t.number(r, bw)});
  return rows;
}
}  // namespace

constexpr double kTolerance = 0.15;

TEST_CASE("DeepEP normal kernels on H800: the table of docs/validation.md", "[validation][deepep]") {
  auto rows = read_rows();
  REQUIRE(rows.size() == 8);
  std::cout << "\n| EP | phase | measured medium | model bottleneck | NVLink-only (us) | network-only (us) | predicted (GB/s) "
               "| measured (GB/s) | error |\n|---:|---|---|---|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows) {
    const DeepEpPrediction& p = predicted(r.ep);
    const double err = (bandwidth(p, r.phase) - r.measured_GBps) / r.measured_GBps;
    std::cout << fmt::format("| {} | {} | {} | {} | {:.0f} | {:.0f} | {:.1f} | {:.0f} | {:+.1f}% |\n", r.ep, r.phase, r.medium,
                             to_string(p.bottleneck), p.nvlink_time_us, p.network_time_us, bandwidth(p, r.phase),
                             r.measured_GBps, 100 * err);
    // Every row: the model is optimistic (it has no kernel overheads), never pessimistic by more
    // than the tolerance.
    CHECK(err > -kTolerance);
  }
}

TEST_CASE("DeepEP EP 32 and 64 (RDMA-bound) within 15%", "[validation][deepep]") {
  for (const Row& r : read_rows()) {
    if (r.ep < 32) continue;
    INFO("EP " << r.ep << " " << r.phase);
    const DeepEpPrediction& p = predicted(r.ep);
    // The NIC sets the time: network-only time > NVLink-only time.
    CHECK(p.bottleneck == LinkKind::infiniband);
    CHECK(p.network_time_us > p.nvlink_time_us);
    CHECK(r.medium == "rdma");
    CHECK(std::abs(bandwidth(p, r.phase) - r.measured_GBps) / r.measured_GBps <= kTolerance);
  }
}

TEST_CASE("DeepEP EP 8 is NVLink-bound in the model and the measurement", "[validation][deepep]") {
  const DeepEpPrediction& p = predicted(8);
  CHECK(p.bottleneck == LinkKind::nvlink);
  CHECK(p.network_time_us == 0);  // one node: no network link carries traffic
  for (const Row& r : read_rows())
    if (r.ep == 8) CHECK(r.medium == "nvlink");
}

// Known miss (docs/validation.md): with NCCL's NVLink efficiency (164.8 of 200 GB/s) the model is
// 18-32% optimistic at EP 8 and 16, where NVLink sets the time; DeepEP's copy kernels reach about
// 135 GB/s. Tagged [!shouldfail] so that this test fails the day the model hits these rows.
TEST_CASE("DeepEP EP 8 and 16 within 15% with default parameters", "[validation][deepep][!shouldfail]") {
  for (const Row& r : read_rows()) {
    if (r.ep > 16) continue;
    INFO("EP " << r.ep << " " << r.phase);
    CHECK(std::abs(bandwidth(predicted(r.ep), r.phase) - r.measured_GBps) / r.measured_GBps <= kTolerance);
  }
}

// Hold-out check of the model's structure: calibrate the NVLink bandwidth from the EP 8 dispatch row
// alone (as `epsim calibrate` would from a measured intranode all-to-all): achieved = effective x
// measured / predicted, since the EP 8 prediction is proportional to the NVLink bandwidth. Then the
// EP 16 rows, which the model finds NVLink-bound through node forwarding, come within 15%.
TEST_CASE("DeepEP EP 16 within 15% with NVLink calibrated from the EP 8 row", "[validation][deepep]") {
  auto rows = read_rows();
  double ep8_dispatch = 0;
  for (const Row& r : rows)
    if (r.ep == 8 && r.phase == "dispatch") ep8_dispatch = r.measured_GBps;
  REQUIRE(ep8_dispatch > 0);
  CollectiveParams calibrated;
  const double nominal = gpu_spec("H800").nvlink_GBps;
  calibrated.calibrated_links[LinkKind::nvlink].bandwidth_GBps =
      nominal * calibrated.nvlink_efficiency * ep8_dispatch / predicted(8).dispatch_GBps;
  const DeepEpPrediction p = predict(16, calibrated);
  CHECK(p.bottleneck == LinkKind::nvlink);
  for (const Row& r : rows) {
    if (r.ep != 16) continue;
    INFO("EP 16 " << r.phase << ": predicted " << bandwidth(p, r.phase) << " GB/s, measured " << r.measured_GBps);
    CHECK(std::abs(bandwidth(p, r.phase) - r.measured_GBps) / r.measured_GBps <= kTolerance);
  }
}

TEST_CASE("predict_deepep_normal rejects impossible benchmarks", "[deepep]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  DeepEpBenchmark b;
  b.tokens_per_gpu = 4;
  b.experts = 250;  // not a multiple of 16 GPUs
  CHECK_THROWS_AS(predict_deepep_normal(routes, b), std::invalid_argument);
  b.experts = 32;
  b.topk = 33;  // 2 node groups of 16 experts cannot give 33
  CHECK_THROWS_AS(predict_deepep_normal(routes, b), std::invalid_argument);
  b.topk = 8;
  b.tokens_per_gpu = 0;
  CHECK_THROWS_AS(predict_deepep_normal(routes, b), std::invalid_argument);
}
