// `epsim calibrate` from measured tables (comm/table_calibration.hpp): nccl-tests collectives give link
// figures, kernel tables give fitted kernel parameters, bad files are rejected naming file and field.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "comm/calibration.hpp"
#include "comm/collective_fit.hpp"
#include "comm/table_calibration.hpp"
#include "common/limits.hpp"
#include "common/error.hpp"
#include "comm/collectives.hpp"
#include "comm/exchange_cost.hpp"
#include "comm/exchange_prediction.hpp"
#include "comm/kernel_samples.hpp"
#include "measurements/comm_tables.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "table_test_support.hpp"

using namespace epsim;
using test::add_error;
using test::kData;
using test::temp_file;

namespace {

// One node's all_gather rows made by `model` itself on `gpus`, 1 KiB to 1 GiB by x4 (as one nccl-tests
// run: "made.txt").
CollectiveSamples model_made_all_gather(const CollectiveModel& model, const std::vector<int>& gpus) {
  CollectiveSamples c{"made.txt", "all_gather", static_cast<int>(gpus.size()), 1, {}, {}};
  for (double size = 1024; size <= 1073741824.0; size *= 4) {
    c.bytes.push_back(size);
    c.time_us.push_back(model.cost(CollectiveKind::all_gather, gpus, size).time_us);
  }
  return c;
}

// `epsim calibrate`'s fit of one run alone into `cal`.
TableFit fit_alone(const CollectiveSamples& c, Calibration& cal) {
  TableSamples s;
  s.collectives.push_back(c);
  return fit_tables(s, cal);
}

// Sum of squared log errors of the collective model, with `link` calibrated to `cal`, on the run's rows
// whose size is at least `min_bytes` (all GPUs of c.nodes DGX H100 hosts).
double model_error(const CollectiveSamples& c, LinkKind link, const LinkCalibration& cal, double min_bytes) {
  const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(c.nodes));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes, with_calibration(CollectiveParams{}, {{link, cal}}));
  std::vector<int> gpus(static_cast<std::size_t>(c.ranks));
  for (int g = 0; g < c.ranks; ++g) gpus[static_cast<std::size_t>(g)] = g;
  double e = 0;
  for (std::size_t i = 0; i < c.bytes.size(); ++i)
    if (c.bytes[i] >= min_bytes)
      e += std::pow(std::log(model.cost(*parse_collective_kind(c.op), gpus, c.bytes[i]).time_us / c.time_us[i]), 2);
  return e;
}

}  // namespace

TEST_CASE("nccl-tests all_reduce: link bandwidth and step latency of the collective model", "[comm][calibration]") {
  TableSamples s;
  const std::string one = kData + "nccl_all_reduce_8gpu_exact.txt", two = kData + "nccl_all_reduce_16gpu_exact.txt";
  REQUIRE(detect_comm_table(one) == CommTableKind::nccl_tests_text);
  add_table(s, one, detect_comm_table(one));
  add_table(s, two, detect_comm_table(two));
  REQUIRE(s.collectives.size() == 2);
  CHECK(s.collectives[0].ranks == 8);   // rank lines
  CHECK(s.collectives[0].nodes == 1);   // one host
  CHECK(s.collectives[1].ranks == 16);  // busbw / algbw = 2(n-1)/n = 1.875 -> n = 16
  CHECK(s.collectives[1].nodes == 2);   // 16 / 8 GPUs per node
  CHECK(s.device == "NVIDIA H100 80GB HBM3");
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  REQUIRE(fit.collectives.size() == 2);
  // 8 ranks, one node: the line t = 14 us + 1.75 x size / 100 GB/s -> 100 GB/s; the model's base latency
  // (NCCL baseLat Simple, 8.4 us) is not a step: (14 - 8.4) us / 2(8-1) steps = 400 ns.
  const CollectiveFitSummary& one_node = fit.collectives[0];
  CHECK(one_node.line_bandwidth_GBps == Approx(100).epsilon(1e-3));
  CHECK(*c.links.at(LinkKind::nvlink).latency_ns == Approx(400).epsilon(1e-2));
  // The model runs the largest size (100 MB on 8 GPUs of one NVSwitch) as NVLS, which moves S (n+1)/n per
  // port at 0.85 of the link rate, not a ring's 2(n-1)/n S: the line's 100 GB/s would price it 11% fast.
  // The figure written is refitted through the model on the bandwidth-bound rows (10 and 100 MB: the
  // line's bandwidth term >= half their time), so the model reproduces them better than with 100.
  CHECK(one_node.largest_algorithm == CollectiveAlgorithm::nvls);
  const double nvlink = *c.links.at(LinkKind::nvlink).bandwidth_GBps;
  CHECK(nvlink == one_node.bandwidth_GBps);
  CHECK(nvlink < 100);
  CHECK(model_error(s.collectives[0], LinkKind::nvlink, LinkCalibration{nvlink, 400.0}, 1e7) <
        model_error(s.collectives[0], LinkKind::nvlink, LinkCalibration{100.0, 400.0}, 1e7));
  // 16 ranks on 2 nodes: the line's bus bandwidth 400 GB/s = 8 rail channels per node -> 50 GB/s per
  // NIC link. Its Simple network step: the model's Simple ring of 16 GPUs on 2 DGX hosts costs 8.4 us +
  // 28 NVLink steps x 3.4 us = 103.6 us before its 2 network steps, above the file's 30 us intercept, so
  // the step is 0 (the synthetic file's latency is below what the model's ring can do). The model runs 100 MB there as the NVLS tree
  // (hierarchical): across hosts the line stays (a NIC rate fitted through a tree would carry NVLS's
  // error into rings and exchanges).
  const CollectiveFitSummary& two_nodes = fit.collectives[1];
  CHECK(two_nodes.line_bandwidth_GBps == Approx(50).epsilon(1e-3));
  CHECK(two_nodes.largest_algorithm == CollectiveAlgorithm::hierarchical);
  CHECK(*c.links.at(LinkKind::infiniband).bandwidth_GBps == Approx(50).epsilon(1e-3));
  CHECK(*c.links.at(LinkKind::infiniband).latency_ns == 0.0);
  CHECK(c.exchange_kernels.empty());
  // A link the harness's p2p fit already set is kept.
  Calibration kept;
  kept.links[LinkKind::nvlink] = LinkCalibration{370.0, 2500.0};
  fit_tables(s, kept);
  CHECK(*kept.links.at(LinkKind::nvlink).bandwidth_GBps == 370.0);
}

TEST_CASE("nccl-tests alltoall: nccl kernel samples on the run's hosts", "[comm][calibration]") {
  const std::string f = kData + "nccl_alltoall_2x4gpu.txt";
  TableSamples s;
  add_table(s, f, detect_comm_table(f));
  REQUIRE(s.kernels.count(ExchangeKernelKind::nccl) == 1);
  const auto& k = s.kernels.at(ExchangeKernelKind::nccl);
  REQUIRE(k.size() == 6);  // three sizes, each a dispatch and a combine sample (an all-to-all has no direction)
  for (const KernelSample& x : k) {
    CHECK(x.nodes == 2);
    CHECK(x.gpus_per_node == 4);
    CHECK(x.selections == 8);  // one message to every rank
  }
  // 1 MiB per rank to 8 ranks: 131072 B to each, measured 60 us.
  CHECK(k[0].bytes_per_token == 131072);
  CHECK(k[0].measured_us == 60);
  CHECK(k[0].dispatch);
  CHECK_FALSE(k[1].dispatch);
  CHECK(k[1].measured_us == 60);
}

TEST_CASE("AIConfigurator nccl_perf: its collective rows are nvlink fits, its alltoall rows nccl kernel samples",
          "[comm][calibration]") {
  // aic_h100_nccl_collectives.csv: all_gather, reduce_scatter, all_reduce on ONE node of 2, 4, 8 GPUs (the
  // alltoall rows removed): 3 ops x 3 GPU counts = 9 collectives, each a one-node ring of nvlink.
  TableSamples s;
  add_table(s, kData + "aic_h100_nccl_collectives.csv", CommTableKind::aic_nccl_perf);
  REQUIRE(s.collectives.size() == 9);
  for (const CollectiveSamples& c : s.collectives) {
    CHECK(c.nodes == 1);
    CHECK((c.ranks == 2 || c.ranks == 4 || c.ranks == 8));
    CHECK(c.bytes.size() == c.time_us.size());
    CHECK(c.bytes.size() >= 2);
  }
  for (const auto& [kind, samples] : s.kernels) CHECK(samples.empty());  // no alltoall rows
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  CHECK(fit.collectives.size() == 9);
  REQUIRE(c.links.count(LinkKind::nvlink) == 1);
  CHECK(*c.links.at(LinkKind::nvlink).bandwidth_GBps > 0);
  // The alltoall copy of the same kind of file: nccl kernel samples, no collective.
  TableSamples a;
  add_table(a, kData + "aic_h100_nccl_alltoall.csv", CommTableKind::aic_nccl_perf);
  CHECK(a.collectives.empty());
  REQUIRE(a.kernels.count(ExchangeKernelKind::nccl) == 1);
  CHECK(!a.kernels.at(ExchangeKernelKind::nccl).empty());
}

TEST_CASE("AIConfigurator DeepEP tables: fitted kernel parameters beat the defaults on their rows", "[comm][calibration]") {
  TableSamples s;
  for (const char* name : {"aic_h100_deepep_ll.csv"}) {
    const std::string f = kData + name;
    REQUIRE(detect_comm_table(f) == CommTableKind::aic_deepep_ll);
    add_table(s, f, detect_comm_table(f));
  }
  CHECK(s.device == "NVIDIA H100");
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  REQUIRE(fit.kernels.size() == 1);
  CHECK(fit.kernels[0].kind == ExchangeKernelKind::deepep_ll);
  CHECK(fit.kernels[0].fitted_error <= fit.kernels[0].default_error);
  REQUIRE(c.exchange_kernels.count(ExchangeKernelKind::deepep_ll) == 1);
  CHECK(c.exchange_kernels.at(ExchangeKernelKind::deepep_ll).source.find("aic_h100_deepep_ll.csv") != std::string::npos);
  // The fit survives the one writer and reader.
  const Calibration back = calibration_from_json(calibration_to_json(c), "back.json");
  CHECK(back.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params.dispatch.latency_us ==
        Approx(c.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params.dispatch.latency_us).epsilon(1e-9));
}

TEST_CASE("calibrate over Ethernet (EFA, RoCE): multi-node fits set the ethernet figures, not InfiniBand's",
          "[comm][calibration]") {
  // The 2-node all_reduce of the first test, declared as run over Ethernet: the same fit, labelled
  // ethernet (50 GB/s per NIC link and a 0 ns step as on InfiniBand: the first test's equations); the
  // one-node file stays NVLink.
  TableSamples s;
  s.network_kind = LinkKind::ethernet;
  for (const char* f : {"nccl_all_reduce_8gpu_exact.txt", "nccl_all_reduce_16gpu_exact.txt"})
    add_table(s, kData + f, CommTableKind::nccl_tests_text);
  Calibration c;
  fit_tables(s, c);
  CHECK(c.links.count(LinkKind::infiniband) == 0);
  REQUIRE(c.links.count(LinkKind::ethernet) == 1);
  CHECK(*c.links.at(LinkKind::ethernet).bandwidth_GBps == Approx(50).epsilon(1e-3));
  CHECK(*c.links.at(LinkKind::ethernet).latency_ns == 0.0);
  // One run's line fit prices no Tree, so it writes no Tree fraction (the joint network fit does: below).
  CHECK_FALSE(c.links.at(LinkKind::ethernet).tree_bandwidth_fraction.has_value());
  CHECK(c.links.count(LinkKind::nvlink) == 1);

  // Kernel samples: the 2 x 4 GPU alltoall rows get the Ethernet cluster. A synthetic sample set made
  // by the nccl model with ethernet_efficiency 0.5 (the other fields at their defaults): fitting the
  // network efficiency gives 0.5 back in ethernet_efficiency, and InfiniBand's stays at its default
  // (no sample crosses an InfiniBand link).
  TableSamples eth;
  eth.network_kind = LinkKind::ethernet;
  add_table(eth, kData + "nccl_alltoall_2x4gpu.txt", CommTableKind::nccl_tests_text);
  std::vector<KernelSample> samples = eth.kernels.at(ExchangeKernelKind::nccl);
  for (const KernelSample& x : samples) CHECK(x.network_kind == LinkKind::ethernet);
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::nccl);
  ExchangeKernelParams truth = def;
  truth.dispatch.ethernet_efficiency = truth.combine.ethernet_efficiency = 0.5;
  const std::vector<double> made = predict_samples(truth, samples);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i].measured_us = made[i];
  // The rows are network-bound: halving the efficiency from 0.95 costs time (else the fit could not see it).
  CHECK(made.back() > 1.5 * predict_samples(def, samples).back());
  const ExchangeKernelParams fit = fit_kernel(def, samples, {FitField::network_efficiency});
  CHECK(fit.dispatch.ethernet_efficiency == Approx(0.5).epsilon(1e-3));
  CHECK(fit.combine.ethernet_efficiency == Approx(0.5).epsilon(1e-3));
  CHECK(fit.dispatch.infiniband_efficiency == def.dispatch.infiniband_efficiency);
  // The same rows declared InfiniBand: the InfiniBand efficiency moves, Ethernet's keeps its default.
  for (KernelSample& x : samples) x.network_kind = LinkKind::infiniband;
  const ExchangeKernelParams ib = fit_kernel(def, samples, {FitField::network_efficiency});
  CHECK(ib.dispatch.ethernet_efficiency == def.dispatch.ethernet_efficiency);
  CHECK(ib.dispatch.infiniband_efficiency == Approx(0.5).epsilon(1e-3));
}

TEST_CASE("AWS nccl-tests csv (p5, EFA): one collective per node count, labelled with the network kind",
          "[comm][calibration]") {
  // Synthetic all_gather rows made from t = 200 us + size x (n-1)/n / bus bandwidth, bus bandwidth 320
  // GB/s at 2 x 8 GPUs and 240 GB/s at 4 x 8; algbw = size / t (6 decimals).
  const std::string csv = temp_file("aws_all_gather.csv",
                                    "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in "
                                    "algbw(GB/s),in busbw(GB/s)\n"
                                    "2,16,64,1000, false,169.207036,158.631596,169.207036,158.631596\n"
                                    "2,16,256,1000, false,272.127684,255.119704,272.127684,255.119704\n"
                                    "2,16,1024,1000, false,320.929204,300.871129,320.929204,300.871129\n"
                                    "4,32,64,1000, false,142.517329,138.063663,142.517329,138.063663\n"
                                    "4,32,256,1000, false,209.138674,202.603091,209.138674,202.603091\n"
                                    "4,32,1024,1000, false,236.814026,229.413588,236.814026,229.413588\n");
  REQUIRE(detect_comm_table(csv) == CommTableKind::nccl_tests_aws_csv);
  TableSamples s;
  s.network_kind = LinkKind::ethernet;
  add_table(s, csv, CommTableKind::nccl_tests_aws_csv);
  REQUIRE(s.collectives.size() == 2);
  CHECK(s.collectives[0].op == "all_gather");
  CHECK(s.collectives[0].nodes == 2);
  CHECK(s.collectives[0].ranks == 16);
  CHECK(s.collectives[1].nodes == 4);
  CHECK(s.collectives[0].time_us[0] == Approx(67108864 / 169.207036e3));  // size / algbw
  Calibration c;
  const TableFit fits = fit_tables(s, c);
  // Each run's own line: 320 GB/s bus over 8 GPUs per node = 40 GB/s per GPU at 2 hosts (below p5's
  // nominal 4 x 12.5 = 50). Its Simple network step: the model's Simple ring of 16 GPUs on 2 hosts costs
  // 8.4 us (NCCL's baseLat) + 14 NVLink steps x max(3.4, 3 x 1.0 host overhead) = 56.0 us before its one
  // network step, so the line's 200 us intercept leaves (200 - 56) / 1 = 144 us per network step. (4
  // hosts: 8.4 + 28 x 3.4 = 103.6 us, (200 - 103.6) / 3 = 32.1 us.)
  REQUIRE(fits.collectives.size() == 2);
  CHECK(fits.collectives[0].bandwidth_GBps == Approx(40).epsilon(1e-4));
  CHECK(fits.collectives[0].step_latency_ns == Approx(144000).epsilon(1e-3));
  CHECK(fits.collectives[1].step_latency_ns == Approx((200 - 103.6) / 3 * 1e3).epsilon(1e-3));
  CHECK(fits.collectives[1].nominal_GBps == Approx(50));
  // Two node counts of one network kind: what is written is one fit of both runs' rows through the
  // model (efficiency and network step), 50 GB/s x the efficiency per GPU, and it reproduces the six
  // rows better than the 2-host run's own figures do.
  REQUIRE(fits.networks.size() == 1);
  const NetworkFitSummary& n = fits.networks[0];
  CHECK(n.kind == LinkKind::ethernet);
  CHECK(n.nodes == std::vector<int>{2, 4});
  CHECK(n.rows == 6);
  CHECK(n.bandwidth_GBps == Approx(50 * n.efficiency));
  REQUIRE(c.links.count(LinkKind::ethernet) == 1);
  CHECK(c.links.count(LinkKind::infiniband) == 0);
  CHECK(*c.links.at(LinkKind::ethernet).bandwidth_GBps == n.bandwidth_GBps);
  CHECK(*c.links.at(LinkKind::ethernet).latency_ns == n.latency_ns);
  CHECK(*c.links.at(LinkKind::ethernet).ll128_latency_ns == n.ll128_latency_ns);
  // The fit priced NCCL's Tree on its EFA hosts at aws-ofi-nccl's half of the ring's network bandwidth;
  // the written figures say so, so that a use prices it the same way.
  CHECK(c.links.at(LinkKind::ethernet).tree_bandwidth_fraction == kAwsP5EfaTreeBandwidthFraction);
  std::vector<CollectiveRow> rows;
  for (const CollectiveSamples& run : s.collectives)
    for (std::size_t i = 0; i < run.bytes.size(); ++i)
      rows.push_back({CollectiveKind::all_gather, run.nodes, run.bytes[i],
                      run.bytes[i] * (run.ranks - 1.0) / run.ranks / (run.time_us[i] * 1e3)});
  const LinkCalibration one_run{fits.collectives[0].bandwidth_GBps, fits.collectives[0].step_latency_ns,
                                fits.collectives[0].ll.step_latency_ns, fits.collectives[0].ll128.step_latency_ns};
  auto error_with = [&](const LinkCalibration& l) {
    const CollectiveParams p = with_calibration(aws_p5_efa_params(), {{LinkKind::ethernet, l}});
    return collective_mean_abs_error(predict_busbw(p, aws_p5_options(2), rows), rows);
  };
  CHECK(error_with(c.links.at(LinkKind::ethernet)) < error_with(one_run));
  CHECK(n.mean_abs_error < 0.10);
  // A file name that names no collective is refused naming the file.
  const std::string anon = temp_file("aws_other.csv", "Nodes,GPUs,size(MB),out algbw(GB/s),out busbw(GB/s),"
                                                      "in algbw(GB/s),in busbw(GB/s)\n2,16,64,1,1,1,1\n");
  CHECK_THAT(add_error(anon), Catch::Contains(anon) && Catch::Contains("names its collective"));
  // An alltoall run beyond the all-to-all's cap (4096 ranks; the row reader takes up to 16384 for
  // collectives) is refused naming the file, not by the link model without one.
  const std::string big = temp_file("aws_big_alltoall.csv", "Nodes,GPUs,size(MB),out algbw(GB/s),out busbw(GB/s),"
                                                            "in algbw(GB/s),in busbw(GB/s)\n1024,8192,64,1,1,1,1\n");
  CHECK_THAT(add_error(big), Catch::Contains(big) && Catch::Contains("at most 4096 ranks") &&
                                 Catch::Contains("found 8192 ranks on 1024 hosts"));
  // The collective in the file name is matched case-blind.
  const std::string upper = temp_file("NCCL_ALL_GATHER.csv", "Nodes,GPUs,size(MB),out algbw(GB/s),out busbw(GB/s),"
                                                              "in algbw(GB/s),in busbw(GB/s)\n2,16,64,1,1,1,1\n");
  TableSamples u;
  add_table(u, upper, CommTableKind::nccl_tests_aws_csv);
  REQUIRE(u.collectives.size() == 1);
  CHECK(u.collectives[0].op == "all_gather");
}

TEST_CASE("an AWS alltoall csv gives nccl kernel samples, and calibrate fits the network's efficiency from them",
          "[comm][calibration]") {
  // Rows made by the model itself (predict_alltoall, what `predict collective --op alltoall` prints): the
  // nccl kernel's defaults but an InfiniBand efficiency of 0.6 (the default 0.95), on 2 and 4 DGX H100
  // hosts (one 50 GB/s NIC per GPU), 32 MiB - 2 GiB per rank. Every row crosses the network, so the fit
  // must bring 0.6 back; one-node samples never move it (the AIConfigurator alltoall fit keeps 0.95).
  ExchangeKernelParams truth = default_kernel_params(ExchangeKernelKind::nccl);
  truth.dispatch.infiniband_efficiency = truth.combine.infiniband_efficiency = 0.6;
  const std::string csv = temp_file("aws_like_alltoall.csv", test::made_alltoall_csv(truth, {2, 4}, {32, 128, 512, 2048}));
  REQUIRE(detect_comm_table(csv) == CommTableKind::nccl_tests_aws_csv);
  TableSamples s;
  add_table(s, csv, CommTableKind::nccl_tests_aws_csv);
  CHECK(s.collectives.empty());
  REQUIRE(s.kernels.count(ExchangeKernelKind::nccl) == 1);
  const auto& k = s.kernels.at(ExchangeKernelKind::nccl);
  REQUIRE(k.size() == 2 * 4 * 2);  // 2 node counts x 4 sizes, each a dispatch and a combine sample
  CHECK(k[0].nodes == 2);
  CHECK(k[0].gpus_per_node == 8);
  CHECK(k[0].selections == 16);  // one message to every rank
  CHECK(k[0].bytes_per_token == Approx(32.0 * 1048576 / 16));
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  REQUIRE(fit.kernels.size() == 1);
  const ExchangeKernelParams& got = c.exchange_kernels.at(ExchangeKernelKind::nccl).params;
  CHECK(got.dispatch.infiniband_efficiency == Approx(0.6).epsilon(0.03));
  CHECK(got.combine.infiniband_efficiency == Approx(0.6).epsilon(0.03));
  CHECK(fit.kernels[0].fitted_error < 0.02);
  CHECK(fit.kernels[0].default_error > 0.2);  // 0.95 / 0.6: the defaults are ~37% fast on NIC-bound rows
  // No row runs LL (every per-peer message is MiBs, far above NCCL's LL threshold): LL's fields keep their
  // defaults. Before, the search wandered on their flat error and wrote an LL latency of 4.7e12 us, which
  // the calibration reader then refused.
  CHECK(got.dispatch.ll_latency_us == truth.dispatch.ll_latency_us);
  CHECK(got.dispatch.ll_bandwidth_GBps == truth.dispatch.ll_bandwidth_GBps);
  CHECK(got.combine.ll_per_log2_channel_us == truth.combine.ll_per_log2_channel_us);
  validate_kernel_params(got, "fitted");  // what calibration.json's reader checks
}

TEST_CASE("calibrate fits the LL step latency on the rows the model gives LL", "[comm][calibration]") {
  // Rows made by the collective model itself: an 8-GPU all_gather on one DGX H100 whose NVLink LL step is
  // 1.5 us (NCCL's tuner: 0.6). The Simple rows fit the line (370.8 GB/s, 3.4 us per step); the rows the
  // model gives LL at its defaults then fit the LL step: 1.5 us comes back.
  DgxClusterOptions o = dgx_options_for_nodes(1);
  const Topology topo = generate_dgx_cluster(o);
  const RouteTable routes(topo);
  CollectiveParams truth;
  truth.calibrated_links[LinkKind::nvlink].ll_latency_ns = 1500.0;
  const CollectiveModel model(topo, routes, truth);
  const std::vector<int> gpus{0, 1, 2, 3, 4, 5, 6, 7};
  const CollectiveSamples c = model_made_all_gather(model, gpus);
  Calibration cal;
  const TableFit fit = fit_alone(c, cal);
  REQUIRE(fit.collectives.size() == 1);
  const LinkCalibration& l = cal.links.at(LinkKind::nvlink);
  CHECK(*l.bandwidth_GBps == Approx(370.8).epsilon(0.01));
  CHECK(*l.latency_ns == Approx(3400).epsilon(0.02));
  REQUIRE(l.ll_latency_ns.has_value());
  CHECK(*l.ll_latency_ns == Approx(1500).epsilon(0.05));
}

TEST_CASE("calibrate fits LL's base latency when the rows are below it with the LL step at its floor",
          "[comm][calibration]") {
  // Rows made by the collective model: a 2-GPU all_gather on one DGX H100 whose LL base latency is 4.0 us
  // (NCCL's tuner: baseLat[Ring][LL] 6.6) with NCCL's 0.6 us NVLink LL step. A 2-rank ring has one step,
  // so an LL row costs 4.0 + 0.6 + bus bytes / LL bandwidth: below the default base alone. The LL step
  // fit ends on its floor (0), and the base is fitted with the step at 0: the rows identify only the sum,
  // 4.0 + 1 x 0.6 = 4.6 us. The calibration carries it ("collectives"), and with it the model prices the
  // rows as the truth does.
  const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  const RouteTable routes(topo);
  CollectiveParams truth;
  truth.ll_base_latency_us = 4.0;
  const CollectiveModel model(topo, routes, truth);
  const std::vector<int> gpus{0, 1};
  const CollectiveSamples c = model_made_all_gather(model, gpus);
  Calibration cal;
  const TableFit fit = fit_alone(c, cal);
  REQUIRE(fit.collectives.size() == 1);
  REQUIRE(fit.collectives[0].ll.step_latency_ns.has_value());
  CHECK(*fit.collectives[0].ll.step_latency_ns == 0.0);
  REQUIRE(cal.collectives.ll_base_latency_us.has_value());
  CHECK(*cal.collectives.ll_base_latency_us == Approx(4.6).epsilon(0.02));
  CHECK(!cal.collectives.base_latency_us.has_value());  // Simple's base is never fitted
  // With the calibration the model prices the LL rows as the truth does (4.6 + 0 x 1 = 4.0 + 0.6 x 1).
  const CollectiveModel fitted(topo, routes, with_calibration(CollectiveParams{}, cal));
  for (std::size_t i = 0; i < c.bytes.size(); ++i)
    if (c.bytes[i] <= 65536) CHECK(fitted.cost(CollectiveKind::all_gather, gpus, c.bytes[i]).time_us ==
                                   Approx(c.time_us[i]).epsilon(0.03));
  // Rows at NCCL's defaults: the LL step fit is not at its floor, and no base is written.
  const CollectiveModel nccl(topo, routes, CollectiveParams{});
  Calibration cal2;
  fit_alone(model_made_all_gather(nccl, gpus), cal2);
  CHECK(!cal2.collectives.ll_base_latency_us.has_value());
}

TEST_CASE("the one-sided payload table (TensorRT-LLM, BF16 / MXFP8 / NVFP4) gives nvlink-one-sided dispatch samples",
          "[comm][calibration]") {
  const std::string f = kData + "onesided_gb200_post_quant_dispatch.csv";
  REQUIRE(detect_comm_table(f) == CommTableKind::onesided_payload);
  TableSamples s;
  add_table(s, f, detect_comm_table(f));
  REQUIRE(s.kernels.count(ExchangeKernelKind::nvlink_one_sided) == 1);
  const auto& k = s.kernels.at(ExchangeKernelKind::nvlink_one_sided);
  REQUIRE(k.size() == 3);
  // Each row: batch 2048 x top-8 selections on one NVLink domain of 8 GPUs, its own bytes per token.
  const double bytes[] = {14336, 7392, 4032}, us[] = {311.8, 172.2, 101.7};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(k[i].dispatch);
    CHECK(k[i].selections == 2048 * 8);
    CHECK(k[i].gpus_per_node == 8);
    CHECK(k[i].nodes == 1);
    CHECK(k[i].bytes_per_token == bytes[i]);
    CHECK(k[i].measured_us == us[i]);
  }
  // With the BF16 table it calibrates the kernel (the fit beats the defaults on its rows).
  add_table(s, kData + "onesided_gb200_nvl72.csv", CommTableKind::onesided_nvlink);
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  REQUIRE(fit.kernels.size() == 1);
  CHECK(fit.kernels[0].kind == ExchangeKernelKind::nvlink_one_sided);
  CHECK(fit.kernels[0].fitted_error < fit.kernels[0].default_error);
}

TEST_CASE("the Hybrid-EP table calibrates hybrid-ep, and the written file gives those parameters back",
          "[comm][calibration]") {
  const std::string f = kData + "hybrid_ep_h100.csv";
  REQUIRE(detect_comm_table(f) == CommTableKind::hybrid_ep);
  TableSamples s;
  add_table(s, f, detect_comm_table(f));
  // 9 rows (EP 16/32/64 x 4/8/16 SMs) x dispatch and combine, all for hybrid-ep, none for deepep-normal.
  REQUIRE(s.kernels.size() == 1);
  REQUIRE(s.kernels.count(ExchangeKernelKind::hybrid_ep) == 1);
  CHECK(s.kernels.at(ExchangeKernelKind::hybrid_ep).size() == 18);
  Calibration c;
  const TableFit fit = fit_tables(s, c);
  REQUIRE(fit.kernels.size() == 1);
  CHECK(fit.kernels[0].kind == ExchangeKernelKind::hybrid_ep);
  CHECK(fit.kernels[0].fitted_error < fit.kernels[0].default_error);
  REQUIRE(c.exchange_kernels.count(ExchangeKernelKind::hybrid_ep) == 1);
  const ExchangeKernelParams fitted = c.exchange_kernels.at(ExchangeKernelKind::hybrid_ep).params;
  // Not fitted (kernel_samples.cpp calibration_fields): the NVLink efficiency keeps its default.
  CHECK(fitted.dispatch.nvlink_efficiency == default_kernel_params(ExchangeKernelKind::hybrid_ep).dispatch.nvlink_efficiency);
  // Written and read back under "hybrid-ep": what simulate --calibration uses.
  const Json doc = calibration_to_json(c);
  REQUIRE(doc.at("exchange_kernels").contains("hybrid-ep"));
  const Calibration back = calibration_from_json(doc, "calibration.json");
  const ExchangeKernelParams read = back.exchange_kernels.at(ExchangeKernelKind::hybrid_ep).params;
  CHECK(read.kind == ExchangeKernelKind::hybrid_ep);
  CHECK(read.dispatch.sm_rate_GBps == Approx(fitted.dispatch.sm_rate_GBps).epsilon(1e-9));
  CHECK(read.combine.infiniband_efficiency == Approx(fitted.combine.infiniband_efficiency).epsilon(1e-9));
}
