#include <catch2/catch.hpp>

#include <map>
#include <numeric>
#include <vector>

#include "gpu_group.hpp"
#include "comm/collectives.hpp"
#include "comm/exchange_cost.hpp"
#include "topology/generators.hpp"
#include "topology/nccl_xml.hpp"

using namespace epsim;

namespace {
using test::first_gpus;
}  // namespace

TEST_CASE("nccl-tests bus bandwidth factors", "[collectives]") {
  CHECK(bus_bandwidth_factor(CollectiveKind::all_reduce, 8) == Approx(2.0 * 7 / 8));
  CHECK(bus_bandwidth_factor(CollectiveKind::all_gather, 8) == Approx(7.0 / 8));
  CHECK(bus_bandwidth_factor(CollectiveKind::reduce_scatter, 16) == Approx(15.0 / 16));
  CHECK(bus_bandwidth_factor(CollectiveKind::all_reduce, 1) == 0.0);
}

TEST_CASE("ring all-reduce on one DGX H100 follows the alpha-beta formula", "[collectives]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  CollectiveParams p;
  p.allow_nvls = false;
  CollectiveModel model(topo, routes, p);
  auto gpus = first_gpus(8);
  // Ring bus bandwidth: GPU -> NVSwitch -> GPU at 450 GB/s x NCCL's 20.6/25 = 370.8 GB/s.
  const double bus = 450.0 * 20.6 / 25.0;
  CHECK(model.ring_bus_bandwidth_GBps(gpus) == Approx(bus));
  const double S = 1 << 30;
  // t = base 8.4 us + 2(n-1)/n x S / bus + 2(n-1) x 3.4 us (NVLink ring step), n = 8.
  const double t = 8.4 + 2.0 * 7 / 8 * S / (bus * 1e9) * 1e6 + 14 * 3.4;
  CollectiveResult r = model.cost(CollectiveKind::all_reduce, gpus, S);
  CHECK(r.algorithm == CollectiveAlgorithm::ring);
  CHECK(r.time_us == Approx(t));
  CHECK(r.algbw_GBps == Approx(S / (t * 1e-6) / 1e9));
  CHECK(r.busbw_GBps == Approx(r.algbw_GBps * 2.0 * 7 / 8));
  // All-gather: (n-1)/n x S / bus + (n-1) steps.
  CollectiveResult ag = model.cost(CollectiveKind::all_gather, gpus, S);
  CHECK(ag.time_us == Approx(8.4 + 7.0 / 8 * S / (bus * 1e9) * 1e6 + 7 * 3.4));
  CHECK(ag.busbw_GBps == Approx(ag.algbw_GBps * 7.0 / 8));
}

TEST_CASE("NVLS all-reduce inside one NVSwitch domain", "[collectives]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  CollectiveModel model(topo, routes);
  auto gpus = first_gpus(8);
  REQUIRE(model.in_one_nvswitch_domain(gpus));
  const double S = 1 << 30;
  // Port bandwidth 370.8 GB/s x nvlsEfficiency 0.85; per port S (n+1)/n bytes plus a 2-stage fill of
  // 16 channels x 512 KiB (scaled likewise); + 25 us NVLS latency.
  const double bw = 450.0 * 20.6 / 25.0 * 0.85 * 1e9;
  const double t = 25.0 + (S * 9 / 8 + 2 * 16 * 524288.0 * 9 / 8) / bw * 1e6;
  CollectiveResult r = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::nvls, gpus, S);
  CHECK(r.time_us == Approx(t));
  // At 1 GiB NVLS beats the ring (as NCCL selects it on H100).
  CHECK(model.cost(CollectiveKind::all_reduce, gpus, S).algorithm == CollectiveAlgorithm::nvls);
}

TEST_CASE("multi-node groups: rail bandwidth and hierarchical all-reduce", "[collectives]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  CollectiveModel model(topo, routes);
  // GPU 0 (node 0, rail 0) -> GPU 8 (node 1, rail 0): PCIe 64 x 0.75 = 48, IB 50 x 0.95 = 47.5.
  CHECK(model.route_bandwidth_GBps(0, 8) == Approx(47.5));
  std::vector<int> pair{0, 8};
  CHECK(model.ring_bus_bandwidth_GBps(pair) == Approx(47.5));
  auto all = first_gpus(16);
  CHECK_FALSE(model.in_one_nvswitch_domain(all));
  CHECK_FALSE(model.available(CollectiveKind::all_reduce, CollectiveAlgorithm::nvls, all));
  CHECK(model.available(CollectiveKind::all_reduce, CollectiveAlgorithm::hierarchical, all));
  CHECK_THROWS_AS(model.cost(CollectiveKind::all_gather, CollectiveAlgorithm::hierarchical, all, 1e6),
                  std::invalid_argument);
  // Ring over 16 GPUs on 2 nodes: min(NVLink 370.8, 8 rails x 47.5 = 380) = 370.8 GB/s.
  CHECK(model.ring_bus_bandwidth_GBps(all) == Approx(370.8));
  // Steps: 30, of which 2(m-1) = 2 cross the network and 28 stay on NVLink. Simple: 14 us and
  // max(3.4, 3 x 1 us host overhead) = 3.4 us per step; LL128: 4.0 and max(1.9, 1.0) us, 0.92 of the
  // bandwidth, base 14 us: 75.2 + 368.9 = 444.1 us against Simple's 131.6 + 339.3 = 470.9 us at 64 MiB.
  const double S = 64.0 * 1048576;
  CollectiveResult ring = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, all, S);
  CHECK(ring.protocol == CollectiveProtocol::ll128);
  CHECK(ring.time_us == Approx(14.0 + 28 * 1.9 + 2 * 4.0 + 2.0 * 15 / 16 * S / (0.92 * 370.8e9) * 1e6));
  CollectiveParams simple_only;
  simple_only.allow_ll_protocols = false;
  CHECK(CollectiveModel(topo, routes, simple_only).cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, all, S).time_us ==
        Approx(8.4 + 2.0 * 15 / 16 * S / 370.8e9 * 1e6 + 28 * 3.4 + 2 * 14.0));
  // Rejections.
  std::vector<int> repeated{0, 0};
  CHECK_THROWS_AS(model.cost(CollectiveKind::all_reduce, repeated, 1e6), std::invalid_argument);
  CHECK_THROWS_AS(model.cost(CollectiveKind::all_reduce, pair, -1.0), std::invalid_argument);
  std::vector<int> one{3};
  CHECK(model.cost(CollectiveKind::all_reduce, one, 1e6).time_us == 0.0);
}

TEST_CASE("calibrated link bandwidth and latency replace the modelled ones", "[collectives]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  std::map<LinkKind, LinkCalibration> links;
  links[LinkKind::nvlink] = LinkCalibration{300.0, 2000.0};
  CollectiveParams p = with_calibration(CollectiveParams{}, links);
  p.allow_nvls = false;
  CollectiveModel model(topo, routes, p);
  auto gpus = first_gpus(8);
  CHECK(model.ring_bus_bandwidth_GBps(gpus) == Approx(300.0));
  const double S = 1e9;
  CHECK(model.cost(CollectiveKind::all_reduce, gpus, S).time_us == Approx(8.4 + 1.75 * S / 300e9 * 1e6 + 14 * 2.0));
}

// Issue 13, cause 6: an imported NCCL topology carries NCCL's own NVLink figure (18 x 20.6 GB/s per H100
// into the NVSwitch), which already includes NCCL's 20.6/25 discount; the models must not multiply it by
// 20.6/25 again (that read 18 x 20.6 x 0.824 = 305.5 GB/s, -17.6%).
TEST_CASE("imported NCCL NVLink is not discounted twice: ND H100 v5 equals the generated DGX H100", "[collectives][nccl_xml]") {
  NcclImportOptions o;
  o.nodes = 2;
  o.gpu_model = "h100";
  const Topology imported = import_nccl_xml(std::string(EPSIM_SCENARIOS_DIR) + "/nccl_xml/azure_nd_h100_v5.xml", o).topology;
  const Topology generated = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable ri(imported), rg(generated);
  CollectiveParams p;
  p.allow_nvls = false;
  CollectiveModel mi(imported, ri, p), mg(generated, rg, p);
  auto nvlink_of_gpu0 = [](const Topology& t) {
    for (int l : t.out_links(t.gpu_device(0)))
      if (t.link(l).kind == LinkKind::nvlink) return l;
    return -1;
  };
  const Link& li = imported.link(nvlink_of_gpu0(imported));
  const Link& lg = generated.link(nvlink_of_gpu0(generated));
  // Imported: 18 x 20.6 = 370.8 GB/s, effective, used as is. Generated: 450 nominal x 20.6/25 = 370.8.
  CHECK(li.bandwidth_GBps == Approx(18 * 20.6));
  CHECK(mi.effective_bandwidth_GBps(li) == Approx(370.8));
  CHECK(mg.effective_bandwidth_GBps(lg) == Approx(370.8));
  // The exchange kernels' effective bandwidth follows the same rule (deepep-normal NVLink eff 0.824).
  const KernelPhaseParams k = default_kernel_params(ExchangeKernelKind::deepep_normal).dispatch;
  CHECK(effective_bandwidth_Bps(k, li) == Approx(370.8e9));
  CHECK(effective_bandwidth_Bps(k, lg) == Approx(370.8e9));
  // The NIC (<net speed="400000"> = 50 GB/s, nominal) still gets the network efficiency 0.95: 47.5 GB/s.
  for (const Link& l : imported.links())
    if (l.kind == LinkKind::infiniband) CHECK(mi.effective_bandwidth_GBps(l) == Approx(l.bandwidth_GBps * 0.95));
  // One node's ring all-reduce of 1 GiB: the same ring bus bandwidth and time on both topologies:
  // t = 8.4 + 2 x 7/8 x 2^30 B / 370.8 GB/s + 14 x 3.4 us (the alpha-beta formula above).
  auto gpus = first_gpus(8);
  CHECK(mi.ring_bus_bandwidth_GBps(gpus) == Approx(370.8));
  const double S = 1 << 30;
  const double t = 8.4 + 2.0 * 7 / 8 * S / 370.8e9 * 1e6 + 14 * 3.4;
  CHECK(mi.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, gpus, S).time_us == Approx(t));
  CHECK(mg.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, gpus, S).time_us == Approx(t));
}

TEST_CASE("one-node rings take NCCL's cheapest protocol: LL, LL128 or Simple", "[collectives]") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  RouteTable routes(topo);
  CollectiveParams p;
  p.allow_nvls = false;
  CollectiveModel model(topo, routes, p);
  auto gpus = first_gpus(8);
  const double bus = 370.8;  // 450 GB/s x 20.6/25, GB/s
  // NCCL tuning.cc, one node: t_p = baseLat[Ring][p] + steps x hwLat[NVLINK][Ring][p] + bus bytes / busBw_p.
  // all_reduce of 1 KiB on 8 GPUs: steps = 14, bus bytes = 1.75 x 1024 = 1792 B.
  //   LL:     6.6 + 14 x 0.6 + 1792 B / min(141, 370.8 x 0.5 = 185.4) GB/s = 15.0 + 0.0127 = 15.0127 us
  //   LL128:  14 + 14 x 1.9 + 1792 / (0.92 x 370.8)                     = 40.6 + 0.0053 us
  //   Simple: 8.4 + 14 x 3.4 + 1792 / 370.8                             = 56.0 + 0.0048 us
  CollectiveResult small = model.cost(CollectiveKind::all_reduce, gpus, 1024);
  CHECK(small.protocol == CollectiveProtocol::ll);
  CHECK(small.time_us == Approx(15.0 + 1792.0 / 141e9 * 1e6));
  // all_gather of 16 MiB: steps 7, bus bytes 7/8 x 2^24 = 14680064 B.
  //   LL:     6.6 + 4.2 + 14680064 / min(141, 185.4) GB/s              = 10.8 + 104.11 = 114.91 us
  //   LL128:  14 + 13.3 + 14680064 / 341.136 GB/s                     = 27.3 + 43.03  = 70.33 us
  //   Simple: 8.4 + 23.8 + 14680064 / 370.8 GB/s                      = 32.2 + 39.59  = 71.79 us
  const double ag_bytes = 7.0 / 8 * (1 << 24);
  CollectiveResult mid = model.cost(CollectiveKind::all_gather, gpus, 1 << 24);
  CHECK(mid.protocol == CollectiveProtocol::ll128);
  CHECK(mid.time_us == Approx(27.3 + ag_bytes / (0.92 * bus * 1e9) * 1e6));
  // 1 GiB: Simple (the bandwidth term dominates; the alpha-beta test above).
  CHECK(model.cost(CollectiveKind::all_gather, gpus, 1 << 30).protocol == CollectiveProtocol::simple);
  // Off: Simple only, t = 8.4 + 14 x 3.4 + 1792 B / 370.8 GB/s.
  p.allow_ll_protocols = false;
  CollectiveModel simple(topo, routes, p);
  CHECK(simple.cost(CollectiveKind::all_reduce, gpus, 1024).time_us == Approx(56.0 + 1792.0 / (bus * 1e9) * 1e6));
  // Across hosts (2 nodes, 16 GPUs, 1 KiB all_gather: 15 steps, 1 over the network, bus bytes 960):
  //   LL: 6.6 + 14 x max(0.6, 1.0 host overhead) + 1 x hwLat[NET][Ring][LL] 2.7 + 960 B / llMaxBw 39 GB/s.
  Topology two = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes2(two);
  CollectiveModel m2(two, routes2, CollectiveParams{});
  const CollectiveResult across = m2.cost(CollectiveKind::all_gather, CollectiveAlgorithm::ring, first_gpus(16), 1024);
  CHECK(across.protocol == CollectiveProtocol::ll);
  CHECK(across.time_us == Approx(6.6 + 14 * 1.0 + 2.7 + 960.0 / 39e9 * 1e6));
  // Rejected parameters.
  CollectiveParams bad;
  bad.ll128_bandwidth_fraction = 0;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
  bad = CollectiveParams{};
  bad.ll_bandwidth_fraction = 1.5;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
  bad = CollectiveParams{};
  bad.ll_max_bus_bandwidth_GBps = 0;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
  bad = CollectiveParams{};
  bad.nvlink_ll_step_latency_us = -1;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
}
