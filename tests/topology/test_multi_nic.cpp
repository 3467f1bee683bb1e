// Several NICs per GPU (AWS p5: 4 x 100 Gb/s EFA per GPU): the generator's layout, the aggregation rule
// (a GPU's network bytes split evenly over its NICs, in routes and in nic_path), the imported p5 XML,
// and the rejected settings. docs/topology.md, "Several NICs per GPU".
#include <catch2/catch.hpp>

#include <string>

#include "common/error.hpp"
#include "topology/generators.hpp"
#include "topology/nccl_xml.hpp"
#include "topology/nic_path.hpp"
#include "topology/routing.hpp"
#include "topology/validate.hpp"

using namespace epsim;

namespace {
// Fraction of the pair's bytes on the link from device `a` to device `b` (0 when the route skips it).
double share(const Topology& t, const std::vector<RouteHop>& hops, const std::string& a, const std::string& b) {
  const int from = *t.find_device(a), to = *t.find_device(b);
  for (const RouteHop& h : hops)
    if (t.link(h.link).src == from && t.link(h.link).dst == to) return h.fraction;
  return 0.0;
}
// The fabric device the NIC's network link goes to.
std::string leaf_of(const Topology& t, const std::string& nic) {
  for (int l : t.out_links(*t.find_device(nic)))
    if (is_network_link(t.link(l).kind)) return t.device(t.link(l).dst).id;
  return "";
}
}  // namespace

TEST_CASE("p5 preset: 4 EFA NICs of 12.5 GB/s per GPU behind one PCIe switch, ethernet links", "[generators][multi_nic]") {
  const Topology t = generate_dgx_cluster(aws_p5_options(2));
  CHECK(t.name == "aws-p5-2node");
  CHECK(t.num_gpus() == 16);
  CHECK(validate_topology(t, "mem").empty());
  // NIC j of GPU g is nic{4g + j} on rail 4g + j; the GPU takes its first NIC's rail (4g).
  CHECK(t.device(*t.find_device("node1/nic13")).rail == 13);
  CHECK(t.device(t.gpu_device(3)).rail == 12);
  int nic_links = 0;
  for (const Link& l : t.links()) {
    CHECK(l.kind != LinkKind::infiniband);
    if (t.device(l.src).kind == DeviceKind::nic && is_network_link(l.kind)) {
      ++nic_links;
      CHECK(l.kind == LinkKind::ethernet);
      CHECK(l.bandwidth_GBps == 12.5);
    }
  }
  CHECK(nic_links == 2 * 32);
  // node0/gpu2 -> node0/pcie2 -> nic8..nic11: the switch has the GPU and its four NICs.
  CHECK(t.out_links(*t.find_device("node0/pcie2")).size() == 5);
  // Fat tree: a leaf per rail slot per SU, 2 nodes -> blocks of 2 NICs: nic5 of node 0 on leaf 2.
  CHECK(leaf_of(t, "node0/nic5") == "su0/leaf2");  // (0 x 32 + 5) / 2
}

TEST_CASE("several NICs per GPU: routes and nic_path put 1/k of a GPU's bytes on each NIC", "[routing][multi_nic]") {
  DgxClusterOptions o = dgx_options_for_nodes(2);
  o.nics_per_gpu = 4;
  o.nic_GBps = 12.5;
  const Topology t = generate_dgx_cluster(o);  // rail-optimized: nic r of every node on leaf r
  const RouteTable routes(t);
  // node0/gpu1 -> node1/gpu1 (its rail peer): GPU -> pcie1 (all bytes) -> nic4..nic7 (1/4 each) -> leaf
  // 4..7 -> the peer's nic4..7 (1/4 each) -> pcie1 -> GPU. Equal-cost next hops at the switch split evenly.
  const auto hops = routes.route(1, 9);
  CHECK(share(t, hops, "node0/gpu1", "node0/pcie1") == 1.0);
  for (int r = 4; r < 8; ++r) {
    CHECK(share(t, hops, "node0/nic" + std::to_string(r), "su0/leaf" + std::to_string(r)) == Approx(0.25));
    CHECK(share(t, hops, "su0/leaf" + std::to_string(r), "node1/nic" + std::to_string(r)) == Approx(0.25));
  }
  CHECK(share(t, hops, "node1/pcie1", "node1/gpu1") == 1.0);
  // To another rail (node1/gpu2): still 1/4 on each of the sender's NICs, through the spines.
  const auto cross = routes.route(1, 10);
  for (int r = 4; r < 8; ++r) CHECK(share(t, cross, "node0/nic" + std::to_string(r), "su0/leaf" + std::to_string(r)) == Approx(0.25));
  // nic_path (DeepEP LL with NVLink off): the GPU's own four NICs, 1/4 each; none of GPU 0's.
  const auto up = nic_path(t, 1, NicDirection::up);
  CHECK(share(t, up, "node0/gpu1", "node0/pcie1") == 1.0);
  for (int r = 4; r < 8; ++r) CHECK(share(t, up, "node0/nic" + std::to_string(r), "su0/leaf" + std::to_string(r)) == Approx(0.25));
  CHECK(share(t, up, "node0/nic0", "su0/leaf0") == 0.0);
  CHECK(up.size() == 1 + 4 + 4);  // GPU->switch, switch->NIC x 4, NIC->leaf x 4
}

TEST_CASE("imported p5 XML: 4 NICs per GPU used by routes and nic_path alike", "[nccl_xml][multi_nic]") {
  NcclImportOptions o;
  o.nodes = 2;
  o.gpu_model = "h100";
  o.default_nic_GBps = 12.5;  // the file gives no <net speed>: 100 Gb/s EFA
  o.network_kind = LinkKind::ethernet;
  const NcclImport imp = import_nccl_xml(std::string(EPSIM_SCENARIOS_DIR) + "/nccl_xml/aws_p5_48xlarge.xml", o);
  const Topology& t = imp.topology;
  REQUIRE(t.num_gpus() == 16);
  const RouteTable routes(t);
  // GPU 0 shares the PCIe switch 0000:45:00.0 with nic0..nic3 and no other GPU: all four carry 1/4.
  const auto hops = routes.route(0, 8);
  const auto up = nic_path(t, 0, NicDirection::up);
  for (int r = 0; r < 4; ++r) {
    const std::string nic = "node0/nic" + std::to_string(r), leaf = "leaf" + std::to_string(r);
    CHECK(share(t, hops, nic, leaf) == Approx(0.25));
    CHECK(share(t, up, nic, leaf) == Approx(0.25));
    for (int l : t.out_links(*t.find_device(nic)))
      if (t.device(t.link(l).dst).kind == DeviceKind::leaf) CHECK(t.link(l).kind == LinkKind::ethernet);
  }
}

TEST_CASE("nic_path keeps the rail rule for a PCIe switch two GPUs share", "[routing][multi_nic]") {
  // gpu0 (rail 0) and gpu1 (rail 1) and nic0, nic1 on one switch: each GPU takes its rail's NIC only.
  Topology t;
  t.add_host("h");
  const int g0 = t.add_device(Device{"h/gpu0", DeviceKind::gpu, 0, 0, ""});
  const int g1 = t.add_device(Device{"h/gpu1", DeviceKind::gpu, 0, 1, ""});
  const int sw = t.add_device(Device{"h/pcie", DeviceKind::pcie_switch, 0, -1, ""});
  for (int r = 0; r < 2; ++r) {
    const int nic = t.add_device(Device{"h/nic" + std::to_string(r), DeviceKind::nic, 0, r, ""});
    const int leaf = t.add_device(Device{"leaf" + std::to_string(r), DeviceKind::leaf, -1, r, ""});
    t.add_bidirectional(sw, nic, LinkKind::pcie, 64, 100);
    t.add_bidirectional(nic, leaf, LinkKind::ethernet, 50, 600);
  }
  t.add_bidirectional(g0, sw, LinkKind::pcie, 64, 100);
  t.add_bidirectional(g1, sw, LinkKind::pcie, 64, 100);
  const auto up1 = nic_path(t, 1, NicDirection::up);
  CHECK(share(t, up1, "h/nic1", "leaf1") == 1.0);
  CHECK(share(t, up1, "h/nic0", "leaf0") == 0.0);
}

TEST_CASE("rejected multi-NIC settings name the field", "[generators][multi_nic]") {
  DgxClusterOptions o = dgx_options_for_nodes(2);
  o.nics_per_gpu = 0;
  CHECK_THROWS_WITH(generate_dgx_cluster(o), Catch::Contains("nics_per_gpu must be in [1, 16], got 0"));
  o.nics_per_gpu = kMaxNicsPerGpu + 1;
  CHECK_THROWS_WITH(generate_dgx_cluster(o), Catch::Contains("got 17"));
  o.nics_per_gpu = 2;
  o.network_kind = LinkKind::nvlink;
  CHECK_THROWS_WITH(generate_dgx_cluster(o), Catch::Contains("network_kind must be infiniband or ethernet, got nvlink"));
  NcclImportOptions imp;
  imp.gpu_model = "h100";
  imp.network_kind = LinkKind::pcie;
  CHECK_THROWS_WITH(import_nccl_xml(std::string(EPSIM_SCENARIOS_DIR) + "/nccl_xml/aws_p5_48xlarge.xml", imp),
                    Catch::Contains("network_kind") && Catch::Contains("infiniband or ethernet"));
}
