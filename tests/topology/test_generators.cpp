// Generators: DGX rail-optimized (ids kept), core tier, fat tree, NVL72 and the DGX-1 mesh.
#include <catch2/catch.hpp>

#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/validate.hpp"

using namespace epsim;

namespace {
int count_kind(const Topology& t, DeviceKind k) {
  int n = 0;
  for (const Device& d : t.devices()) n += d.kind == k;
  return n;
}
double egress(const Topology& t, int device, LinkKind kind) {
  double sum = 0;
  for (int l : t.out_links(device))
    if (t.link(l).kind == kind) sum += t.link(l).bandwidth_GBps;
  return sum;
}
}  // namespace

TEST_CASE("dgx-h100 keeps device ids and rail leaves", "[generators]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology t = generate_dgx_cluster(o);
  CHECK(t.num_gpus() == 16);
  CHECK(t.find_device("node1/gpu7"));
  CHECK(t.find_device("su0/leaf3"));
  CHECK(t.find_device("spine7"));
  CHECK(count_kind(t, DeviceKind::core) == 0);
  CHECK(validate_topology(t, "mem").empty());
}

TEST_CASE("core tier joins spine groups when leaves exceed radix / 2", "[generators]") {
  DgxClusterOptions o;
  o.nodes = 160;  // 5 SUs x 8 rails = 40 leaves > 64 / 2 = 32 leaves per spine group -> 2 groups
  o.spine_radix = 64;
  Topology t = generate_dgx_cluster(o);
  CHECK(count_kind(t, DeviceKind::core) == o.cores);
  CHECK(count_kind(t, DeviceKind::spine) == 2 * o.spines);
  CHECK(t.find_device("sg1/spine0"));
  validate_topology(t, "mem");
  // node0/gpu0 (SU 0, group 0) to node159/gpu1 (SU 4, leaf index 33, group 1) must cross a core.
  RouteTable routes(t);
  bool via_core = false;
  for (const RouteHop& h : routes.route(0, 159 * 8 + 1))
    via_core |= t.device(t.link(h.link).dst).kind == DeviceKind::core;
  CHECK(via_core);
}

TEST_CASE("fat-tree spreads a node's NICs over one leaf, not rails", "[generators]") {
  DgxClusterOptions o;
  o.nodes = 4;
  o.fabric = FabricKind::fat_tree;
  Topology t = generate_dgx_cluster(o);
  // 32 NICs over 8 leaves: 4 per leaf, node-major, so node0's 8 NICs sit on leaves 0 and 1.
  int nic = *t.find_device("node0/nic5");
  int leaf = -1;
  for (int l : t.out_links(nic))
    if (t.device(t.link(l).dst).kind == DeviceKind::leaf) leaf = t.link(l).dst;
  CHECK(t.device(leaf).id == "su0/leaf1");  // (0 x 8 + 5) / 4 = 1
  validate_topology(t, "mem");
}

TEST_CASE("nvl72: 72 GPUs per NVLink domain at 900 GB/s, one 400G NIC each", "[generators]") {
  Topology t = generate_dgx_cluster(nvl72_options(2));
  CHECK(t.num_gpus() == 144);
  CHECK(t.num_hosts() == 2);
  int g = t.gpu_device(71);
  CHECK(egress(t, g, LinkKind::nvlink) == Approx(900.0));
  CHECK(egress(t, *t.find_device("rack1/nic71"), LinkKind::infiniband) == Approx(50.0));  // 400 Gb/s / 8
  validate_topology(t, "mem");
}

TEST_CASE("dgx1-mesh: 4 neighbours, 150 GB/s egress, 12 pairs need two hops", "[generators][routing]") {
  Topology t = generate_dgx1_mesh();
  CHECK(validate_topology(t, "mem").empty());
  CHECK(count_kind(t, DeviceKind::nvswitch) == 0);
  for (int g = 0; g < 8; ++g) {
    CHECK(t.out_links(t.gpu_device(g)).size() == 4);
    CHECK(egress(t, t.gpu_device(g), LinkKind::nvlink) == Approx(150.0));  // 6 NVLink 2 links x 25 GB/s
  }
  RouteTable routes(t);
  int two_hop = 0;
  for (int a = 0; a < 8; ++a)
    for (int b = a + 1; b < 8; ++b) {
      auto r = routes.route(a, b);
      REQUIRE(!r.empty());
      // Latency counts hops: 500 ns per NVLink hop.
      if (routes.latency_ns(a, b) == Approx(1000.0)) ++two_hop;
      else CHECK(routes.latency_ns(a, b) == Approx(500.0));
    }
  CHECK(two_hop == 12);  // 28 pairs - 16 NVLink pairs
}
