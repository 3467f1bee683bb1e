#include <catch2/catch.hpp>

#include "comm/link_load.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {
Topology two_dgx_nodes() {
  DgxClusterOptions o;
  o.nodes = 2;
  o.nvlink_latency_ns = 0;  // latency-free so that times are pure bytes / bandwidth
  o.pcie_latency_ns = 0;
  o.ib_latency_ns = 0;
  return generate_dgx_cluster(o);
}
}  // namespace

TEST_CASE("Uniform all-to-all on 2 DGX nodes: every NIC carries S/2 each way") {
  Topology topo = two_dgx_nodes();
  RouteTable routes(topo);
  EpLinkModel model(topo, routes, 16);
  // 16 experts of equal load, one per GPU; each GPU computes 16 tokens, so every rank sends
  // 16/16 = 1 token of B bytes to every rank (itself included, which costs nothing):
  // S = 16 B bytes dispatched per GPU, 8 B of which go to the 8 GPUs of the other node.
  const double B = 1e6;
  const double S = 16 * B;
  std::vector<double> tokens(16, 16.0);
  auto bytes = exchange_link_bytes(model, tokens, B, Exchange::dispatch);
  for (int l = 0; l < topo.num_links(); ++l) {
    const Link& link = topo.link(l);
    bool nic_out = topo.device(link.src).kind == DeviceKind::nic && topo.device(link.dst).kind == DeviceKind::leaf;
    bool nic_in = topo.device(link.src).kind == DeviceKind::leaf && topo.device(link.dst).kind == DeviceKind::nic;
    if (nic_out || nic_in) CHECK(bytes[static_cast<std::size_t>(l)] == Approx(S / 2));
  }
  auto cost = exchange_cost(model, bytes, tokens, Exchange::dispatch);
  // Bottleneck: a 50 GB/s NIC link carrying S/2: t = (S/2) / 50e9 s.
  CHECK(cost.bottleneck_s == Approx((S / 2) / 50e9));
  CHECK(cost.latency_s == 0.0);
  // Combine is the reverse direction: the same bytes per NIC, times 2 when tokens are BF16 (B x 2).
  auto back = exchange_link_bytes(model, tokens, 2 * B, Exchange::combine);
  CHECK(exchange_cost(model, back, tokens, Exchange::combine).bottleneck_s == Approx(S / 50e9));
}

TEST_CASE("Path latency is added to the bottleneck time") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  EpLinkModel model(topo, routes, 16);
  // Across nodes on different rails: PCIe + IB (NIC->leaf->spine->leaf->NIC) + PCIe
  // = 250 + 4 x 600 + 250 = 2900 ns.
  CHECK(routes.latency_ns(0, 9) == Approx(2900));
  std::vector<double> tokens(16, 1.0);
  auto bytes = exchange_link_bytes(model, tokens, 1000, Exchange::dispatch);
  CHECK(exchange_cost(model, bytes, tokens, Exchange::dispatch).latency_s == Approx(2900e-9));
}

TEST_CASE("No traffic: zero time, no busiest link, no division by zero") {
  Topology topo = two_dgx_nodes();
  RouteTable routes(topo);
  EpLinkModel model(topo, routes, 16);
  std::vector<double> tokens(16, 0.0);
  auto bytes = exchange_link_bytes(model, tokens, 7168, Exchange::dispatch);
  auto cost = exchange_cost(model, bytes, tokens, Exchange::dispatch);
  CHECK(cost.busiest_link == -1);
  CHECK(cost.time_s() == 0.0);
}
