// Validation of the collective model against published nccl-tests results (docs/validation.md).
// Out-of-place columns are compared (in-place differs by < 1% at these sizes). Tolerances: one DGX H100
// within 10%, two nodes over InfiniBand within 20%, for messages of 64 MiB and up. The AWS p5 (EFA)
// tables: one parameter fitted on some rows, the others held out (see below and docs/validation.md).
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "comm/collective_fit.hpp"
#include "comm/collectives.hpp"
#include "comm/table_calibration.hpp"
#include "measurements/nccl_tests_table.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {
const std::string kDir = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/nccl_tests/";
constexpr double kMinBytes = 64.0 * 1048576;

struct Cluster {
  Topology topo;
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<CollectiveModel> model;
  std::vector<int> gpus;
  explicit Cluster(int nodes) : topo(generate_dgx_cluster(dgx_options_for_nodes(nodes))) {
    routes = std::make_unique<RouteTable>(topo);
    model = std::make_unique<CollectiveModel>(topo, *routes);
    gpus.resize(static_cast<std::size_t>(topo.num_gpus()));
    std::iota(gpus.begin(), gpus.end(), 0);
  }
};

struct Agreement {
  double worst_abs = 0;   // max |predicted / measured - 1|
  double most_below = 0;  // min (predicted / measured - 1): negative when the model is slower than measured
  operator double() const { return worst_abs; }
};

// Print a markdown table of predicted vs measured busbw and return the worst |error| and the most negative
// error (fractions).
Agreement compare(const std::string& title, Cluster& c, CollectiveKind kind, const std::vector<NcclTestsRow>& rows) {
  std::cout << "\n" << title << "\n\n| size (MiB) | algorithm | predicted busbw (GB/s) | measured busbw (GB/s) | error |\n"
            << "|---:|---|---:|---:|---:|\n";
  Agreement a;
  for (const auto& r : rows) {
    if (r.bytes < kMinBytes) continue;
    CollectiveResult p = c.model->cost(kind, c.gpus, r.bytes);
    double err = (p.busbw_GBps - r.busbw_GBps) / r.busbw_GBps;
    a.worst_abs = std::max(a.worst_abs, std::abs(err));
    a.most_below = std::min(a.most_below, err);
    std::cout << fmt::format("| {:.0f} | {} | {:.1f} | {:.1f} | {:+.1f}% |\n", r.bytes / 1048576, to_string(p.algorithm),
                             p.busbw_GBps, r.busbw_GBps, 100 * err);
  }
  return a;
}
}  // namespace

TEST_CASE("all_reduce on one DGX H100 within 10% from 64 MiB", "[validation]") {
  Cluster c(1);
  auto rows = read_nccl_tests_output(kDir + "dgx_h100_all_reduce_1node.txt");
  REQUIRE(rows.size() == 32);  // 8 B .. 16 GiB
  CHECK(compare("dgx_h100_all_reduce_1node.txt (8 GPUs)", c, CollectiveKind::all_reduce, rows) <= 0.10);
}

TEST_CASE("all_reduce on two DGX H100 over InfiniBand within 20% from 64 MiB", "[validation]") {
  Cluster c(2);
  auto rows = read_nccl_tests_output(kDir + "h100_all_reduce_2node_ib.txt");
  REQUIRE(rows.size() == 31);  // 8 B .. 8 GiB
  CHECK(compare("h100_all_reduce_2node_ib.txt (16 GPUs)", c, CollectiveKind::all_reduce, rows) <= 0.20);
}

// Below 64 MiB: NCCL's protocols (LL, LL128 on rings; the Tree across hosts) with tuning.cc's own
// constants, nothing fitted. Time per row (nccl-tests' out-of-place column); MAE per size band: latency
// (8 B - 128 KiB) and mid (256 KiB - 32 MiB). The 8 B row of the 2-node file is a first-call outlier
// (45.7 us against 29.8 in place and ~30 at 16 B-2 KiB) and is reported, not excluded.
namespace {
struct BandMae {
  double latency = 0, mid = 0;
};
BandMae compare_small(const std::string& title, Cluster& c, const std::vector<NcclTestsRow>& rows) {
  std::cout << "\n" << title << "\n\n| size (B) | algorithm / protocol | predicted (us) | measured (us) | error |\n"
            << "|---:|---|---:|---:|---:|\n";
  double sum_lat = 0, sum_mid = 0;
  int n_lat = 0, n_mid = 0;
  for (const auto& r : rows) {
    if (r.bytes >= kMinBytes) continue;
    const CollectiveResult p = c.model->cost(CollectiveKind::all_reduce, c.gpus, r.bytes);
    const double err = p.time_us / r.time_us - 1;
    (r.bytes <= 131072 ? sum_lat : sum_mid) += std::abs(err);
    ++(r.bytes <= 131072 ? n_lat : n_mid);
    std::cout << fmt::format("| {:.0f} | {} / {} | {:.1f} | {:.1f} | {:+.1f}% |\n", r.bytes, to_string(p.algorithm),
                             to_string(p.protocol), p.time_us, r.time_us, 100 * err);
  }
  const BandMae m{sum_lat / n_lat, sum_mid / n_mid};
  std::cout << fmt::format("MAE: 8 B - 128 KiB {:.1f}% ({} rows), 256 KiB - 32 MiB {:.1f}% ({} rows)\n", 100 * m.latency,
                           n_lat, 100 * m.mid, n_mid);
  return m;
}
}  // namespace

TEST_CASE("all_reduce below 64 MiB on 1 and 2 DGX H100: NCCL's protocol and Tree constants", "[validation]") {
  // docs/validation.md states these figures; the bounds are a margin above them so that a model change
  // shows. Before multi-host rings took LL / LL128 and all-reduces the Tree (Simple rings only) the
  // 2-node latency band was 279.6% (131.6 us against ~30) and the mid band 41.1%.
  Cluster one(1), two(2);
  const BandMae m1 = compare_small("dgx_h100_all_reduce_1node.txt (8 GPUs) below 64 MiB", one,
                                   read_nccl_tests_output(kDir + "dgx_h100_all_reduce_1node.txt"));
  const BandMae m2 = compare_small("h100_all_reduce_2node_ib.txt (16 GPUs) below 64 MiB", two,
                                   read_nccl_tests_output(kDir + "h100_all_reduce_2node_ib.txt"));
  // (b) on the 2-node file: epsim calibrate's fit (the Simple line, then the LL and LL128 step
  // latencies, each on the rows the model gives it) on the even-indexed sizes of the whole file, reported
  // on the odd-indexed sizes below 64 MiB.
  const std::vector<NcclTestsRow> rows2 = read_nccl_tests_output(kDir + "h100_all_reduce_2node_ib.txt");
  CollectiveSamples even{"h100_all_reduce_2node_ib.txt (even sizes)", "all_reduce", 16, 2, {}, {}};
  for (std::size_t i = 0; i < rows2.size(); i += 2) {
    even.bytes.push_back(rows2[i].bytes);
    even.time_us.push_back(rows2[i].time_us);
  }
  TableSamples ts;
  ts.collectives.push_back(even);
  Calibration cal;
  fit_tables(ts, cal);
  Cluster fitted(2);
  fitted.model = std::make_unique<CollectiveModel>(fitted.topo, *fitted.routes, with_calibration(CollectiveParams{}, cal));
  std::vector<NcclTestsRow> odd;
  for (std::size_t i = 1; i < rows2.size(); i += 2) odd.push_back(rows2[i]);
  const BandMae b2 = compare_small("h100_all_reduce_2node_ib.txt (16 GPUs), (b) fitted on even sizes, odd sizes below 64 MiB",
                                   fitted, odd);
  // Measured: 1 node 18.0% / 5.0% (ring LL, LL128, NVLS); 2 nodes 23.4% / 25.3% (Tree LL and LL128,
  // every row faster than measured: NCCL's constants are its tuner's, not a measurement).
  CHECK(m1.latency <= 0.21);
  CHECK(m1.mid <= 0.07);
  CHECK(m2.latency <= 0.26);
  CHECK(m2.mid <= 0.28);
  // (b), measured: 7.4% (7 rows) and 7.2% (4 rows), both met. Before calibrate decomposed the line's
  // intercept through the model (network steps only across hosts) the mid band was 10.7%: the Simple
  // step spread over all 30 ring steps priced the NVLS tree's network hop at 7 us, and 1 MiB ran on it
  // 24% fast.
  CHECK(b2.latency <= 0.09);
  CHECK(b2.mid <= 0.09);
}

// AWS p5 (EFA): the p5 preset (4 x 12.5 GB/s EFA per GPU, ethernet links) with aws_p5_efa_params. Its
// two fitted parameters, the EFA efficiency and the EFA network step latency, are fitted on all_gather
// at 2 and 4 nodes only; all_gather at 8-32 nodes and every all_reduce row are held out.
namespace {
struct P5Table {
  const char* file;
  CollectiveKind kind;
};
constexpr P5Table kP5Tables[] = {{"aws_p5_all_gather_2to32nodes.csv", CollectiveKind::all_gather},
                                 {"aws_p5_all_reduce_2to32nodes.csv", CollectiveKind::all_reduce}};
bool p5_fit_row(CollectiveKind kind, int nodes) { return kind == CollectiveKind::all_gather && nodes <= 4; }

std::vector<CollectiveRow> p5_rows(bool fitted) {
  std::vector<CollectiveRow> out;
  for (const P5Table& t : kP5Tables)
    for (const NcclTestsRow& r : read_aws_p5_csv(kDir + t.file))
      if (r.bytes >= kMinBytes && p5_fit_row(t.kind, r.nodes) == fitted) out.push_back({t.kind, r.nodes, r.bytes, r.busbw_GBps});
  return out;
}

// The measurements' run setting (file header): NCCL_BUFFSIZE=8388608, i.e. 1 MiB per step (/ NCCL_STEPS 8).
CollectiveParams p5_start() {
  CollectiveParams p = aws_p5_efa_params();
  p.pipeline_step_bytes = 8388608.0 / kNcclSteps;
  return p;
}
}  // namespace

TEST_CASE("AWS p5 (EFA): EFA efficiency and step latency fitted on all_gather 2-4 nodes, the other rows held out",
          "[validation]") {
  const std::vector<CollectiveRow> fit_rows = p5_rows(true), held = p5_rows(false);
  REQUIRE(fit_rows.size() == 12);  // all_gather 64 MiB..2 GiB (6 sizes) at 2 and 4 nodes
  REQUIRE(held.size() == 18 + 40);  // all_gather 8-32 nodes, all_reduce 64 MiB..8 GiB at 2-32 nodes
  // From aws-ofi-nccl's own figures (20 us per LL / LL128 network step, 23 with Simple) and the former
  // efficiency 0.72: the fit lands on the shipped constants whatever they are.
  CollectiveParams start = p5_start();
  start.ethernet_efficiency = 0.72;
  start.ethernet_ll_step_latency_us = start.ethernet_ll128_step_latency_us = 20.0;
  start.ethernet_step_latency_us = 23.0;
  const CollectiveFit fit =
      fit_network_efficiency(start, LinkKind::ethernet, aws_p5_options(2), fit_rows, FitStepLatency::yes);
  std::cout << fmt::format("\nAWS p5 EFA fit on all_gather 2-4 nodes ({} rows): ethernet_efficiency {:.3f}, "
                           "LL128 network step {:.1f} us, fit MAE {:.1f}%\n",
                           fit_rows.size(), fit.efficiency, fit.ll128_step_latency_us, 100 * fit.mean_abs_error);
  // The product constants are this fit, rounded (comm/collectives.hpp kAwsP5EfaEfficiency,
  // kAwsP5EfaStepLatency_us); Simple keeps its completion overhead above LL128.
  CHECK(fit.efficiency == Approx(kAwsP5EfaEfficiency).margin(0.005));
  CHECK(fit.ll128_step_latency_us == Approx(kAwsP5EfaStepLatency_us).margin(0.5));
  CHECK(fit.params.ethernet_step_latency_us - fit.params.ethernet_ll128_step_latency_us == Approx(kAwsP5EfaSimpleCompletion_us));
  // Efficiency alone (the step latency at aws-ofi-nccl's 20 us), for the record: a worse fit.
  const CollectiveFit eff_only = fit_network_efficiency(start, LinkKind::ethernet, aws_p5_options(2), fit_rows);
  std::cout << fmt::format("efficiency alone (20 us steps): {:.3f}, fit MAE {:.1f}%\n", eff_only.efficiency,
                           100 * eff_only.mean_abs_error);
  CHECK(eff_only.mean_abs_error > fit.mean_abs_error);

  // Held-out rows with the shipped parameters, against today's DGX InfiniBand defaults for reference.
  const CollectiveParams p5 = p5_start();
  const std::vector<double> pred = predict_busbw(p5, aws_p5_options(2), held);
  const std::vector<double> ib = predict_busbw(CollectiveParams{}, dgx_options_for_nodes(2), held);
  std::cout << "\n| op | nodes | size (MiB) | predicted busbw (GB/s) | measured busbw (GB/s) | error | DGX IB defaults error |\n"
            << "|---|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::pair<CollectiveKind, int>, std::pair<double, int>> mae;  // (op, nodes) -> (sum |err|, rows)
  std::map<CollectiveKind, std::pair<double, int>> mae_op, mae_ib;
  for (std::size_t i = 0; i < held.size(); ++i) {
    const CollectiveRow& r = held[i];
    const double err = pred[i] / r.measured_busbw_GBps - 1, err_ib = ib[i] / r.measured_busbw_GBps - 1;
    std::cout << fmt::format("| {} | {} | {:.0f} | {:.1f} | {:.1f} | {:+.1f}% | {:+.1f}% |\n", to_string(r.kind), r.nodes,
                             r.bytes / 1048576, pred[i], r.measured_busbw_GBps, 100 * err, 100 * err_ib);
    auto add = [](std::pair<double, int>& a, double e) { a.first += std::abs(e); ++a.second; };
    add(mae[{r.kind, r.nodes}], err);
    add(mae_op[r.kind], err);
    add(mae_ib[r.kind], err_ib);
  }
  std::cout << "\n| op | nodes | held-out rows | MAE |\n|---|---:|---:|---:|\n";
  for (const auto& [key, a] : mae)
    std::cout << fmt::format("| {} | {} | {} | {:.1f}% |\n", to_string(key.first), key.second, a.second, 100 * a.first / a.second);
  for (const auto& [op, a] : mae_op)
    std::cout << fmt::format("{} held out: MAE {:.1f}% over {} rows (DGX InfiniBand defaults: {:.1f}%)\n", to_string(op),
                             100 * a.first / a.second, a.second, 100 * mae_ib[op].first / mae_ib[op].second);
  // docs/validation.md states these figures; the margins let a model change show without flapping.
  // Measured: all_gather 10.1%, all_reduce 9.4% (DGX InfiniBand defaults: 83.0% and 45.2%). all_reduce
  // was 16.2% while Tree got the ring's network bandwidth on EFA (NCCL's model): its 16-32-node rows at
  // 64-512 MiB were 1.4-1.55x fast; with aws-ofi-nccl's half (kAwsP5EfaTreeBandwidthFraction, a source
  // constant, not fitted) 16 and 32 nodes are 8.6 and 8.9%. With the efficiency alone fitted and
  // aws-ofi-nccl's 20 us network step: 30.1% and 23.0%. The rows left: the 4-8 GiB plateau at 4-16
  // nodes (-15%) and 32 nodes at 512 MiB (+27%; docs/validation.md, "AWS p5 (EFA)").
  CHECK(mae_op[CollectiveKind::all_gather].first / mae_op[CollectiveKind::all_gather].second <= 0.12);
  CHECK(mae_op[CollectiveKind::all_reduce].first / mae_op[CollectiveKind::all_reduce].second <= 0.10);
}

