// A kernel's one-node phases (ExchangeKernelParams::one_node): DeepEP runs its intranode kernels when
// the EP ranks share one node, so deepep-normal prices one-node exchanges with their own latency, SM
// rate, exponent and per-token copies. Which phases run (kernel_for_nodes), the hand-computed time on a
// 4-GPU node against two nodes, calibration.json's "one_node" block (round trip, defaults of omitted
// fields, refusals naming the field), the notice when a one-node topology's file sets only multi-node
// phases, and a fit that keeps each scope to its own rows.
#include <catch2/catch.hpp>

#include "comm/calibration.hpp"
#include "comm/exchange_cost.hpp"
#include "comm/kernel_fit.hpp"
#include "comm/kernel_legs.hpp"
#include "comm/link_load.hpp"
#include "common/error.hpp"
#include "one_node_topology.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {

ExchangeKernelParams normal_with_one_node_phases() {
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::deepep_normal);
  k.sms = 20;
  for (KernelPhaseParams* p : {&k.dispatch, &k.combine}) {
    p->latency_us = 20;
    p->latency_per_log2_node_us = 10;
    p->sm_rate_GBps = 5;  // multi-node phases: 5 GB/s x 20 SMs = 100 GB/s
    p->sm_exponent = 1;
    p->sm_copies_per_token = 0;
  }
  KernelPhases one{k.dispatch, k.combine};
  one.dispatch.latency_us = one.combine.latency_us = 30;
  one.dispatch.latency_per_log2_node_us = one.combine.latency_per_log2_node_us = 0;
  one.dispatch.sm_rate_GBps = one.combine.sm_rate_GBps = 10;  // one node: 10 GB/s x 20 SMs = 200 GB/s
  k.one_node = one;
  return k;
}

}  // namespace

TEST_CASE("kernel_for_nodes: one node runs the one-node phases, more nodes the others") {
  const ExchangeKernelParams k = normal_with_one_node_phases();
  const ExchangeKernelParams one = kernel_for_nodes(k, 1), two = kernel_for_nodes(k, 2);
  CHECK(one.dispatch.sm_rate_GBps == 10);
  CHECK(one.combine.latency_us == 30);
  CHECK(two.dispatch.sm_rate_GBps == 5);
  CHECK_FALSE(one.one_node.has_value());
  CHECK_FALSE(two.one_node.has_value());
  CHECK(phase_for_nodes(k, true, 1).sm_rate_GBps == 10);
  CHECK(phase_for_nodes(k, false, 3).latency_us == 20);
  // A kernel without one-node phases runs its phases everywhere.
  ExchangeKernelParams plain = k;
  plain.one_node.reset();
  CHECK(kernel_for_nodes(plain, 1).dispatch.sm_rate_GBps == 5);
  // The shipped defaults: deepep-normal has them (DeepEP's intranode kernel), Hybrid-EP and the rest not.
  CHECK(default_kernel_params(ExchangeKernelKind::deepep_normal).one_node.has_value());
  for (ExchangeKernelKind other : {ExchangeKernelKind::hybrid_ep, ExchangeKernelKind::deepep_ll, ExchangeKernelKind::nccl,
                                   ExchangeKernelKind::nvlink_one_sided, ExchangeKernelKind::hierarchical})
    CHECK_FALSE(default_kernel_params(other).one_node.has_value());
}

TEST_CASE("one-node phases: the time of an exchange on one node of 4 GPUs against 2 nodes of 2, by hand") {
  // Uniform routing, one copy per selection each way (gpu and node factors 1), top-2, 2048 selections
  // per rank, B = 1000 bytes per copy (no header for deepep-normal).
  ExchangeRouting r{1, 1, 8};
  r.top_k = 2;
  const ExchangeKernelParams k = normal_with_one_node_phases();
  const double B = 1000;
  const std::vector<double> tokens(4, 2048.0);
  {
    // One node: SM work = sent 2048 B + received 2048 B = 4096 x 1000 B at 10 GB/s x 20 SMs = 20.48 us;
    // the busiest NVLink link carries 3/4 x 2048 x 1000 B at 450 x 0.824 GB/s = 4.14 us: SM-bound.
    // t = 30 (one-node latency) + 20.48 = 50.48 us; no notify on one node.
    const Topology topo = test::one_node_of_4();
    const RouteTable routes(topo);
    const EpLinkModel m(topo, routes, 4, k, r);
    CHECK(m.phase(Exchange::dispatch).sm_rate_GBps == 10);
    const ExchangeCost c = exchange_cost(m, exchange_link_bytes(m, tokens, B, Exchange::dispatch), tokens, B, Exchange::dispatch);
    CHECK(c.phase.sm_us == Approx(4096 * B / 200e3));
    CHECK(c.time_s() * 1e6 == Approx(30 + 20.48));
    CHECK(kernel_latency_us(k, true, topo, 0, 4, 8) == Approx(30));
  }
  {
    // Two nodes of 2 GPUs: the multi-node phases, 5 GB/s x 20 SMs; latency 20 + 10 x log2(2) = 30 us,
    // notify 15 + 10 x 1 = 25 us before the dispatch (the kernel's defaults).
    DgxClusterOptions o;
    o.nodes = 2;
    o.gpus_per_node = 2;
    const Topology topo = generate_dgx_cluster(o);
    const RouteTable routes(topo);
    const EpLinkModel m(topo, routes, 4, k, r);
    CHECK(m.phase(Exchange::dispatch).sm_rate_GBps == 5);
    CHECK(kernel_latency_us(k, true, topo, 0, 4, 8) == Approx(30 + 25));
    CHECK(kernel_latency_us(k, false, topo, 0, 4, 8) == Approx(30));
  }
}

TEST_CASE("calibration.json one_node: round trip, omitted fields from the kernel's one-node defaults, refusals") {
  Calibration c;
  KernelCalibration kc{default_kernel_params(ExchangeKernelKind::deepep_normal), "test"};
  kc.params.one_node->combine.sm_rate_GBps = 41.5;
  c.exchange_kernels[ExchangeKernelKind::deepep_normal] = kc;
  const Calibration back = calibration_from_json(calibration_to_json(c), "back.json");
  const ExchangeKernelParams& b = back.exchange_kernels.at(ExchangeKernelKind::deepep_normal).params;
  REQUIRE(b.one_node.has_value());
  CHECK(b.one_node->combine.sm_rate_GBps == 41.5);
  CHECK(b.one_node->dispatch.latency_us == kc.params.one_node->dispatch.latency_us);

  // A file naming one field of one_node: the rest are the kernel's one-node defaults, not its
  // multi-node phases.
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::deepep_normal);
  const Calibration partial = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":
      {"deepep-normal":{"dispatch":{"sm_rate_GBps":7},"one_node":{"combine":{"latency_us":12}}}}})"), "p.json");
  const ExchangeKernelParams& pp = partial.exchange_kernels.at(ExchangeKernelKind::deepep_normal).params;
  CHECK(pp.dispatch.sm_rate_GBps == 7);
  CHECK(pp.one_node->combine.latency_us == 12);
  CHECK(pp.one_node->combine.sm_rate_GBps == def.one_node->combine.sm_rate_GBps);
  CHECK(pp.one_node->dispatch.sm_rate_GBps == def.one_node->dispatch.sm_rate_GBps);
  // A kernel without one-node defaults: omitted one-node fields are the file's (or default) phases.
  const Calibration nccl = calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":
      {"nccl":{"dispatch":{"latency_us":9},"one_node":{"dispatch":{"per_peer_us":0.25}}}}})"), "n.json");
  const ExchangeKernelParams& np = nccl.exchange_kernels.at(ExchangeKernelKind::nccl).params;
  CHECK(np.one_node->dispatch.latency_us == 9);
  CHECK(np.one_node->dispatch.per_peer_us == 0.25);

  auto refused = [](const char* kernel_block) {
    return calibration_from_json(
        Json::parse(std::string(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-normal":)") + kernel_block + "}}"),
        "bad.json");
  };
  CHECK_THROWS_WITH(refused(R"({"one_node":{"dispatch":{"latency_us":-1}}})"),
                    Catch::Contains("bad.json") && Catch::Contains("/exchange_kernels/deepep-normal/one_node/dispatch/latency_us"));
  CHECK_THROWS_WITH(refused(R"({"one_node":{"dispatch":{"nvlink_efficiency":1.5}}})"),
                    Catch::Contains("/one_node/dispatch/nvlink_efficiency") && Catch::Contains("efficiency in"));
  CHECK_THROWS_WITH(refused(R"({"one_node":{"both":{}}})"), Catch::Contains("bad.json") && Catch::Contains("both"));
  CHECK_THROWS_WITH(refused(R"({"one_node":{"combine":{"sm_rate":3}}})"), Catch::Contains("sm_rate"));
  CHECK_THROWS_AS(refused(R"({"one_node":[1,2]})"), InputError);
}

TEST_CASE("a one-node topology: a calibration that sets only multi-node phases gets a notice naming one_node") {
  Calibration c;
  KernelCalibration kc{default_kernel_params(ExchangeKernelKind::deepep_normal), ""};
  kc.params.dispatch.sm_rate_GBps = 30;
  c.exchange_kernels[ExchangeKernelKind::deepep_normal] = kc;
  const Topology one = test::one_node_of_4();
  const CalibratedKernel k1 = calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", one);
  CHECK_THAT(k1.notice, Catch::Contains("/exchange_kernels/deepep-normal/dispatch/sm_rate_GBps is for exchanges across "
                                        "nodes") && Catch::Contains("/exchange_kernels/deepep-normal/one_node"));
  DgxClusterOptions o;
  o.nodes = 2;
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", generate_dgx_cluster(o)).notice.empty());
  // Setting the one-node phases instead: no notice.
  kc.params.dispatch.sm_rate_GBps = default_kernel_params(ExchangeKernelKind::deepep_normal).dispatch.sm_rate_GBps;
  kc.params.one_node->dispatch.sm_rate_GBps = 30;
  c.exchange_kernels[ExchangeKernelKind::deepep_normal] = kc;
  CHECK(calibrated_kernel_params(ExchangeKernelKind::deepep_normal, &c, "c.json", one).notice.empty());
}

TEST_CASE("fit_kernel with one-node phases: one-node rows fit them, multi-node rows the others") {
  // Rows made by the model with known latencies: 35 us on one node, 60 us across 2 nodes (latency_us
  // of each scope; the per-node growth kept at the start's). Fitting latency alone from the defaults
  // recovers each in its own scope and leaves the other scope's untouched when its rows are absent.
  ExchangeKernelParams truth = default_kernel_params(ExchangeKernelKind::deepep_normal);
  truth.one_node->dispatch.latency_us = truth.one_node->combine.latency_us = 35;
  truth.dispatch.latency_us = truth.combine.latency_us = 60;
  std::vector<KernelSample> one_node_rows, two_node_rows;
  for (int nodes : {1, 2})
    for (double sel : {64.0, 1024.0, 16384.0})
      for (bool d : {true, false}) {
        KernelSample s;
        s.nodes = nodes;
        s.selections = sel;
        s.dispatch = d;
        s.bytes_per_token = d ? 7392 : 14336;
        s.sms = 24;
        s.measured_us = 1;
        (nodes == 1 ? one_node_rows : two_node_rows).push_back(s);
      }
  for (auto* rows : {&one_node_rows, &two_node_rows}) {
    const std::vector<double> t = predict_samples(truth, *rows);
    for (std::size_t i = 0; i < rows->size(); ++i) (*rows)[i].measured_us = t[i];
  }
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::deepep_normal);
  const ExchangeKernelParams f1 = fit_kernel(def, one_node_rows, {FitField::latency_us});
  CHECK(f1.one_node->dispatch.latency_us == Approx(35).epsilon(1e-3));
  CHECK(f1.one_node->combine.latency_us == Approx(35).epsilon(1e-3));
  CHECK(f1.dispatch.latency_us == def.dispatch.latency_us);  // no multi-node row: kept
  const ExchangeKernelParams f2 = fit_kernel(def, two_node_rows, {FitField::latency_us});
  CHECK(f2.dispatch.latency_us == Approx(60).epsilon(1e-3));
  CHECK(f2.one_node->dispatch.latency_us == def.one_node->dispatch.latency_us);  // no one-node row: kept
  std::vector<KernelSample> both = one_node_rows;
  both.insert(both.end(), two_node_rows.begin(), two_node_rows.end());
  const ExchangeKernelParams f3 = fit_kernel(def, both, {FitField::latency_us});
  CHECK(f3.one_node->combine.latency_us == Approx(35).epsilon(1e-3));
  CHECK(f3.combine.latency_us == Approx(60).epsilon(1e-3));
}
