// epsim validate's predictions: the nccl kernel's closed form applied to measured samples.
#include <catch2/catch.hpp>

#include "cuda_validate/prediction.hpp"
#include "synthetic.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using namespace epsim::validate;

TEST_CASE("Closed-form predictions of p2p and all-to-all-v samples", "[cuda_validate]") {
  Topology topo = generate_dgx_cluster(DgxClusterOptions{});
  RouteTable routes(topo);
  Measurements m = testing::synthetic_measurements({{"nvlink", 0, 1, 370.0, 2500.0}});
  std::vector<Comparison> c = compare_with_model(m, topo, routes);
  REQUIRE(c.size() == 1 + 11);
  // All-to-all: validate must use the planner's model, not a formula of its own: the same number as
  // comm/exchange_cost for the same tokens with the nccl kernel (the harness times NCCL all-to-all-v).
  // The kernel's own numbers are checked by hand in tests/comm; this checks the wiring.
  EpLinkModel links(topo, routes, 16, default_kernel_params(ExchangeKernelKind::nccl));
  const AllToAllSample& a = m.alltoall[0];
  auto bytes = exchange_link_bytes(links, a.gpu_tokens, 7168.0, Exchange::dispatch);
  CHECK(c[0].predicted_us == Approx(exchange_cost(links, bytes, a.gpu_tokens, 7168.0, Exchange::dispatch).time_s() * 1e6));
  CHECK(c[0].measured_us == 300);
  // p2p 0 -> 1 inside a node: GPU -> NVSwitch -> GPU, 450 GB/s, 2 x 500 ns.
  const Comparison& p = c[1];
  CHECK(p.predicted_us == Approx(1.0022756));  // (1e-6 + 1024 / 450e9) s
  // measured: 2500 ns + 1024 B / 370 GB/s = 2.5027676 us; error = 1.0022756 / 2.5027676 - 1.
  CHECK(p.measured_us == Approx(2.5027676));
  CHECK(p.error() == Approx(-0.5995331));
  // More GPUs measured than the topology has.
  m.num_gpus = 32;
  CHECK_THROWS_WITH(compare_with_model(m, topo, routes), Catch::Contains("/num_gpus"));
}
