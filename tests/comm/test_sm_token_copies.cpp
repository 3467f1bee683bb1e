// deepep-normal's per-token SM copies (KernelPhaseParams::sm_copies_per_token): SM work = the copies the
// routing counts (sender: one per destination node per selection's token share, receiver: one per copy)
// + sm_copies_per_token x one copy of each token the GPU originates. Hand-computed values; the field is
// range-checked and round-tripped by calibration.json; 0 (the default) changes nothing.
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

TEST_CASE("deepep-normal per-token SM copies: (copies counted + c x own tokens) / SM rate, hand-computed") {
  const Topology topo = one_node_of_4();
  const RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::deepep_normal);
  k.sms = 20;
  k.combine.sm_rate_GBps = 10;
  k.combine.sm_exponent = 1;
  ExchangeRouting r{1, 1, 8};  // one copy per selection each way (gpu and node factors 1)
  r.top_k = 2;
  const EpLinkModel model(topo, routes, 4, k, r);
  // 2048 selections per rank, top-2: 1024 tokens per rank. Per copy W = the kernel's wire bytes of B.
  const double B = 1000, W = model.wire_bytes(B);
  const ExchangeLoadSummary t = exchange_load_terms(model, 4 * 2048.0, 2048.0, B);
  CHECK(t.sm_bytes == Approx(W * (2048 + 2048)));  // sent: 2048 x node factor 1; received: 2048 x gpu factor 1
  CHECK(t.sm_token_bytes == Approx(W * 1024));      // one copy of each of the rank's 1024 tokens
  // SM time = (sm_bytes + c x sm_token_bytes) / (10 GB/s x 20 SMs): c = 0 -> 4096 W / 200e3 us.
  ExchangeLoadSummary l = t;
  CHECK(phase_time(k.combine, k.sms, l).sm_us == Approx(4096 * W / 200e3));
  k.combine.sm_copies_per_token = 2.5;
  CHECK(phase_time(k.combine, k.sms, l).sm_us == Approx((4096 + 2.5 * 1024) * W / 200e3));
  // Without a known top-k there is no per-token term.
  const EpLinkModel unknown(topo, routes, 4, k, ExchangeRouting{1, 1, 8});
  CHECK(exchange_load_terms(unknown, 4 * 2048.0, 2048.0, B).sm_token_bytes == 0);
}

TEST_CASE("sm_copies_per_token: range-checked, round-tripped, absent = the default 0") {
  const Topology topo = one_node_of_4();
  const RouteTable routes(topo);
  ExchangeKernelParams k = default_kernel_params(ExchangeKernelKind::deepep_normal);
  CHECK(k.dispatch.sm_copies_per_token == 0);
  CHECK(k.combine.sm_copies_per_token == 0);
  k.combine.sm_copies_per_token = 1001;
  CHECK_THROWS_WITH(EpLinkModel(topo, routes, 4, k), Catch::Contains("/combine/sm_copies_per_token"));
  k.combine.sm_copies_per_token = -1;
  CHECK_THROWS_AS(EpLinkModel(topo, routes, 4, k), InputError);

  Calibration c;
  KernelCalibration kc{default_kernel_params(ExchangeKernelKind::deepep_normal), "test"};
  kc.params.combine.sm_copies_per_token = 1.72;
  c.exchange_kernels[ExchangeKernelKind::deepep_normal] = kc;
  const Calibration back = calibration_from_json(calibration_to_json(c), "back.json");
  CHECK(back.exchange_kernels.at(ExchangeKernelKind::deepep_normal).params.combine.sm_copies_per_token == 1.72);
  CHECK(back.exchange_kernels.at(ExchangeKernelKind::deepep_normal).params.dispatch.sm_copies_per_token == 0);
  CHECK_THROWS_WITH(calibration_from_json(Json::parse(R"({"schema":"epsim.calibration/2","exchange_kernels":
      {"deepep-normal":{"combine":{"sm_copies_per_token":"x"}}}})"), "bad.json"),
                    Catch::Contains("bad.json") && Catch::Contains("sm_copies_per_token"));
}
