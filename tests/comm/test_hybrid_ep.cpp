// hybrid-ep (NVIDIA's Hybrid-EP, comm/kernels/hybrid_ep.cpp): deepep-normal's legs, one SM copy per
// (token, node) pair a GPU distributes, the preprocessing as a notify phase; hand-computed. And the
// forwarded kernels' rows against every leg expanded on its own (EpLinkModel keeps repeated legs).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "comm/exchange_cost.hpp"
#include "comm/exchange_prediction.hpp"
#include "comm/link_load.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "round_kernel.hpp"

using namespace epsim;

namespace {
Topology two_by_two() {
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 2;  // GPUs 0, 1 on node 0 (rails 0, 1); GPUs 2, 3 on node 1
  return generate_dgx_cluster(o);
}

// test::round_kernel with a growth of the latency per node doubling (5 us) and an SM rate (10 GB/s per SM).
ExchangeKernelParams round_kernel(ExchangeKernelKind kind) {
  ExchangeKernelParams k = test::round_kernel(kind);
  for (KernelPhaseParams* p : {&k.dispatch, &k.combine}) {
    p->latency_per_log2_node_us = 5;
    p->sm_rate_GBps = 10;
  }
  return k;
}
}  // namespace

TEST_CASE("hybrid-ep on 2 nodes x 2 GPUs: deepep-normal's link bytes, one SM copy per (token, node) pair") {
  Topology topo = two_by_two();
  RouteTable routes(topo);
  // 0.25 copies per selection reach a node over RDMA, 0.5 per selection a GPU over NVLink.
  const ExchangeRouting routing{0.5, 0.25, 8};
  EpLinkModel hybrid(topo, routes, 4, round_kernel(ExchangeKernelKind::hybrid_ep), routing);
  EpLinkModel normal(topo, routes, 4, round_kernel(ExchangeKernelKind::deepep_normal), routing);
  const double B = 1e6;
  const std::vector<double> tokens = {4, 4, 4, 4};
  for (Exchange x : {Exchange::dispatch, Exchange::combine}) {
    // The same legs: RDMA to the rail peer, then NVLink inside the node (KernelDelivery::node_forwarding).
    const auto bytes = exchange_link_bytes(hybrid, tokens, B, x);
    CHECK(bytes == exchange_link_bytes(normal, tokens, B, x));
    const ExchangeCost h = exchange_cost(hybrid, bytes, tokens, B, x);
    const ExchangeCost n = exchange_cost(normal, bytes, tokens, B, x);
    // Links (as deepep-normal's test): PCIe 0.5e6 B / (64 GB/s x 0.5) = 15.625 us bounds them.
    CHECK(h.bottleneck_s * 1e6 == Approx(15.625));
    // SM work: the busiest GPU distributes 4 received selections x 0.25 (token, node) pairs x 1e6 B
    // = 1e6 B at 10 GB/s x 10 SMs = 10 us. deepep-normal's: B x (16/4 x 0.25 sent + 4 x 0.5 forwarded)
    // = 3e6 B, 30 us.
    CHECK(h.phase.sm_us == Approx(10));
    CHECK(n.phase.sm_us == Approx(30));
    // Latency 10 + 5 x log2(2 nodes) = 15 us; time 15 + max(15.625, 10) = 30.625 us, the links bound it
    // (deepep-normal: 15 + 30 = 45 us, its SMs).
    CHECK(h.phase.latency_us == Approx(15));
    CHECK(h.phase.time_us == Approx(30.625));
    CHECK(h.phase.bottleneck == "link");
    CHECK(n.phase.time_us == Approx(45));
  }
}

TEST_CASE("hybrid-ep's preprocessing runs as a notify phase before a dispatch across nodes") {
  // Defaults (comm/kernels/hybrid_ep.cpp): deepep-normal's notify, 15 us + 10 us x log2(nodes), and
  // HybridEPBuffer's 32 SMs.
  const ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::hybrid_ep);
  CHECK(k.kind == ExchangeKernelKind::hybrid_ep);
  CHECK(k.sms == 32);
  CHECK(kernel_sm_usage(k).sms_running == 32);
  CHECK(kernel_sm_usage(k).sms_in_flight == 32);
  CHECK(notify_time_us(k, 1) == 0);
  CHECK(notify_time_us(k, 2) == Approx(25));
  CHECK(notify_time_us(k, 8) == Approx(45));
  CHECK(parse_exchange_kernel("hybrid-ep") == ExchangeKernelKind::hybrid_ep);
  CHECK(to_string(ExchangeKernelKind::hybrid_ep) == "hybrid-ep");
  // In a prediction: the dispatch's time = its closed form + the notify; the combine has none.
  Topology topo = two_by_two();
  RouteTable routes(topo);
  ExchangeKernelParams with_notify = round_kernel(ExchangeKernelKind::hybrid_ep);
  with_notify.notify_latency_us = 7;
  EpLinkModel model(topo, routes, 4, with_notify, ExchangeRouting{0.5, 0.25, 8});
  const ExchangePrediction p = predict_exchange(model, {4, 4, 4, 4}, 1e6, 1e6);
  CHECK(p.dispatch.notify_us == Approx(7));
  CHECK(p.dispatch.time_us == Approx(30.625 + 7));
  CHECK(p.combine.notify_us == 0);
  CHECK(p.combine.time_us == Approx(30.625));
}

TEST_CASE("forwarded kernels' rows equal the sum of every leg expanded on its own (legs kept per host)") {
  // EpLinkModel keeps a forwarded leg's hops per destination host (comm/link_load.cpp); the rows must be
  // what expanding every leg for every pair gives: into(d) = sum over s of route(s, p) x node_factor
  // + route(p, d) x gpu_factor (p = s's rail peer on d's host; same host: route(s, d) x gpu_factor),
  // out_of(d) the reverse legs.
  DgxClusterOptions o;
  o.nodes = 4;
  o.gpus_per_node = 4;
  const Topology topo = generate_dgx_cluster(o);
  const RouteTable routes(topo);
  const ExchangeRouting r{0.7, 0.3, 32};
  const int ep = 16;
  for (ExchangeKernelKind kind : {ExchangeKernelKind::deepep_normal, ExchangeKernelKind::hybrid_ep}) {
    const EpLinkModel model(topo, routes, ep, default_kernel_params(kind), r);
    for (int d = 0; d < ep; ++d) {
      std::vector<double> in(static_cast<std::size_t>(topo.num_links()), 0.0), out(in.size(), 0.0);
      auto add = [&](std::vector<double>& row, int a, int b, double f) {
        if (a == b) return;
        for (const RouteHop& h : routes.route(a, b)) row[static_cast<std::size_t>(h.link)] += h.fraction * f;
      };
      for (int s = 0; s < ep; ++s) {
        if (s == d) continue;
        if (topo.gpu_host(s) == topo.gpu_host(d)) {
          add(in, s, d, r.gpu_factor);
          add(out, d, s, r.gpu_factor);
          continue;
        }
        const int p = routes.rail_peer(s, topo.gpu_host(d));
        add(in, s, p, r.node_factor);
        add(in, p, d, r.gpu_factor);
        add(out, d, p, r.gpu_factor);
        add(out, p, s, r.node_factor);
      }
      auto check = [&](const LinkRow& row, const std::vector<double>& expected) {
        std::vector<double> got(expected.size(), 0.0);
        for (const auto& [l, c] : row) got[static_cast<std::size_t>(l)] = c;
        for (std::size_t l = 0; l < expected.size(); ++l) CHECK(got[l] == Approx(expected[l]).margin(1e-12));
      };
      check(model.into(d), in);
      check(model.out_of(d), out);
    }
  }
}
