// EP exchanges on a cluster with several NICs per GPU (AWS p5: 4 x 12.5 GB/s EFA per GPU): the link
// loads follow the routes, which split a GPU's network bytes evenly over its NICs (docs/topology.md,
// "Several NICs per GPU"), and the ethernet links get the kernel's ethernet efficiency.
#include <catch2/catch.hpp>

#include <vector>

#include "comm/link_load.hpp"
#include "topology/generators.hpp"

using namespace epsim;

TEST_CASE("uniform all-to-all on 2 p5 nodes: each of a GPU's 4 EFA NICs carries S/8 each way", "[multi_nic]") {
  const Topology topo = generate_dgx_cluster(aws_p5_options(2));
  const RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::nccl);
  k.header_bytes_per_token = 0;
  const EpLinkModel model(topo, routes, 16, k);
  // As on one NIC per GPU (test_link_load.cpp): every rank sends 1 token of B bytes to every rank, so
  // S = 16 B per GPU of which S/2 leave the node; split over 4 NICs: S/8 on each NIC's up-link.
  const double B = 1e6, S = 16 * B;
  const std::vector<double> tokens(16, 16.0);
  const auto bytes = exchange_link_bytes(model, tokens, B, Exchange::dispatch);
  int nic_links = 0;
  for (int l = 0; l < topo.num_links(); ++l) {
    const Link& link = topo.link(l);
    const bool nic_out = topo.device(link.src).kind == DeviceKind::nic && topo.device(link.dst).kind == DeviceKind::leaf;
    const bool nic_in = topo.device(link.src).kind == DeviceKind::leaf && topo.device(link.dst).kind == DeviceKind::nic;
    if (!nic_out && !nic_in) continue;
    ++nic_links;
    CHECK(link.kind == LinkKind::ethernet);
    CHECK(bytes[static_cast<std::size_t>(l)] == Approx(S / 8));
  }
  CHECK(nic_links == 2 * 2 * 32);
  // Bottleneck: a 12.5 GB/s EFA link at the nccl kernel's ethernet efficiency carrying S/8, i.e. the
  // same time as one 50 GB/s NIC carrying S/2 (the kernel's ethernet efficiency is its InfiniBand one
  // until a calibration sets it).
  const ExchangeCost cost = exchange_cost(model, bytes, tokens, B, Exchange::dispatch);
  CHECK(cost.bottleneck_s == Approx((S / 8) / (12.5e9 * k.dispatch.ethernet_efficiency)));
}
