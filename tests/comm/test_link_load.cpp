#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "comm/exchange_prediction.hpp"
#include "comm/link_load.hpp"
#include "comm/trace_traffic.hpp"
#include "common/error.hpp"
#include "comm/point_to_point.hpp"
#include "comm/token_router.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "round_kernel.hpp"

using namespace epsim;
using test::round_kernel;

namespace {
Topology dgx(int nodes, int gpus_per_node) {
  DgxClusterOptions o;
  o.nodes = nodes;
  o.gpus_per_node = gpus_per_node;
  return generate_dgx_cluster(o);
}

// Link from a GPU's NIC to its leaf (the rail up-link) and from the GPU to its NVSwitch.
int nic_up_link(const Topology& topo, int gpu) {
  const int host = topo.gpu_host(gpu);
  const int rail = topo.device(topo.gpu_device(gpu)).rail;
  for (int l = 0; l < topo.num_links(); ++l) {
    const Link& k = topo.link(l);
    const Device& a = topo.device(k.src);
    if (a.kind == DeviceKind::nic && a.host == host && a.rail == rail && topo.device(k.dst).kind == DeviceKind::leaf)
      return l;
  }
  return -1;
}
int nvlink_up_link(const Topology& topo, int gpu) {
  for (int l = 0; l < topo.num_links(); ++l)
    if (topo.link(l).src == topo.gpu_device(gpu) && topo.link(l).kind == LinkKind::nvlink) return l;
  return -1;
}

}  // namespace

TEST_CASE("Uniform all-to-all on 2 DGX nodes: every NIC carries S/2 each way") {
  Topology topo = dgx(2, 8);
  RouteTable routes(topo);
  EpLinkModel model(topo, routes, 16, default_kernel_params(ExchangeKernelKind::nccl));
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
  auto cost = exchange_cost(model, bytes, tokens, B, Exchange::dispatch);
  // Bottleneck: a 50 GB/s NIC link at nccl's network efficiency 0.95 carrying S/2.
  CHECK(cost.bottleneck_s == Approx((S / 2) / (50e9 * 0.95)));
  // Combine is the reverse direction: the same bytes per NIC, times 2 when tokens are BF16 (B x 2).
  auto back = exchange_link_bytes(model, tokens, 2 * B, Exchange::combine);
  CHECK(exchange_cost(model, back, tokens, 2 * B, Exchange::combine).bottleneck_s == Approx(S / (50e9 * 0.95)));
}

TEST_CASE("deepep-ll on 2 nodes x 2 GPUs: one copy per selection, hand-computed time") {
  Topology topo = dgx(2, 2);  // GPUs 0, 1 on node 0 (rails 0, 1); GPUs 2, 3 on node 1
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::deepep_ll);
  k.dispatch.per_remote_expert_us = 0.05;
  EpLinkModel model(topo, routes, 4, k, ExchangeRouting{1, 1, 8});
  const double B = 1e6;
  std::vector<double> tokens = {4, 4, 4, 4};  // selections computed per rank; each rank sends 1 to each
  auto bytes = exchange_link_bytes(model, tokens, B, Exchange::dispatch);
  // GPU 0's NIC up-link carries its copies to GPUs 2 and 3 (shortest routes leave by the own NIC):
  // (4/4 + 4/4) x 1e6 = 2e6 B. Its NVLink up-link carries the copy to GPU 1: 1e6 B.
  CHECK(bytes[static_cast<std::size_t>(nic_up_link(topo, 0))] == Approx(2e6));
  CHECK(bytes[static_cast<std::size_t>(nvlink_up_link(topo, 0))] == Approx(1e6));
  ExchangeCost c = exchange_cost(model, bytes, tokens, B, Exchange::dispatch);
  // Busiest link: a NIC link, 2e6 / (50e9 x 0.8) = 50 us (PCIe 64 x 0.5 = 32 GB/s: 2e6 / 32e9 = 62.5 us
  // is busier!). The PCIe GPU->switch link carries the same 2e6 B: 62.5 us.
  CHECK(c.bottleneck_s * 1e6 == Approx(62.5));
  CHECK(topo.link(c.busiest_link).kind == LinkKind::pcie);
  // Latency: 10 us + 0.05 us x experts off the node = 8 x (4 - 2) / 4 = 4 experts: 10.2 us.
  CHECK(c.phase.latency_us == Approx(10.2));
  CHECK(c.phase.time_us == Approx(10.2 + 62.5));
  CHECK(c.phase.bottleneck == "link");
}

TEST_CASE("deepep-ll with NVLink disabled: same-node peers through the NICs, hand-computed time") {
  Topology topo = dgx(2, 2);  // as above: GPUs 0, 1 on node 0, GPUs 2, 3 on node 1
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::deepep_ll);
  k.dispatch.per_remote_expert_us = 0.05;
  k.nvlink_for_same_node = false;  // DeepEP Buffer(allow_nvlink_for_low_latency_mode=False)
  EpLinkModel model(topo, routes, 4, k, ExchangeRouting{1, 1, 8});
  const double B = 1e6;
  std::vector<double> tokens = {4, 4, 4, 4};
  auto bytes = exchange_link_bytes(model, tokens, B, Exchange::dispatch);
  // GPU 0's copies to GPUs 1, 2 and 3 all leave through its NIC: 3 x 4/4 x 1e6 = 3e6 B; none on NVLink.
  CHECK(bytes[static_cast<std::size_t>(nic_up_link(topo, 0))] == Approx(3e6));
  CHECK(bytes[static_cast<std::size_t>(nvlink_up_link(topo, 0))] == 0);
  // GPU 1's NIC down-link: from GPU 0 (same node, back in through the NIC) and from GPUs 2, 3: 3e6 B.
  int nic_down_1 = -1;
  for (int l = 0; l < topo.num_links(); ++l)
    if (topo.link(l).src == topo.link(nic_up_link(topo, 1)).dst && topo.link(l).dst == topo.link(nic_up_link(topo, 1)).src)
      nic_down_1 = l;
  REQUIRE(nic_down_1 >= 0);
  CHECK(bytes[static_cast<std::size_t>(nic_down_1)] == Approx(3e6));
  ExchangeCost c = exchange_cost(model, bytes, tokens, B, Exchange::dispatch);
  // Busiest link: the GPU -> NIC PCIe link, 3e6 / (64e9 x 0.5) = 93.75 us. Every expert off the GPU
  // costs a message: 8 x (4 - 1) / 4 = 6 experts x 0.05 = 0.3 us; latency 10.3 us.
  CHECK(c.bottleneck_s * 1e6 == Approx(93.75));
  CHECK(topo.link(c.busiest_link).kind == LinkKind::pcie);
  CHECK(c.phase.latency_us == Approx(10.3));
  CHECK(c.phase.time_us == Approx(10.3 + 93.75));
  // A GPU without a NIC has no path to send its same-node peers' bytes over: named.
  Topology bare = dgx(1, 2);
  Topology no_nic;
  no_nic.add_host("node0");
  for (int g = 0; g < 2; ++g) no_nic.add_device(Device{"node0/gpu" + std::to_string(g), DeviceKind::gpu, 0, g, "h100"});
  const int sw = no_nic.add_device(Device{"node0/nvswitch", DeviceKind::nvswitch, 0, -1, ""});
  for (int g = 0; g < 2; ++g) no_nic.add_bidirectional(no_nic.gpu_device(g), sw, LinkKind::nvlink, 450, 100);
  RouteTable no_nic_routes(no_nic);
  CHECK_THROWS_WITH(EpLinkModel(no_nic, no_nic_routes, 2, k), Catch::Contains("node0/gpu0 reaches no NIC"));
  const RouteTable bare_routes(bare);
  CHECK_NOTHROW(EpLinkModel(bare, bare_routes, 2, k));  // one node, NICs to its leaves: fine
}

TEST_CASE("deepep-normal on 2 nodes x 2 GPUs: node de-duplication, NVLink forwarding, SM term") {
  Topology topo = dgx(2, 2);
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::deepep_normal);
  k.dispatch.latency_per_log2_node_us = 5;
  k.dispatch.sm_rate_GBps = 10;
  k.dispatch.sm_exponent = 1;
  // 0.25 copies per selection reach a node over RDMA, 0.5 per selection a GPU over NVLink.
  EpLinkModel model(topo, routes, 4, k, ExchangeRouting{0.5, 0.25, 8});
  const double B = 1e6;
  std::vector<double> tokens = {4, 4, 4, 4};
  auto bytes = exchange_link_bytes(model, tokens, B, Exchange::dispatch);
  // GPU 0 reaches node 1 through its rail peer GPU 2 only: RDMA legs 0 -> 2 for destinations 2 and 3,
  // (4/4 + 4/4) x 1e6 x 0.25 = 0.5e6 B on GPU 0's NIC up-link.
  CHECK(bytes[static_cast<std::size_t>(nic_up_link(topo, 0))] == Approx(0.5e6));
  // GPU 2 forwards to GPU 3 the copies of GPU 0 and sends its own: 2 x 4/4 x 1e6 x 0.5 = 1e6 B on NVLink.
  CHECK(bytes[static_cast<std::size_t>(nvlink_up_link(topo, 2))] == Approx(1e6));
  ExchangeCost c = exchange_cost(model, bytes, tokens, B, Exchange::dispatch);
  // Links: NIC 0.5e6 / 40e9 = 12.5 us; PCIe 0.5e6 / 32e9 = 15.625 us; NVLink 1e6 / 225e9 = 4.44 us.
  CHECK(c.bottleneck_s * 1e6 == Approx(15.625));
  // SM work of the busiest GPU: B x (selections sent 16/4 x 0.25 + received 4 x 0.5) = 3e6 B at
  // 10 GB/s x 10 SMs = 30 us: the SMs bound the body. Latency 10 + 5 x log2(2 nodes) = 15 us.
  CHECK(c.phase.sm_us == Approx(30));
  CHECK(c.phase.latency_us == Approx(15));
  CHECK(c.phase.time_us == Approx(45));
  CHECK(c.phase.bottleneck == "sm");
}

TEST_CASE("with_routing: the same rows, bit for bit, as a model built with that routing") {
  // with_routing recombines the per-class rows it shares with its source (comm/link_load.cpp
  // combine_rows); the coefficients must be the ones a fresh model sums from the routes, exactly,
  // for every kernel (the simulator's golden outputs depend on it).
  Topology topo = dgx(2, 4);
  RouteTable routes(topo);
  Topology node = dgx(1, 8);
  RouteTable node_routes(node);
  const ExchangeRouting r{0.7, 0.3, 16};
  for (ExchangeKernelKind kind : {ExchangeKernelKind::nccl, ExchangeKernelKind::deepep_normal,
                                  ExchangeKernelKind::deepep_ll, ExchangeKernelKind::nvlink_one_sided,
                                  ExchangeKernelKind::hierarchical, ExchangeKernelKind::hybrid_ep}) {
    const ExchangeKernelParams k = round_kernel(kind);
    // nvlink-one-sided needs one NVLink domain: 8 GPUs of one node there (2 nodes are refused).
    const bool one_sided = kind == ExchangeKernelKind::nvlink_one_sided;
    if (one_sided) {
      CHECK_THROWS_WITH(EpLinkModel(topo, routes, 8, k), Catch::Contains("over NVLink only") && Catch::Contains("EP 8 GPUs 0..7"));
      // A typed refusal, so that the command line can add the file and pointer that chose the kernel.
      try {
        EpLinkModel refused(topo, routes, 8, k);
        FAIL("nvlink-one-sided across 2 nodes was accepted");
      } catch (const ExchangeKernelRefusal& e) {
        CHECK(e.cause() == ExchangeKernelRefusal::Cause::outside_nvlink_domain);
      }
    }
    const EpLinkModel plain(one_sided ? node : topo, one_sided ? node_routes : routes, 8, k);
    const EpLinkModel fresh(one_sided ? node : topo, one_sided ? node_routes : routes, 8, k, r);
    const EpLinkModel derived = plain.with_routing(r);
    CHECK(derived.routing().gpu_factor == 0.7);
    CHECK(derived.routing().node_factor == 0.3);
    for (int d = 0; d < 8; ++d)
      for (Exchange x : {Exchange::dispatch, Exchange::combine}) {
        CHECK(derived.row(d, x) == fresh.row(d, x));
        CHECK(plain.with_routing(ExchangeRouting{}).row(d, x) == plain.row(d, x));
      }
  }
  // deepep-normal: into a rank d of node 1, GPU 0's NIC up-link carries only the RDMA leg from GPU 0
  // to its rail peer on node 1 (class node_factor; the NVLink legs inside node 1 are x gpu_factor), so
  // its coefficient is the plain one x 0.3.
  const EpLinkModel plain(topo, routes, 8, round_kernel(ExchangeKernelKind::deepep_normal));
  const EpLinkModel derived = plain.with_routing(r);
  const int nic0 = nic_up_link(topo, 0);
  int seen = 0;
  for (int d = 4; d < 8; ++d)
    for (std::size_t i = 0; i < plain.into(d).size(); ++i)
      if (plain.into(d)[i].first == nic0) {
        ++seen;
        CHECK(derived.into(d)[i].second == Approx(0.3 * plain.into(d)[i].second));
      }
  CHECK(seen == 4);
}

TEST_CASE("nccl closed form: ramp, self copy and the LL protocol, hand-computed") {
  Topology topo = dgx(1, 4);
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::nccl);
  k.dispatch.per_peer_us = 1;
  k.dispatch.self_copy_GBps = 1000;
  k.dispatch.ramp_half_bytes = 1e6;
  k.dispatch.ramp_exponent = 1;
  k.dispatch.ll_latency_us = 5;
  k.dispatch.ll_bandwidth_GBps = 10;
  EpLinkModel model(topo, routes, 4, k);
  std::vector<double> tokens = {4, 4, 4, 4};
  // Large: B = 1e6: each rank sends 1e6 B to each of 3 peers over its 450 GB/s NVLink at 0.5:
  // link 3e6 / 225e9 = 13.33 us; self copy 1e6 / 1000e9 = 1 us; message per peer 1e6 = the ramp's
  // half point: ramp 0.5 -> body (13.33 + 1) / 0.5 = 28.67 us; latency 10 + 1 x 3 peers = 13 us.
  // LL: 5 + 3 + 3e6 / 10e9 = 308 us, slower. t = 41.67 us.
  auto bytes = exchange_link_bytes(model, tokens, 1e6, Exchange::dispatch);
  ExchangeCost c = exchange_cost(model, bytes, tokens, 1e6, Exchange::dispatch);
  CHECK(c.phase.ramp == Approx(0.5));
  CHECK(c.phase.time_us == Approx(13 + (3e6 / 225e9 * 1e6 + 1) / 0.5));
  // Small: B = 1000: LL = 5 + 3 + 3000 / 10e9 s = 8.3 us beats Simple (13 us latency alone).
  bytes = exchange_link_bytes(model, tokens, 1000, Exchange::dispatch);
  c = exchange_cost(model, bytes, tokens, 1000, Exchange::dispatch);
  CHECK(c.phase.time_us == Approx(8.3));
  CHECK(c.phase.bottleneck == "ll-protocol");
  // LL bounded by the links: with a 1000 GB/s LL ceiling and B = 1e6, LL = 5 + 3 + max(3e6 / 1000e9
  // = 3 us, 2 x 13.33 us link time: half of each LL line is flags) = 34.67 us < Simple 41.67 us.
  k.dispatch.ll_bandwidth_GBps = 1000;
  EpLinkModel fast_ll(topo, routes, 4, k);
  bytes = exchange_link_bytes(fast_ll, tokens, 1e6, Exchange::dispatch);
  c = exchange_cost(fast_ll, bytes, tokens, 1e6, Exchange::dispatch);
  CHECK(c.phase.time_us == Approx(5 + 3 + 2 * 3e6 / 225e9 * 1e6));
  CHECK(c.phase.bottleneck == "ll-protocol");
}

namespace {
// NCCL 2.27's p2p constants (comm/kernels/nccl.cpp) with round rates for the hand computations.
KernelPhaseParams p2p_phase() {
  KernelPhaseParams p;
  p.latency_us = 10;
  p.p2p_channels = 32;
  p.net_channels_per_peer = 2;
  p.p2p_chunk_bytes = 524288;  // NCCL_P2P_NVL_CHUNKSIZE
  p.net_chunk_bytes = 131072;  // NCCL_P2P_NET_CHUNKSIZE
  p.ll_threshold_bytes = 16384;
  p.ll_latency_us = 5;
  p.ll_bandwidth_GBps = 100;
  p.channel_GBps = 10;
  return p;
}
}  // namespace

TEST_CASE("p2p_plan: NCCL's protocol and channels per peer, hand-computed") {
  const KernelPhaseParams p = p2p_phase();
  // One node, 8 ranks, 1 MiB per peer: most = 32 channels; least = 32 halved while least x 8 > 32 -> 4.
  // LL up to 32 x 16 KiB = 512 KiB: Simple, step 512 KiB, parts >= 64 KiB: ceil(1 MiB / 64 KiB) = 16
  // wanted, 4 allowed; part 256 KiB <= 32 x 512 KiB. 7 peers x 4 = 28 channels at once.
  P2pPlan a = p2p_plan(p, 1048576, 7, 1);
  CHECK_FALSE(a.ll);
  CHECK(a.channels_per_peer == 4);
  CHECK(a.concurrent_channels == 28);
  CHECK(a.step_bytes == 524288);
  // 128 MiB per peer: 32 MiB parts on 4 channels > 16 MiB: doubled to 8 (<= 32 / 2), 16 MiB parts.
  CHECK(p2p_plan(p, 134217728, 7, 1).channels_per_peer == 8);
  // One node, 2 ranks, 256 KiB: least 16; LL (<= 512 KiB), step 64 KiB, parts >= 8 KiB: 32 wanted -> 16.
  a = p2p_plan(p, 262144, 1, 1);
  CHECK(a.ll);
  CHECK(a.channels_per_peer == 16);
  CHECK(a.concurrent_channels == 16);
  CHECK(a.step_bytes == 65536);
  // 4 nodes, 32 ranks, 1 MiB: most = 2 per network peer (2 x 32 <= 4 x 32), least 1 (2 x 32 > 32).
  // LL only up to 2 x 16 KiB. Simple, step 128 KiB, parts 64-128 KiB: 1 channel, 1 MiB > 128 KiB ->
  // doubled to 2 (<= 2 / 2 allows one doubling). 31 peers x 2 = 62 > 32: 32 at once.
  a = p2p_plan(p, 1048576, 31, 4);
  CHECK_FALSE(a.ll);
  CHECK(a.channels_per_peer == 2);
  CHECK(a.concurrent_channels == 32);
  CHECK(a.step_bytes == 131072);
  CHECK(p2p_plan(p, 32768, 31, 4).ll);
  CHECK_FALSE(p2p_plan(p, 32769, 31, 4).ll);
  // 256 ranks on several nodes: 2 x 256 > 4 x 32 -> 1 channel per network peer; LL up to 16 KiB.
  CHECK(p2p_plan(p, 16384, 255, 32).ll);
  CHECK_FALSE(p2p_plan(p, 16385, 255, 32).ll);
  KernelPhaseParams off = p;
  off.p2p_channels = 0;
  CHECK_THROWS_AS(p2p_plan(off, 1e6, 7, 1), std::invalid_argument);
  CHECK_THROWS_AS(p2p_plan(p, -1, 7, 1), std::invalid_argument);
}

TEST_CASE("nccl p2p channels: channel ceiling, pipeline fill and NCCL's LL threshold, hand-computed") {
  KernelPhaseParams p = p2p_phase();
  // One node, 4 ranks, 1 MiB per peer over NVLink of 225 GB/s effective: least = 8 channels (8 x 4 <=
  // 32), Simple (1 MiB > 512 KiB), 16 parts of 64 KiB wanted -> 8, parts of 128 KiB, 24 channels at once.
  ExchangeLoadSummary l;
  l.peers = 3;
  l.peer_message_bytes = 1048576;
  l.sent_bytes = 3 * 1048576.0;
  l.link_s = l.sent_bytes / 225e9;  // 13.981 us
  // channel = 3 MiB / (24 x 10 GB/s) = 13.107 us < link 13.981 us; fill = min(128 KiB, 512 KiB) /
  // (2 x 10 GB/s) = 6.554 us; t = 10 + 13.981 + 6.554 = 30.535 us.
  PhaseTime t = phase_time(p, 1, l);
  CHECK(t.channels_per_peer == 8);
  CHECK(t.channel_us == Approx(3145728.0 / 240e3));
  CHECK(t.fill_us == Approx(131072.0 / 20e3));
  CHECK(t.time_us == Approx(10 + 3145728.0 / 225e3 + 131072.0 / 20e3));
  CHECK(t.bottleneck == "link");
  // 5 GB/s per channel: channel 26.214 us > link: t = 10 + 26.214 + 13.107 = 49.322 us.
  p.channel_GBps = 5;
  t = phase_time(p, 1, l);
  CHECK(t.time_us == Approx(10 + 3145728.0 / 120e3 + 131072.0 / 10e3));
  CHECK(t.bottleneck == "channel");
  // 256 KiB per peer: LL by NCCL's threshold (<= 32 x 16 KiB), 8 channels per peer: LL latency 5 + 1 us
  // x log2(8) = 8 us, + max(768 KiB / 100 GB/s = 7.864 us, 2 x link 768 KiB / 225 GB/s = 6.991 us)
  // = 15.864 us. NCCL picks it by size, even where Simple would be faster.
  p.ll_per_log2_channel_us = 1;
  l.peer_message_bytes = 262144;
  l.sent_bytes = 3 * 262144.0;
  l.link_s = l.sent_bytes / 225e9;
  t = phase_time(p, 1, l);
  CHECK(t.bottleneck == "ll-protocol");
  CHECK(t.time_us == Approx(5 + 3 + 786432.0 / 100e3));
  CHECK(t.latency_us == Approx(8));
  p.ll_latency_us = 1000;  // far slower than Simple, still LL: the threshold decides, not the time
  CHECK(phase_time(p, 1, l).time_us == Approx(1000 + 3 + 786432.0 / 100e3));
}

TEST_CASE("hierarchical: an NVLink phase then a network phase, each with its own peers") {
  Topology topo = dgx(2, 2);
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::hierarchical);
  k.dispatch.per_peer_us = 1;
  EpLinkModel model(topo, routes, 4, k);
  std::vector<double> tokens = {4, 4, 4, 4};
  auto bytes = exchange_link_bytes(model, tokens, 1e6, Exchange::dispatch);
  // Phase 1: GPU 0 moves to GPU 1 its copy for GPU 1 and its copy for GPU 3 (GPU 1 is on 3's rail):
  // 2e6 B on NVLink (225 GB/s): 8.89 us, + 10 us + 1 peer x 1 us. Phase 2: GPU 0 sends over its rail
  // the copies for GPU 2 (its own) and GPU 1's for GPU 2: 2e6 B; the PCIe links (32 GB/s) carry them:
  // 62.5 us, + 10 us + 1 peer (the other node) x 1 us.
  CHECK(bytes[static_cast<std::size_t>(nvlink_up_link(topo, 0))] == Approx(2e6));
  ExchangeCost c = exchange_cost(model, bytes, tokens, 1e6, Exchange::dispatch);
  CHECK(c.phase.time_us == Approx(11 + 2e6 / 225e9 * 1e6 + 11 + 62.5));
}

TEST_CASE("nvlink-one-sided: latency and transfer overlap as a p-norm") {
  Topology topo = dgx(1, 4);
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::nvlink_one_sided);
  k.dispatch.overlap_exponent = 2;
  EpLinkModel model(topo, routes, 4, k, ExchangeRouting{0.5, 1, 0});
  std::vector<double> tokens = {4, 4, 4, 4};
  auto bytes = exchange_link_bytes(model, tokens, 1e6, Exchange::dispatch);
  // One copy per (token, GPU): 3 peers x 1e6 x 0.5 = 1.5e6 B at 225 GB/s = 6.667 us;
  // t = sqrt(10^2 + 6.667^2) = 12.02 us.
  ExchangeCost c = exchange_cost(model, bytes, tokens, 1e6, Exchange::dispatch);
  CHECK(c.phase.time_us == Approx(std::sqrt(100.0 + std::pow(1.5e6 / 225e9 * 1e6, 2))));
}

TEST_CASE("No traffic: zero time, no busiest link, no division by zero") {
  Topology topo = dgx(2, 8);
  RouteTable routes(topo);
  EpLinkModel model(topo, routes, 16);
  std::vector<double> tokens(16, 0.0);
  auto bytes = exchange_link_bytes(model, tokens, 7168, Exchange::dispatch);
  auto cost = exchange_cost(model, bytes, tokens, 7168, Exchange::dispatch);
  CHECK(cost.busiest_link == -1);
  CHECK(cost.time_s() == 0.0);
}

TEST_CASE("Kernel names: every name round-trips, an unknown one lists the valid ones") {
  for (std::string_view n : exchange_kernel_names()) CHECK(to_string(parse_exchange_kernel(n)) == n);
  CHECK_THROWS_WITH(parse_exchange_kernel("deepep"),
                    Catch::Contains("nccl, deepep-normal, deepep-ll, nvlink-one-sided, hierarchical, hybrid-ep"));
  CHECK(default_exchange_kernel(true) == ExchangeKernelKind::deepep_ll);
  CHECK(default_exchange_kernel(false) == ExchangeKernelKind::deepep_normal);
  CHECK(kernel_sm_usage(default_kernel_params(ExchangeKernelKind::deepep_ll)).sms_in_flight == 0);
  CHECK(kernel_sm_usage(default_kernel_params(ExchangeKernelKind::deepep_normal)).sms_in_flight == 20);
}

TEST_CASE("Invalid kernel parameters are rejected naming the field") {
  Topology topo = dgx(1, 4);
  RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::nccl);
  k.combine.nvlink_efficiency = 1.5;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/nvlink_efficiency"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.dispatch.overlap_exponent = 0.5;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/dispatch/overlap_exponent"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.dispatch.p2p_channels = 2.5;  // NCCL counts whole CTAs
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/dispatch/p2p_channels"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.combine.net_channels_per_peer = 1.5;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/net_channels_per_peer"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.dispatch.p2p_chunk_bytes = 0;  // channels on without a chunk: no step to pipeline
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/dispatch/p2p_chunk_bytes"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.dispatch.channel_GBps = -1;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/dispatch/channel_GBps"));
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.combine.ll_per_log2_channel_us = -1;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/ll_per_log2_channel_us"));
  // Floors: a positive rate below 0.001 GB/s (0 = the term off) or an efficiency below 0.001 would make
  // a finite exchange take ~1e300 us; refused naming the field and the value.
  for (double tiny : {1e-300, 5e-324, 1e-4}) {
    k = default_kernel_params(ExchangeKernelKind::nccl);
    k.dispatch.channel_GBps = tiny;
    CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k),
                      Catch::Contains("/dispatch/channel_GBps") && Catch::Contains("at least 0.001 GB/s, found"));
    k = default_kernel_params(ExchangeKernelKind::nccl);
    k.combine.infiniband_efficiency = tiny;
    CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/infiniband_efficiency"));
    k = default_kernel_params(ExchangeKernelKind::deepep_normal);
    k.dispatch.sm_rate_GBps = tiny;
    CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/dispatch/sm_rate_GBps"));
  }
  k = default_kernel_params(ExchangeKernelKind::nccl);
  k.dispatch.channel_GBps = 0;  // off: no channel ceiling
  CHECK_NOTHROW(EpLinkModel(topo, routes, 4, k));
}

TEST_CASE("point-to-point transfer: busiest hop plus route latency, bad input rejected") {
  Topology topo = generate_dgx_cluster(dgx_options_for_nodes(2));
  RouteTable routes(topo);
  // GPU 0 -> GPU 1 in one node: GPU -> NVSwitch -> GPU at 450 GB/s, 2 hops x 500 ns:
  // t = 1 MiB / 450e9 + 1 us.
  CHECK(point_to_point_time_s(routes, 0, 1, 1 << 20) == Approx((1 << 20) / 450e9 + 1e-6));
  CHECK(point_to_point_time_s(routes, 3, 3, 1 << 20) == 0);
  CHECK_THROWS_AS(point_to_point_time_s(routes, 0, 16, 1), std::invalid_argument);
  CHECK_THROWS_AS(point_to_point_time_s(routes, 0, 1, -1), std::invalid_argument);
  CHECK_THROWS_AS(point_to_point_time_s(routes, 0, 1, std::nan("")), std::invalid_argument);
}

TEST_CASE("predict_exchange: the last rank's closed form, bytes through each GPU's ports, bottleneck named") {
  Topology topo = dgx(2, 2);  // as "deepep-ll on 2 nodes x 2 GPUs" above
  RouteTable routes(topo);
  ExchangeKernelParams k = round_kernel(ExchangeKernelKind::deepep_ll);
  k.dispatch.per_remote_expert_us = 0.05;
  EpLinkModel model(topo, routes, 4, k, ExchangeRouting{1, 1, 8});
  const std::vector<double> tokens = {4, 4, 4, 4};
  const ExchangePrediction p = predict_exchange(model, tokens, 1e6, 2e6);
  // Every rank alike: dispatch = 10.2 us latency (0.2 of it per message: 0.05 x 4 remote experts)
  // + 62.5 us on the PCIe link GPU -> NIC switch (2e6 B / (64 GB/s x 0.5)).
  CHECK(p.dispatch.time_us == Approx(72.7));
  CHECK(p.dispatch.phase.per_message_us == Approx(0.2));
  CHECK(p.dispatch.bottleneck == "link");
  CHECK(topo.link(p.dispatch.busiest_link).kind == LinkKind::pcie);
  CHECK(p.dispatch.busiest_link_us == Approx(62.5));
  // GPU 0 sends 1e6 B on NVLink (to GPU 1) and 2e6 B on PCIe (to GPUs 2, 3); it receives the same.
  CHECK(p.dispatch.gpu_sent_bytes_max == Approx(3e6));
  CHECK(p.dispatch.gpu_sent_bytes_mean == Approx(3e6));
  CHECK(p.dispatch.gpu_received_bytes_max == Approx(3e6));
  // Combine at 2e6 B per token: 10 us latency (no per-remote-expert term) + 4e6 / 32e9 = 125 us.
  CHECK(p.combine.time_us == Approx(135));
  CHECK(p.combine.gpu_sent_bytes_max == Approx(6e6));
  CHECK(p.rank_selections_max == 4);
  CHECK(p.rank_selections_mean == 4);
  // Tiny messages: latency bounds the time and the per-message terms are most of it.
  ExchangeKernelParams slow = k;
  slow.dispatch.per_remote_expert_us = 10;  // 4 remote experts x 10 us = 40 us of 50 us latency
  EpLinkModel m2(topo, routes, 4, slow, ExchangeRouting{1, 1, 8});
  const ExchangePrediction q = predict_exchange(m2, tokens, 100, 100);
  // 2 x 100 B on PCIe: 200 / 32e9 s = 0.00625 us; time = 50 + 0.00625 us.
  CHECK(q.dispatch.time_us == Approx(50.00625));
  CHECK(q.dispatch.bottleneck == "per-message");
  CHECK(q.combine.bottleneck == "latency");  // 10 us fixed, no per-message term in the combine
  // Nothing to send: 0 us, no last rank, no busiest link.
  const ExchangePrediction z = predict_exchange(model, {0, 0, 0, 0}, 1e6, 1e6);
  CHECK(z.dispatch.time_us == 0);
  CHECK(z.dispatch.bottleneck == "none");
  CHECK(z.dispatch.busiest_link == -1);
  CHECK_THROWS_AS(predict_exchange(model, {1, 1, 1}, 1e6, 1e6), std::invalid_argument);
  CHECK_THROWS_AS(predict_exchange(model, tokens, 0, 1e6), std::invalid_argument);
  CHECK_THROWS_AS(predict_exchange(model, {1, 1, 1, -1}, 1e6, 1e6), std::invalid_argument);
}

TEST_CASE("trace_layer_routing: selections per rank and copies per selection counted per token") {
  Topology topo = dgx(2, 2);  // GPUs 0, 1 on host 0; 2, 3 on host 1
  // 4 experts, one per GPU (contiguous).
  const LayerPlacement pl = contiguous_placement(4, 4, 1);
  TraceLayer layer;
  layer.layer = 3;
  // token 0 from rank 0: experts 0, 1 (GPUs 0, 1: host 0); token 1 from rank 2: experts 1, 3
  // (GPUs 1, 3: hosts 0, 1).
  layer.source = {0, 2};
  layer.experts = {0, 1, 1, 3};
  const TraceRouting r = trace_layer_routing(topo, pl, layer, 2, 4);
  CHECK(r.tokens == 2);
  CHECK(r.gpu_selections == std::vector<double>{1, 2, 0, 1});
  // 4 selections: 4 distinct GPUs (2 per token) -> 1; distinct hosts 1 + 2 = 3 -> 0.75.
  CHECK(r.routing.gpu_factor == Approx(1.0));
  CHECK(r.routing.node_factor == Approx(0.75));
  CHECK(r.routing.experts == 4);
  TraceLayer bad = layer;
  bad.source = {0, 4};  // rank 4 outside EP 4
  CHECK_THROWS_AS(trace_layer_routing(topo, pl, bad, 2, 4), InputError);
}

TEST_CASE("routing_statistics: with slot tokens a replica is drawn in proportion to its slot's split") {
  // 2 experts on 2 GPUs (one GPU per node), top-2 so every token selects both. Expert 0 on GPUs 0 and
  // 1 (slots 0 and 3), expert 1 on GPU 1 (slot 2; slot 1 is empty).
  const LayerPlacement pl{2, 2, {0, -1, 1, 0}};  // GPU 0: {e0, -}; GPU 1: {e1, e0}
  TokenRouter router(2, 2, 1, 1);
  // Uniform replica choice: expert 0 lands on GPU 1 half the time: distinct GPUs per token 1.5 on
  // average, so gpu_factor = 1.5 / 2 ~ 0.75 (sampled: within 0.03 over 4096 tokens).
  CHECK(routing_statistics(router, pl, 1, 4096, 1).gpu_factor == Approx(0.75).margin(0.03));
  // All of expert 0's tokens on its GPU-1 replica: every token meets one GPU: 1 / 2.
  const std::vector<double> to_gpu1 = {0, 0, 10, 10};
  CHECK(routing_statistics(router, pl, 1, 4096, 1, to_gpu1).gpu_factor == Approx(0.5));
  // All on GPU 0: two GPUs, two nodes per token: 1.
  const std::vector<double> to_gpu0 = {10, 0, 10, 0};
  const ExchangeRouting r0 = routing_statistics(router, pl, 1, 4096, 1, to_gpu0);
  CHECK(r0.gpu_factor == Approx(1.0));
  CHECK(r0.node_factor == Approx(1.0));
  CHECK_THROWS_AS(routing_statistics(router, pl, 1, 16, 1, std::vector<double>{1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(routing_statistics(router, pl, 1, 16, 1, std::vector<double>{1, 1, -1, 1}), std::invalid_argument);
}

TEST_CASE("an EP link model above the memory budget is refused before its rows are built") {
  // AWS p5, 512 nodes = 4096 GPUs (the EP cap), 4 NICs per GPU: a route spreads over the GPU's 4 NICs and
  // every spine, so one rank's rows hold ~82k link entries; 4096 ranks x 82k x 48 bytes is ~15 GiB, above
  // limits::kMaxEpLinkModelBytes (4 GiB). Before the budget it ran for minutes and past 4.6 GB of memory.
  const Topology topo = generate_dgx_cluster(aws_p5_options(512));
  const RouteTable routes(topo);
  REQUIRE(topo.num_gpus() == 4096);
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4096, default_kernel_params(ExchangeKernelKind::nccl)),
                    Catch::Contains("EP 4096 GPUs") && Catch::Contains("above epsim's 4 GiB budget"));
  // A smaller group of the same cluster fits (128 GPUs: rows of ~0.01 GiB).
  CHECK_NOTHROW(EpLinkModel(topo, routes, 128, default_kernel_params(ExchangeKernelKind::nccl)));
}
