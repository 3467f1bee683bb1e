#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "sim/network/flow_network_model.hpp"
#include "topology/generators.hpp"

using epsim::DeviceKind;
using epsim::FlowGranularity;
using epsim::FlowNetwork;
using epsim::FlowNetworkModel;
using epsim::LinkKind;
using epsim::RouteHop;
using epsim::RouteTable;
using epsim::Simulator;
using epsim::Time;
using epsim::Topology;
using epsim::Transfer;

namespace {
// Host A: GPU a0 (rank 0) on a 50 GB/s link; host B: GPUs b0, b1 (ranks 1, 2) on 100 GB/s links; host
// C: GPU c0 (rank 3) on 50 GB/s; all through one switch, 1000 ns per link (route latency 2000 ns).
Topology two_hosts() {
  Topology t;
  t.name = "hosts";
  int sw = t.add_device(epsim::Device{"sw", DeviceKind::nvswitch, -1, -1, ""});
  int a = t.add_host("A"), b = t.add_host("B"), c = t.add_host("C");
  int a0 = t.add_device(epsim::Device{"A/gpu0", DeviceKind::gpu, a, 0, "h100"});
  int b0 = t.add_device(epsim::Device{"B/gpu0", DeviceKind::gpu, b, 0, "h100"});
  int b1 = t.add_device(epsim::Device{"B/gpu1", DeviceKind::gpu, b, 1, "h100"});
  int c0 = t.add_device(epsim::Device{"C/gpu0", DeviceKind::gpu, c, 0, "h100"});
  t.add_bidirectional(a0, sw, LinkKind::nvlink, 50.0, 1000.0);
  t.add_bidirectional(b0, sw, LinkKind::nvlink, 100.0, 1000.0);
  t.add_bidirectional(b1, sw, LinkKind::nvlink, 100.0, 1000.0);
  t.add_bidirectional(c0, sw, LinkKind::nvlink, 50.0, 1000.0);
  return t;
}

std::vector<Time> run(FlowGranularity granularity, const Topology& topo, const RouteTable& routes,
                      const std::vector<Transfer>& transfers) {
  Simulator sim;
  FlowNetworkModel net(sim, topo, routes, granularity);
  std::vector<Time> done(transfers.size(), Time::max());
  net.start_exchange(transfers, [&](std::size_t i) { done[i] = sim.now(); }, nullptr);
  sim.run();
  return done;
}
}  // namespace

TEST_CASE("flow sends one GPU's transfers to one host as one flow", "[sim][network][flow]") {
  // a0 -> b0 1e9 B and a0 -> b1 3e9 B form one flow of B = 4e9 B with weights 1 on a0 -> sw and
  // 1/4, 3/4 on sw -> b0, sw -> b1. Its rate is min(50e9 / 1, 100e9 / 0.25, 100e9 / 0.75) = 50e9 B/s:
  // both arrive at 4e9 / 50e9 = 0.08 s after the 2 us route latency.
  // c0 -> b0 (1e9 B) is its own group: it shares sw -> b0 (100 GB/s, 0.25 x 50 used by the group)
  // and is held by its own 50 GB/s link: 1e9 / 50e9 = 0.02 s + 2 us.
  // flow-per-transfer: a0's two flows share a0 -> sw at 25e9 each; the 1e9 B one ends at 0.04 s, the
  // other then runs alone at 50e9 with 2e9 B left: 0.04 + 0.04 = 0.08 s (+ 2 us each).
  Topology topo = two_hosts();
  RouteTable routes(topo);
  const std::vector<Transfer> transfers{{0, 1, 1e9}, {0, 2, 3e9}, {3, 1, 1e9}};
  const Time latency = Time::us(2);
  auto grouped = run(FlowGranularity::per_destination_host, topo, routes, transfers);
  CHECK(grouped[0] == Time::ps(80'000'000'000) + latency);
  CHECK(grouped[1] == Time::ps(80'000'000'000) + latency);
  CHECK(grouped[2] == Time::ps(20'000'000'000) + latency);
  auto per_transfer = run(FlowGranularity::per_transfer, topo, routes, transfers);
  CHECK(per_transfer[0] == Time::ps(40'000'000'000) + latency);
  CHECK(per_transfer[1] == Time::ps(80'000'000'000) + latency);
  CHECK(per_transfer[2] == Time::ps(20'000'000'000) + latency);
}

TEST_CASE("Tied ECMP links give the same rates as the untied network", "[sim][network][flow]") {
  // Two DGX H100 nodes on a rail-optimized fabric with 8 spines: every cross-rail route splits 1/8
  // over a leaf's 8 spine up-links and 1/8 over the 8 spine down-links into the far leaf, so those
  // links are tied and the model keeps one of each fan. A random all-to-all (seed 7) must complete
  // at the same instants as on a FlowNetwork built on the raw topology links and routes (tied
  // links have equal constraints, so max-min rates are identical; 1e-9 relative for rounding), and
  // every tied link reports the bytes its representative carried.
  Topology topo = epsim::generate_dgx_cluster(epsim::dgx_options_for_nodes(2));
  RouteTable routes(topo);
  std::mt19937_64 rng(7);
  std::vector<Transfer> transfers;
  for (int s = 0; s < 16; ++s)
    for (int d = 0; d < 16; ++d)
      if (s != d) transfers.push_back(Transfer{s, d, 1e6 * static_cast<double>(1 + rng() % 100)});
  auto tied = run(FlowGranularity::per_transfer, topo, routes, transfers);

  Simulator sim;
  std::vector<double> capacity;
  for (const epsim::Link& l : topo.links()) capacity.push_back(l.bandwidth_GBps * 1e9);
  FlowNetwork raw(sim, capacity);
  std::vector<Time> expected(transfers.size(), Time::max());
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    raw.start_flow(routes.route(t.src_gpu, t.dst_gpu), t.bytes,
                   Time::from_ps_rounded(routes.latency_ns(t.src_gpu, t.dst_gpu) * 1e3),
                   [&, i] { expected[i] = sim.now(); });
  }
  sim.run();
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    INFO("transfer " << i);
    CHECK(tied[i].to_seconds() == Approx(expected[i].to_seconds()).epsilon(1e-9));
  }

  Simulator sim2;
  FlowNetworkModel model(sim2, topo, routes, FlowGranularity::per_transfer);
  model.start_exchange(transfers, nullptr, nullptr);
  sim2.run();
  const std::vector<double>& bytes = model.link_bytes();
  REQUIRE(bytes.size() == raw.link_bytes().size());
  int spine_links = 0;
  for (std::size_t l = 0; l < bytes.size(); ++l) {
    INFO("link " << l);
    CHECK(bytes[l] == Approx(raw.link_bytes()[l]).epsilon(1e-9));
    if (topo.links()[l].kind == LinkKind::infiniband && raw.link_bytes()[l] > 0) ++spine_links;
  }
  CHECK(spine_links > 0);
  // One leaf per rail, 8 spines: each leaf's 8 up-links are one tie (7 folded) and the 8 down-links
  // from the spines into it another (7 folded): 8 rails x 2 x 7 = 112. And each GPU's PCIe link to
  // its NIC carries exactly the routes of the NIC's link to the leaf (and back): 16 GPUs x 2 = 32.
  CHECK(model.tied_links() == 112 + 32);
}
