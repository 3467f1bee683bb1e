// Hybrid-EP's published tables (DeepEP hybrid-ep branch, docs/README_Hybrid-EP.md) against the hybrid-ep
// kernel: H100 across nodes ((a) defaults and (b) leave one EP out) and GB200 on one NVLink domain
// (found outside ../shared/data: (a) only). Figures in docs/validation.md.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "comm/kernel_fit.hpp"
#include "comm/kernel_samples.hpp"
#include "measurements/comm_tables.hpp"
#include "measurements/csv_table.hpp"
#include "published_table_support.hpp"

using namespace epsim;
using test::errors_by_phase;
using test::print_a;
using test::TableErrors;

namespace {
CsvTable table(const char* name) { return read_csv_file(std::string(EPSIM_TEST_DATA_DIR) + "/comm/" + name); }
}  // namespace

TEST_CASE("Hybrid-EP kernel-only (H100, EP 16-64, 4-16 SMs) as hybrid-ep: defaults and leave-one-EP-out",
          "[validation][comm]") {
  // The benchmark's own count (hybrid-ep branch tests/test_hybrid_ep.py): (token, destination node)
  // pairs with the own node x FP8 bytes (dispatch) or BF16 bytes (combine), as for PR 521
  // (comm/kernel_samples.hpp hybrid_ep_rows); 4096 tokens, 8 experts per rank, plain top-8, the row's SMs.
  std::vector<KernelSample> rows;
  for (const DeepEpBandwidthRow& r :
       hybrid_ep_rows(read_hybrid_ep_table(std::string(EPSIM_TEST_DATA_DIR) + "/comm/hybrid_ep_h100.csv")))
    for (KernelSample s : deepep_bandwidth_samples({r}, hybrid_ep_setting(r.nodes * 8))) {
      s.label = fmt::format("EP {} {} SMs {}", r.nodes * 8, r.sms, s.dispatch ? "dispatch" : "combine");
      rows.push_back(s);
    }
  REQUIRE(rows.size() == 18);
  // Reached (docs/validation.md): dispatch (a) 20.9%, (b) 6.0%; combine (a) 11.5%, (b) 6.5%. As
  // deepep-normal (a forwarder SM copy per (token, GPU), NVLink efficiency fitted) it was (a) 78.7% /
  // (b) 10.9% on dispatch. Bars with a margin.
  const TableErrors dispatch = errors_by_phase("Hybrid-EP", ExchangeKernelKind::hybrid_ep, rows, true,
                                               calibration_fields(ExchangeKernelKind::hybrid_ep));
  const TableErrors combine = errors_by_phase("Hybrid-EP", ExchangeKernelKind::hybrid_ep, rows, false,
                                              calibration_fields(ExchangeKernelKind::hybrid_ep));
  CHECK(dispatch.b <= 0.08);
  CHECK(combine.b <= 0.08);
  CHECK(dispatch.a <= 0.23);
  CHECK(combine.a <= 0.14);
}

TEST_CASE("Hybrid-EP on GB200 (one NVLink domain of 8-36 GPUs, outside data): defaults only", "[validation][comm]") {
  // Found outside ../shared/data (tests/data/comm/hybrid_ep_gb200_readme.csv): compared, never fitted.
  // One NVLink domain of `ranks` GB200 GPUs (900 GB/s), 8 experts per rank, plain top-8, the row's SMs;
  // the benchmark's count on one domain: (token, GPU) pairs with the rank itself (deepep_bandwidth_samples
  // on one node), FP8 or BF16 bytes for the dispatch, BF16 for the combine.
  const CsvTable t = table("hybrid_ep_gb200_readme.csv");
  const std::size_t rk = t.column("nvlink_domain_ranks"), sm = t.column("sm_count"),
                    fp8 = t.column("kernelonly_dispatch_fp8_GBps"), bf16 = t.column("kernelonly_dispatch_bf16_GBps"),
                    cb = t.column("kernelonly_combine_GBps");
  std::vector<KernelSample> rows_fp8, rows_bf16, rows_combine;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    DeepEpBandwidthRow b;
    b.nodes = 1;
    b.gpus_per_node = static_cast<int>(t.number(r, rk));
    b.sms = static_cast<int>(t.number(r, sm));
    b.label = "GB200";
    DeepEpBandwidthSetting st = hybrid_ep_setting(b.gpus_per_node);
    st.nvlink_GBps = 900;  // GB200 NVLink 5 per direction
    for (double dispatch_GBps : {t.number(r, fp8), t.number(r, bf16)}) {
      b.dispatch_GBps = dispatch_GBps;
      b.combine_GBps = t.number(r, cb);
      for (KernelSample s : deepep_bandwidth_samples({b}, st)) {
        if (!s.dispatch) {
          s.label += " combine";
          if (dispatch_GBps == t.number(r, fp8)) rows_combine.push_back(s);
          continue;
        }
        if (dispatch_GBps == t.number(r, fp8)) {
          s.label += " dispatch FP8";
          rows_fp8.push_back(s);
        } else {  // BF16 dispatch: the same pairs, 2 bytes per element
          s.label += " dispatch BF16";
          const double pairs_bytes = s.measured_us * 1e3 * dispatch_GBps / s.bytes_per_token;
          s.bytes_per_token = 7168 * 2.0;
          s.measured_us = pairs_bytes * s.bytes_per_token / (dispatch_GBps * 1e3);
          rows_bf16.push_back(s);
        }
      }
    }
  }
  REQUIRE(rows_fp8.size() == 10);
  REQUIRE(rows_bf16.size() == 10);
  REQUIRE(rows_combine.size() == 10);
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::hybrid_ep);
  double mae[3];
  int i = 0;
  for (const auto* rows : {&rows_fp8, &rows_bf16, &rows_combine}) {
    const auto pred = predict_samples(def, *rows);
    print_a(*rows, pred);
    mae[i++] = mean_abs_error(pred, *rows);
  }
  std::printf("Hybrid-EP GB200 (outside data, defaults): dispatch FP8 MAE %.1f%%, dispatch BF16 %.1f%%, combine %.1f%%\n",
              100 * mae[0], 100 * mae[1], 100 * mae[2]);
  // Reached (docs/validation.md): FP8 30.8%, BF16 11.5%, combine 18.4%. The FP8 rows at 16 SMs from EP 24
  // on take longer than BF16's (a per-token cost of the FP8 path, not modelled): bars with a margin.
  CHECK(mae[1] <= 0.14);
  CHECK(mae[2] <= 0.21);
  CHECK(mae[0] <= 0.34);
}
