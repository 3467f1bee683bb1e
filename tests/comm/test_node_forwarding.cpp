// DeepEP-style node forwarding: one copy per destination node over the rail, NVLink fan-out there.
#include <catch2/catch.hpp>

#include <vector>

#include "topology/generators.hpp"
#include "comm/node_forwarding.hpp"

using namespace epsim;

TEST_CASE("a token with 8 experts on 4 nodes leaves its node 3 times with forwarding, 6 without", "[forwarding]") {
  DgxClusterOptions o;
  o.nodes = 4;
  Topology t = generate_dgx_cluster(o);
  RouteTable routes(t);
  RouteScratch scratch;
  const double bytes = 14336;  // hidden 7168 x 2 bytes (BF16)
  const int src = 0;           // node0/gpu0
  // 2 experts on each of 4 nodes: its own (GPUs 1, 2) and nodes 1..3 (local GPUs 3 and 5).
  std::vector<int> dst = {1, 2, 8 + 3, 8 + 5, 16 + 3, 16 + 5, 24 + 3, 24 + 5};
  std::vector<double> fwd(static_cast<std::size_t>(t.num_links()), 0.0), direct = fwd;
  add_token_link_bytes(routes, src, dst, bytes, TokenDelivery::node_forwarding, scratch, fwd);
  add_token_link_bytes(routes, src, dst, bytes, TokenDelivery::per_gpu, scratch, direct);
  // Forwarding: one copy per remote node = 3 x 14336; per GPU: 6 remote GPUs = 6 x 14336.
  CHECK(bytes_leaving_host(t, 0, fwd) == Approx(3 * bytes));
  CHECK(bytes_leaving_host(t, 0, direct) == Approx(6 * bytes));
  // The copy reaches rail peer node1/gpu0 and fans out over NVLink to gpu3 and gpu5.
  CHECK(routes.rail_peer(src, 1) == 8);
  int nvswitch = *t.find_device("node1/nvswitch");
  double fanout = 0;
  for (int l : t.out_links(nvswitch)) fanout += fwd[static_cast<std::size_t>(l)];
  CHECK(fanout == Approx(2 * bytes));
}
