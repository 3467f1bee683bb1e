// deepep-ll's issue rounds: DeepEP's low-latency dispatch runs ceil(E / ceil(E / device SMs)) CTAs for E
// expert slots (csrc/kernels/internode_ll.cu), and each CTA sends every num_sms-th token in turn, so a
// rank's tokens cost ceil(tokens / CTAs) - 1 rounds of per_token_round_us beyond the first (which is in
// the latency). Hand-computed values; the calibration file round-trips the two fields.
#include <catch2/catch.hpp>

#include "one_node_topology.hpp"
#include "comm/calibration.hpp"
#include "comm/exchange_cost.hpp"
#include "comm/link_load.hpp"
#include "common/error.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

using namespace epsim;

using test::one_node_of_4;

TEST_CASE("deepep_ll_issue_sms: DeepEP's CTA count for E expert slots on a GPU of S SMs") {
  // warp groups g = ceil(E / S), CTAs = ceil(E / g).
  CHECK(deepep_ll_issue_sms(256, 132) == 128);  // g = 2
  CHECK(deepep_ll_issue_sms(288, 132) == 96);   // g = 3 (256 + 32 redundant slots)
  CHECK(deepep_ll_issue_sms(8, 132) == 8);      // g = 1: one CTA per slot
  CHECK(deepep_ll_issue_sms(132, 132) == 132);
  CHECK(deepep_ll_issue_sms(133, 132) == 67);   // g = 2: ceil(133 / 2)
  CHECK(deepep_ll_issue_sms(288, 148) == 144);  // B200's 148 SMs: g = 2
  CHECK(deepep_ll_issue_sms(0, 132) == 0);
  CHECK(deepep_ll_issue_sms(8, 0) == 0);
}

TEST_CASE("deepep-ll issue rounds: few expert slots make the sending CTAs the bottleneck, hand-computed") {
  const Topology topo = one_node_of_4();
  const RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::deepep_ll);
  k.dispatch.latency_us = 10;
  k.dispatch.per_token_round_us = 2;
  k.header_bytes_per_token = 0;
  ExchangeRouting r{1, 1, 8};
  r.top_k = 2;  // 8 experts, top-2: 8 CTAs (device_sms 132 > 8)
  const EpLinkModel model(topo, routes, 4, k, r);
  // 1024 tokens per rank x top-2 = 2048 selections computed by every rank (uniform): each rank also
  // sends 2048 selections; 1024 tokens / 8 CTAs = 128 tokens per CTA, 127 rounds beyond the first.
  const std::vector<double> sel(4, 2048.0);
  const double B = 100;  // bytes per copy: the links are idle next to the rounds
  const auto bytes = exchange_link_bytes(model, sel, B, Exchange::dispatch);
  const ExchangeCost c = exchange_cost(model, bytes, sel, B, Exchange::dispatch);
  CHECK(c.phase.sm_us == Approx(127 * 2.0));
  CHECK(c.phase.bottleneck == "issue");
  // Latency 10 us (one node: no remote expert) then the body, overlap exponent 1: 10 + 254 us.
  CHECK(c.phase.time_us == Approx(10 + 254.0));
  // 8 tokens per rank: one token per CTA, no round beyond the first: the latency and the links only.
  const std::vector<double> few(4, 16.0);
  const ExchangeCost f = exchange_cost(model, exchange_link_bytes(model, few, B, Exchange::dispatch), few, B,
                                       Exchange::dispatch);
  CHECK(f.phase.sm_us == 0);
  // Top-k unknown (0) or another kernel: no rounds.
  CHECK(deepep_ll_issue_rounds(k, ExchangeRouting{1, 1, 8}, 2048) == 0);
  ExchangeKernelParams normal = default_kernel_params(ExchangeKernelKind::deepep_normal);
  CHECK(deepep_ll_issue_rounds(normal, r, 2048) == 0);
  // Expert slots (replicas included) rather than logical experts count CTAs: 8 experts in 16 slots.
  ExchangeRouting replicated = r;
  replicated.expert_slots = 16;
  CHECK(deepep_ll_issue_rounds(k, replicated, 2048) == 1024.0 / 16 - 1);
}

TEST_CASE("deepep-ll issue fields: validated, and round-tripped by calibration.json") {
  const Topology topo = one_node_of_4();
  const RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::deepep_ll);
  k.device_sms = -1;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/device_sms") && Catch::Contains("found -1"));
  k = default_kernel_params(ExchangeKernelKind::deepep_ll);
  k.combine.per_token_round_us = 2e6;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/per_token_round_us"));

  Calibration c;
  KernelCalibration kc{default_kernel_params(ExchangeKernelKind::deepep_ll), "test"};
  kc.params.device_sms = 148;
  kc.params.dispatch.per_token_round_us = 1.25;
  c.exchange_kernels[ExchangeKernelKind::deepep_ll] = kc;
  const Calibration back = calibration_from_json(calibration_to_json(c), "back.json");
  const ExchangeKernelParams& b = back.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params;
  CHECK(b.device_sms == 148);
  CHECK(b.dispatch.per_token_round_us == 1.25);
  CHECK(b.combine.per_token_round_us == kc.params.combine.per_token_round_us);
  // A file without the fields keeps the kernel's defaults; a negative one is refused naming it.
  const Calibration old = calibration_from_json(
      Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":{"deepep-ll":{"dispatch":{"latency_us":9}}}})"),
      "old.json");
  const ExchangeKernelParams def = default_kernel_params(ExchangeKernelKind::deepep_ll);
  CHECK(old.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params.device_sms == def.device_sms);
  CHECK(old.exchange_kernels.at(ExchangeKernelKind::deepep_ll).params.dispatch.per_token_round_us ==
        def.dispatch.per_token_round_us);
  CHECK_THROWS_WITH(calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":
      {"deepep-ll":{"device_sms":-4}}})"), "bad.json"),
                    Catch::Contains("bad.json") && Catch::Contains("device_sms"));
}
