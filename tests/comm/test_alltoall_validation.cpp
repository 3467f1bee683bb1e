// Validation of the nccl exchange kernel as NCCL's all-to-all across nodes: nccl-tests alltoall_perf on
// AWS p5 (2-32 nodes of 8 H100, EFA), tests/data/comm/aws_p5_alltoall_2to32nodes.csv. The table was
// FOUND OUTSIDE ../shared/data (the companion of the AWS all_reduce / all_gather files there): it is
// compared here and never fitted. Predicted: `epsim predict collective --op alltoall` (predict_alltoall)
// on aws_p5_options(nodes), the nccl kernel's defaults with the shipped EFA calibration
// (scenarios/calibrations/aws-p5-efa.json: EFA's rate and step latency fitted on all_gather 2-4 nodes
// only), and without it. docs/validation.md, "AWS p5 (EFA): nccl-tests alltoall", has the table this
// prints.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "comm/calibration.hpp"
#include "comm/exchange_prediction.hpp"
#include "measurements/nccl_tests_table.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {

struct Predicted {
  double calibrated_us = 0;  // with aws-p5-efa.json
  double defaults_us = 0;    // the kernel's defaults (EFA priced as RoCE / InfiniBand)
};

Predicted predict(int nodes, double bytes, const Calibration& efa, const std::string& efa_file) {
  const Topology topo = generate_dgx_cluster(aws_p5_options(nodes));
  const RouteTable routes(topo);
  const int n = topo.num_gpus();
  auto time = [&](const Calibration* cal) {
    const ExchangeKernelParams k = calibrated_kernel_params(ExchangeKernelKind::nccl, cal, efa_file, topo).params;
    const EpLinkModel links(topo, routes, n, k, ExchangeRouting{1, 1, n});
    return predict_alltoall(links, bytes).cost.phase.time_us;
  };
  return {time(&efa), time(nullptr)};
}

}  // namespace

TEST_CASE("nccl all-to-all against AWS p5 nccl-tests alltoall (2-32 nodes, EFA, compared, never fitted)",
          "[validation][comm]") {
  const auto rows = read_aws_p5_csv(EPSIM_TEST_DATA_DIR "/comm/aws_p5_alltoall_2to32nodes.csv");
  REQUIRE(rows.size() == 35);  // 5 node counts x 7 sizes, 32 MiB - 2 GiB per rank
  const std::string efa_file = EPSIM_SCENARIOS_DIR "/calibrations/aws-p5-efa.json";
  const Calibration efa = load_calibration(efa_file);
  std::printf("| nodes | size (MiB) | measured algbw (GB/s) | predicted, EFA calibration | error (time) | "
              "predicted, defaults | error (time) |\n|---:|---:|---:|---:|---:|---:|---:|\n");
  struct Sums {
    double cal = 0, def = 0, signed_cal = 0, large_cal = 0;
    int rows = 0, large = 0;
    double bw_small = 0, bw_large = 0, pred_small = 0, pred_large = 0;  // algbw at 32 MiB and 2 GiB
  };
  std::map<int, Sums> by_nodes;
  Sums all;
  for (const NcclTestsRow& r : rows) {
    const Predicted p = predict(r.nodes, r.bytes, efa, efa_file);
    const double e_cal = p.calibrated_us / r.time_us - 1, e_def = p.defaults_us / r.time_us - 1;
    const double measured_bw = r.bytes / (r.time_us * 1e3), predicted_bw = r.bytes / (p.calibrated_us * 1e3);
    std::printf("| %d | %.0f | %.2f | %.2f | %+.1f%% | %.2f | %+.1f%% |\n", r.nodes, r.bytes / 1048576.0, measured_bw,
                predicted_bw, 100 * e_cal, r.bytes / (p.defaults_us * 1e3), 100 * e_def);
    for (Sums* s : {&by_nodes[r.nodes], &all}) {
      s->cal += std::fabs(e_cal);
      s->def += std::fabs(e_def);
      s->signed_cal += e_cal;
      ++s->rows;
      if (r.bytes >= 1024.0 * 1048576) s->large_cal += std::fabs(e_cal), ++s->large;
    }
    Sums& s = by_nodes[r.nodes];
    if (r.bytes == 32.0 * 1048576) s.bw_small = measured_bw, s.pred_small = predicted_bw;
    if (r.bytes == 2048.0 * 1048576) s.bw_large = measured_bw, s.pred_large = predicted_bw;
  }
  std::printf("| nodes | MAE, EFA calibration (signed) | MAE at 1-2 GiB | MAE, defaults | algbw 2 GiB / 32 MiB measured | "
              "predicted |\n|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& [nodes, s] : by_nodes) {
    std::printf("| %d | %.1f%% (%+.1f%%) | %.1f%% | %.1f%% | %.2f | %.2f |\n", nodes, 100 * s.cal / s.rows,
                100 * s.signed_cal / s.rows, 100 * s.large_cal / s.large, 100 * s.def / s.rows, s.bw_large / s.bw_small,
                s.pred_large / s.pred_small);
    // The trend's direction holds at every node count (bandwidth rises with the size) ...
    CHECK(s.pred_large > s.pred_small);
    // ... but not its size: measured 1.57-2.07, predicted at most 1.2 (docs/validation.md). Asserted so
    // that a model change that moves it is seen.
    CHECK(s.bw_large / s.bw_small > 1.5);
    CHECK(s.pred_large / s.pred_small < 1.25);
  }
  std::printf("all %d rows: MAE %.1f%% with the EFA calibration (signed %+.1f%%), %.1f%% at 1-2 GiB; defaults %.1f%%\n",
              all.rows, 100 * all.cal / all.rows, 100 * all.signed_cal / all.rows, 100 * all.large_cal / all.large,
              100 * all.def / all.rows);
  // Bandwidth-bound sizes (1-2 GiB per rank) are within 15% with the EFA calibration; the whole table is
  // not within 20% (too fast at 32-512 MiB: the small-message cost across nodes is missing).
  CHECK(all.large_cal / all.large <= 0.15);
  CHECK(all.cal / all.rows <= 0.25);  // today's figure with a margin: a regression shows
}
