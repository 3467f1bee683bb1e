// Collectives on Ethernet (AWS EFA) apart from InfiniBand, the hierarchical all-reduce on more than two
// hosts, and the network efficiency fit (comm/collective_fit.hpp). Expected values are hand-computed.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <numeric>
#include <vector>

#include "comm/collective_fit.hpp"
#include "gpu_group.hpp"
#include "comm/collectives.hpp"
#include "comm/calibration.hpp"
#include "common/error.hpp"
#include "topology/generators.hpp"
#include "topology/nccl_xml.hpp"

using namespace epsim;

namespace {
using test::first_gpus;

// The first NIC -> fabric link (a NIC's link to its leaf) of `kind`.
const Link& nic_uplink(const Topology& t, LinkKind kind) {
  for (const Link& l : t.links())
    if (l.kind == kind && t.device(l.src).kind == DeviceKind::nic && t.device(l.dst).host < 0) return l;
  FAIL("no NIC uplink");
  return t.links().front();
}

Calibration per_gpu_calibration(const std::string& kind, double GBps) {
  const std::string text = R"({"schema":"epsim.calibration/2","links":{")" + kind + R"(":{"bandwidth_GBps":)" +
                           std::to_string(GBps) + "}}}";
  return calibration_from_json(Json::parse(text), "c.json");
}
}  // namespace

TEST_CASE("p5 ring all_gather: 4 EFA NICs per GPU at the ethernet efficiency, EFA step latency", "[collectives][efa]") {
  const Topology topo = generate_dgx_cluster(aws_p5_options(2));
  const RouteTable routes(topo);
  const CollectiveParams p = aws_p5_efa_params();
  CHECK(p.ethernet_step_latency_us == 55.0);  // the fitted 52 us + aws-ofi-nccl's Simple completion 3 us
  CHECK(p.network_step_latency_us == 14.0);   // InfiniBand keeps NCCL's figure
  const CollectiveModel model(topo, routes, p);
  CHECK(model.network_kind() == LinkKind::ethernet);
  // GPU 0 -> GPU 8: PCIe 64 x 0.75 = 48 (all bytes), each of 4 EFA links 12.5 x 0.77 / (1/4) = 38.5; the
  // fat tree's leaf -> spine links carry 1/16 of the pair each at (2 NICs x 12.5 / 8 spines) x 0.77 x 16
  // = 38.5 too. Route bandwidth 38.5; ring: min(NVLink 370.8, 8 GPUs x 38.5 = 308) = 308 GB/s.
  CHECK(model.route_bandwidth_GBps(0, 8) == Approx(4 * 12.5 * kAwsP5EfaEfficiency));
  const auto all = first_gpus(16);
  CHECK(model.ring_bus_bandwidth_GBps(all) == Approx(8 * 4 * 12.5 * kAwsP5EfaEfficiency));
  // all_gather: n - 1 = 15 steps, m - 1 = 1 across the network (55 us), 14 on NVLink (3.4 us).
  const double S = 1073741824.0;
  const CollectiveResult r = model.cost(CollectiveKind::all_gather, all, S);
  CHECK(r.algorithm == CollectiveAlgorithm::ring);
  CHECK(r.time_us == Approx(8.4 + 15.0 / 16 * S / 308e9 * 1e6 + 14 * 3.4 + 1 * 55.0));
  // The same cluster with InfiniBand-like defaults (RoCE): 0.95 -> 47.5 per GPU, ring min(370.8, 380).
  const CollectiveModel roce(topo, routes, CollectiveParams{});
  CHECK(roce.cost(CollectiveKind::all_gather, all, S).time_us == Approx(8.4 + 15.0 / 16 * S / 370.8e9 * 1e6 + 14 * 3.4 + 14.0));
}

TEST_CASE("a calibrated latency applies to its own network kind only", "[collectives][efa]") {
  const Topology topo = generate_dgx_cluster(aws_p5_options(2));
  const RouteTable routes(topo);
  CollectiveParams p = aws_p5_efa_params();
  p.allow_ll_protocols = false;  // Simple's step latency (LL's: below)
  p.calibrated_links[LinkKind::infiniband] = LinkCalibration{std::nullopt, 99000.0};  // 99 us, IB
  const auto all = first_gpus(16);
  const double S = 1e6;
  const double base = 8.4 + 15.0 / 16 * S / (8 * 4 * 12.5 * kAwsP5EfaEfficiency * 1e9) * 1e6 + 14 * 3.4;
  CHECK(CollectiveModel(topo, routes, p).cost(CollectiveKind::all_gather, CollectiveAlgorithm::ring, all, S).time_us ==
        Approx(base + 55.0));  // the EFA figure, not IB's 99 us
  p.calibrated_links[LinkKind::ethernet] = LinkCalibration{std::nullopt, 50000.0};
  CHECK(CollectiveModel(topo, routes, p).cost(CollectiveKind::all_gather, CollectiveAlgorithm::ring, all, S).time_us ==
        Approx(base + 50.0));
  // LL across EFA, 1 KiB all_gather (15 steps, 1 over the network, 960 bus bytes): 6.6 + 14 x max(0.6,
  // 1.0 host overhead) + the network's LL step + 960 B / llMaxBw 39 GB/s. aws_p5_efa_params: 52 us
  // (the fitted EFA step); a calibrated ethernet ll_latency_ns replaces it, an IB one does not.
  p.allow_ll_protocols = true;
  const double ll_rest = 6.6 + 14 * 1.0 + 960.0 / 39e9 * 1e6;
  p.calibrated_links[LinkKind::infiniband].ll_latency_ns = 1000.0;
  const CollectiveResult ll = CollectiveModel(topo, routes, p).cost(CollectiveKind::all_gather, CollectiveAlgorithm::ring, all, 1024);
  CHECK(ll.protocol == CollectiveProtocol::ll);
  CHECK(ll.time_us == Approx(ll_rest + 52.0));
  p.calibrated_links[LinkKind::ethernet].ll_latency_ns = 7000.0;
  CHECK(CollectiveModel(topo, routes, p).cost(CollectiveKind::all_gather, CollectiveAlgorithm::ring, all, 1024).time_us ==
        Approx(ll_rest + 7.0));
}

TEST_CASE("hierarchical all-reduce on 4 hosts: 2 S/g per NIC each way (double binary tree)", "[collectives]") {
  const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(4));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  const auto all = first_gpus(32);
  const double S = 1073741824.0;
  // Intra NVLS: S (g+1)/g / (370.8 x 0.85 GB/s) = 3.83 ms; network: 2 x S/8 / 47.5 GB/s = 5.65 ms (on 2
  // hosts S/8 / 47.5 = 2.83 ms, NVLS-bound), so 4 hosts are network-bound. Fill: (2 + 2 x log2 4) stages
  // x 16 channels x 512 KiB at the bottleneck rate; latency 8.4 + 25 + 2 x 2 x 14 us.
  const double inter_s = 2 * S / 8 / 47.5e9;
  const double fill_s = 6 * 16 * 524288.0 / (S / inter_s);
  const CollectiveResult r = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::hierarchical, all, S);
  CHECK(r.time_us == Approx(8.4 + 25 + 4 * 14.0 + (inter_s + fill_s) * 1e6));
}

TEST_CASE("ethernet efficiency and latency are range-checked", "[collectives][efa]") {
  const Topology topo = generate_dgx_cluster(aws_p5_options(1));
  const RouteTable routes(topo);
  for (double e : {0.0, -0.1, 1.5, std::nan("")}) {
    CollectiveParams p;
    p.ethernet_efficiency = e;
    CHECK_THROWS_AS(CollectiveModel(topo, routes, p), std::invalid_argument);
  }
  CollectiveParams p;
  p.ethernet_step_latency_us = -1;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, p), std::invalid_argument);
}

TEST_CASE("fit_network_efficiency recovers the efficiency rows were made with, rejects bad rows", "[collectives][efa]") {
  // Rows predicted by the model itself with ethernet efficiency 0.6: the fit from 0.95 returns 0.6.
  CollectiveParams truth = aws_p5_efa_params();
  truth.ethernet_efficiency = 0.6;
  std::vector<CollectiveRow> rows;
  for (int nodes : {2, 4})
    for (double mib : {64.0, 256.0, 1024.0}) rows.push_back({CollectiveKind::all_gather, nodes, mib * 1048576, 1.0});
  const std::vector<double> made = predict_busbw(truth, aws_p5_options(2), rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].measured_busbw_GBps = made[i];
  CollectiveParams start = truth;
  start.ethernet_efficiency = 0.95;
  const CollectiveFit fit = fit_network_efficiency(start, LinkKind::ethernet, aws_p5_options(2), rows);
  CHECK(fit.efficiency == Approx(0.6).margin(1e-3));
  CHECK(fit.params.ethernet_efficiency == fit.efficiency);
  CHECK(fit.params.network_efficiency == start.network_efficiency);  // InfiniBand untouched
  CHECK(fit.mean_abs_error < 1e-3);
  // Rejections.
  CHECK_THROWS_AS(fit_network_efficiency(start, LinkKind::ethernet, aws_p5_options(2), {}), InputError);
  CHECK_THROWS_WITH(fit_network_efficiency(start, LinkKind::nvlink, aws_p5_options(2), rows),
                    Catch::Contains("infiniband or ethernet"));
  for (CollectiveRow bad : {CollectiveRow{CollectiveKind::all_gather, 0, 1e6, 10}, CollectiveRow{CollectiveKind::all_gather, 2, -1, 10},
                            CollectiveRow{CollectiveKind::all_gather, 2, 1e6, 0}, CollectiveRow{CollectiveKind::all_gather, 2, 1e6, std::nan("")}}) {
    CHECK_THROWS_WITH(fit_network_efficiency(start, LinkKind::ethernet, aws_p5_options(2), {bad}), Catch::Contains("collective row 0"));
    CHECK_THROWS_AS(predict_busbw(start, aws_p5_options(2), {bad}), InputError);
  }
}

TEST_CASE("fit_network_efficiency with FitStepLatency::yes recovers efficiency and network step latency", "[collectives][efa]") {
  // Rows made by the model with efficiency 0.6 and a 40 us LL128 network step (LL 40, Simple 43: the
  // start's 3 us Simple completion kept); the fit from 0.77 / 52 / 55 returns them. Rows of 2, 4 and 8
  // nodes from 16 MiB: the small ones pin the step latency (m - 1 network steps each), the large ones
  // the efficiency.
  CollectiveParams truth = aws_p5_efa_params();
  truth.ethernet_efficiency = 0.6;
  truth.ethernet_ll_step_latency_us = truth.ethernet_ll128_step_latency_us = 40.0;
  truth.ethernet_step_latency_us = 43.0;
  std::vector<CollectiveRow> rows;
  for (int nodes : {2, 4, 8})
    for (double mib : {16.0, 64.0, 256.0, 1024.0}) rows.push_back({CollectiveKind::all_gather, nodes, mib * 1048576, 1.0});
  const std::vector<double> made = predict_busbw(truth, aws_p5_options(2), rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].measured_busbw_GBps = made[i];
  const CollectiveFit fit =
      fit_network_efficiency(aws_p5_efa_params(), LinkKind::ethernet, aws_p5_options(2), rows, FitStepLatency::yes);
  CHECK(fit.efficiency == Approx(0.6).margin(2e-3));
  CHECK(fit.ll128_step_latency_us == Approx(40.0).margin(0.5));
  CHECK(fit.params.ethernet_ll_step_latency_us == Approx(fit.ll128_step_latency_us));
  CHECK(fit.params.ethernet_step_latency_us == Approx(fit.ll128_step_latency_us + 3.0));
  CHECK(fit.params.network_ll128_step_latency_us == CollectiveParams{}.network_ll128_step_latency_us);  // IB untouched
  CHECK(fit.mean_abs_error < 2e-3);
  // Without FitStepLatency::yes the latencies stay as started.
  const CollectiveFit eff_only = fit_network_efficiency(aws_p5_efa_params(), LinkKind::ethernet, aws_p5_options(2), rows);
  CHECK(eff_only.ll128_step_latency_us == kAwsP5EfaStepLatency_us);
  CHECK(eff_only.params.ethernet_step_latency_us == aws_p5_efa_params().ethernet_step_latency_us);
}

TEST_CASE("the shipped EFA calibration is aws_p5_efa_params as calibration.json links", "[collectives][efa]") {
  // scenarios/calibrations/aws-p5-efa.json: ethernet 4 NICs x 12.5 x 0.77 = 38.5 GB/s per GPU (9.625 per
  // NIC link, calibrated_link_bandwidth_GBps), 55 us per Simple step and 52 per LL / LL128 step, so
  // `simulate|plan|predict --calibration` reach the EFA figures; the same times as aws_p5_efa_params().
  const Calibration cal = load_calibration(std::string(EPSIM_SCENARIOS_DIR) + "/calibrations/aws-p5-efa.json");
  REQUIRE(cal.links.count(LinkKind::ethernet) == 1);
  CHECK(*cal.links.at(LinkKind::ethernet).bandwidth_GBps == Approx(4 * 12.5 * kAwsP5EfaEfficiency));
  CHECK(*cal.links.at(LinkKind::ethernet).latency_ns == Approx(aws_p5_efa_params().ethernet_step_latency_us * 1e3));
  CHECK(*cal.links.at(LinkKind::ethernet).tree_bandwidth_fraction == kAwsP5EfaTreeBandwidthFraction);
  const Topology topo = generate_dgx_cluster(aws_p5_options(4));
  const RouteTable routes(topo);
  const CollectiveModel by_file(topo, routes, with_calibration(CollectiveParams{}, cal));
  const CollectiveModel by_params(topo, routes, aws_p5_efa_params());
  const auto all = first_gpus(32);
  for (CollectiveKind k : {CollectiveKind::all_gather, CollectiveKind::all_reduce})
    for (double S : {64.0 * 1048576, 8589934592.0})
      CHECK(by_file.cost(k, all, S).time_us == Approx(by_params.cost(k, all, S).time_us));
}

TEST_CASE("a calibration's per-GPU network bandwidth is split over the GPU's NICs (collectives and kernels)",
          "[collectives][efa][calibration]") {
  // AWS p5, 2 nodes: 32 EFA uplinks per host / 8 GPUs = 4 links per GPU; 40 GB/s per GPU -> 10 per link.
  const Topology p5 = generate_dgx_cluster(aws_p5_options(2));
  CHECK(calibration_links_per_gpu(p5, LinkKind::ethernet) == 4.0);
  CHECK(calibration_links_per_gpu(p5, LinkKind::infiniband) == 1.0);  // no InfiniBand link
  CHECK(calibration_links_per_gpu(p5, LinkKind::nvlink) == 1.0);      // one aggregated link per GPU
  CHECK(calibration_links_per_gpu(p5, LinkKind::pcie) == 1.0);
  CHECK(calibrated_link_bandwidth_GBps(40.0, p5, LinkKind::ethernet) == Approx(10.0));
  const Calibration efa = per_gpu_calibration("ethernet", 40.0);
  const RouteTable routes(p5);
  const CollectiveModel model(p5, routes, with_calibration(CollectiveParams{}, efa));
  CHECK(model.effective_bandwidth_GBps(nic_uplink(p5, LinkKind::ethernet)) == Approx(10.0));  // min(10, 12.5)
  // GPU 0 -> 8: PCIe 64 x 0.75 = 48; each EFA link 10 / (1/4) = 40; leaf -> spine min(10, 3.125) / (1/16)
  // = 50. Route 40 = the calibrated 40 GB/s per GPU (it was min(48, min(40, 12.5) x 4 = 50) = 48).
  CHECK(model.route_bandwidth_GBps(0, 8) == Approx(40.0));
  CHECK(model.ring_bus_bandwidth_GBps(first_gpus(16)) == Approx(8 * 40.0));  // min(NVLink 370.8, 8 x 40)
  // Exchange kernels: efficiency min(0.95, 10 / 12.5) = 0.8 (it was min(0.95, min(1, 40 / 12.5)) = 0.95).
  const CalibratedKernel k = calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &efa, "c.json", p5);
  CHECK(k.params.dispatch.ethernet_efficiency == Approx(0.8));
  CHECK(k.params.combine.ethernet_efficiency == Approx(0.8));

  // The imported p5 XML (--gpu h100 --nic-GBps 12.5 --network-kind ethernet): also 4 per GPU.
  NcclImportOptions o;
  o.nodes = 2;
  o.gpu_model = "h100";
  o.default_nic_GBps = 12.5;
  o.network_kind = LinkKind::ethernet;
  const Topology imported = import_nccl_xml(std::string(EPSIM_SCENARIOS_DIR) + "/nccl_xml/aws_p5_48xlarge.xml", o).topology;
  CHECK(calibration_links_per_gpu(imported, LinkKind::ethernet) == 4.0);
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &efa, "c.json", imported)
            .params.dispatch.ethernet_efficiency == Approx(0.8));

  // InfiniBand, 2 nodes, 4 NICs of 25 GB/s per GPU: 40 / 4 = 10 per link, efficiency 10 / 25 = 0.4.
  DgxClusterOptions four = dgx_options_for_nodes(2);
  four.nics_per_gpu = 4;
  four.nic_GBps = 25.0;
  const Topology ib4 = generate_dgx_cluster(four);
  const Calibration ib = per_gpu_calibration("infiniband", 40.0);
  const RouteTable routes4(ib4);
  const CollectiveModel model4(ib4, routes4, with_calibration(CollectiveParams{}, ib));
  CHECK(calibration_links_per_gpu(ib4, LinkKind::infiniband) == 4.0);
  CHECK(model4.effective_bandwidth_GBps(nic_uplink(ib4, LinkKind::infiniband)) == Approx(10.0));
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ib, "c.json", ib4).params.dispatch
            .infiniband_efficiency == Approx(0.4));

  // One NIC per GPU (DGX H100, 50 GB/s): unchanged, min(40, 50) = 40 per link, efficiency 40 / 50 = 0.8;
  // 80 per GPU is capped at the link, 50, and leaves the kernel's 0.95.
  const Topology dgx = generate_dgx_cluster(dgx_options_for_nodes(2));
  const RouteTable routes1(dgx);
  CHECK(calibration_links_per_gpu(dgx, LinkKind::infiniband) == 1.0);
  CHECK(CollectiveModel(dgx, routes1, with_calibration(CollectiveParams{}, ib))
            .effective_bandwidth_GBps(nic_uplink(dgx, LinkKind::infiniband)) == Approx(40.0));
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &ib, "c.json", dgx).params.dispatch
            .infiniband_efficiency == Approx(0.8));
  const Calibration fast = per_gpu_calibration("infiniband", 80.0);
  CHECK(CollectiveModel(dgx, routes1, with_calibration(CollectiveParams{}, fast))
            .effective_bandwidth_GBps(nic_uplink(dgx, LinkKind::infiniband)) == Approx(50.0));
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &fast, "c.json", dgx).params.dispatch
            .infiniband_efficiency == Approx(0.95));
  // One node: no host -> fabric link, the figure as is.
  CHECK(calibration_links_per_gpu(generate_dgx_cluster(dgx_options_for_nodes(1)), LinkKind::infiniband) == 1.0);
}

TEST_CASE("a NIC shared by two GPUs carries both shares: links per GPU 0.5", "[collectives][calibration]") {
  // Two hosts, each 2 GPUs behind one NIC with one uplink to a common leaf: 2 uplinks / 4 GPUs = 0.5,
  // so 20 GB/s per GPU is 20 / 0.5 = 40 GB/s on the NIC link.
  Topology t;
  const int leaf = t.add_device({"leaf", DeviceKind::leaf, -1, -1, ""});
  for (int h = 0; h < 2; ++h) {
    const std::string n = "node" + std::to_string(h);
    const int host = t.add_host(n);
    const int nic = t.add_device({n + "/nic0", DeviceKind::nic, host, 0, ""});
    for (int g = 0; g < 2; ++g) {
      const int gpu = t.add_device({n + "/gpu" + std::to_string(g), DeviceKind::gpu, host, 0, "h100"});
      t.add_bidirectional(gpu, nic, LinkKind::pcie, 64, 250);
    }
    t.add_bidirectional(nic, leaf, LinkKind::infiniband, 50, 600);
  }
  CHECK(calibration_links_per_gpu(t, LinkKind::infiniband) == 0.5);
  CHECK(calibrated_link_bandwidth_GBps(20.0, t, LinkKind::infiniband) == Approx(40.0));
}

TEST_CASE("NCCL's Tree on EFA gets half the ring's network bandwidth (aws-ofi-nccl's tuner model)", "[collectives][efa]") {
  // 4 p5 hosts, 32 GPUs, all_reduce of S = 8 GiB with Tree forced. Tree's Simple time:
  //   t = baseLat[Tree][Simple] + 2 ((ppn - 1) hwLat[NVLINK][Tree][Simple] + floor(log2 4) hop) + S / algbw,
  //   algbw = 0.5 x busBw x 0.92 x treeCorrectionFactor, busBw = min(NVLink ring, rail sum x fraction).
  // The rail sum (8 GPUs x 4 x 12.5 GB/s x 0.77 = 308 GB/s) is below the NVLink ring's, so halving the
  // fraction halves busBw, and at 8 GiB (where the byte term is > 99% of the time) nearly doubles t.
  const Topology topo = generate_dgx_cluster(aws_p5_options(4));
  const RouteTable routes(topo);
  CollectiveParams full = aws_p5_efa_params();
  full.ethernet_tree_bandwidth_fraction = 1.0;
  const CollectiveModel half_model(topo, routes, aws_p5_efa_params()), full_model(topo, routes, full);
  const auto all = first_gpus(32);
  const double S = 8589934592.0;
  const CollectiveResult h = half_model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all, S);
  const CollectiveResult f = full_model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all, S);
  CHECK(h.protocol == f.protocol);
  CHECK(h.time_us / f.time_us == Approx(2.0).epsilon(0.01));
  // The ring is untouched: the fraction is Tree's alone.
  CHECK(half_model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, all, S).time_us ==
        Approx(full_model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, all, S).time_us));
  // InfiniBand keeps NCCL's model (fraction 1) unless a calibration of infiniband says otherwise.
  CHECK(CollectiveParams{}.network_tree_bandwidth_fraction == 1.0);
  // A calibration's links.ethernet.tree_bandwidth_fraction replaces the parameter.
  CollectiveParams cal = full;
  cal.calibrated_links[LinkKind::ethernet].tree_bandwidth_fraction = 0.5;
  const CollectiveModel cal_model(topo, routes, cal);
  CHECK(cal_model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all, S).time_us == Approx(h.time_us));
  // Out of (0, 1] is refused.
  CollectiveParams bad = full;
  bad.ethernet_tree_bandwidth_fraction = 1.5;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
}
