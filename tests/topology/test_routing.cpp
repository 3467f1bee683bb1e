// Routing: ECMP fractions, PXN against plain shortest paths, and the nccl-tests all-to-all figures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "topology/generators.hpp"
#include "topology/nic_path.hpp"
#include "topology/routing.hpp"

using namespace epsim;

namespace {

// Bytes on every link for a uniform all-to-all: every GPU sends S / n to each of the n GPUs
// (itself included, which costs nothing), as nccl-tests alltoall_perf does with S bytes per rank.
std::vector<double> all_to_all_bytes(const RouteTable& routes, double S) {
  const Topology& t = routes.topology();
  const int n = t.num_gpus();
  std::vector<double> bytes(static_cast<std::size_t>(t.num_links()), 0.0);
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  for (int d = 0; d < n; ++d)
    for (int s = 0; s < n; ++s) {
      hops.clear();
      routes.append_route(s, d, scratch, hops);
      for (const RouteHop& h : hops) bytes[static_cast<std::size_t>(h.link)] += S / n * h.fraction;
    }
  return bytes;
}

double sum_where(const Topology& t, const std::vector<double>& bytes, DeviceKind from, DeviceKind to) {
  double sum = 0;
  for (int l = 0; l < t.num_links(); ++l)
    if (t.device(t.link(l).src).kind == from && t.device(t.link(l).dst).kind == to) sum += bytes[static_cast<std::size_t>(l)];
  return sum;
}

// Closed-form all-to-all time: the busiest link drains at full bandwidth, t = max_l bytes / bw.
double all_to_all_time_s(const Topology& t, const std::vector<double>& bytes) {
  double worst = 0;
  for (int l = 0; l < t.num_links(); ++l) worst = std::max(worst, bytes[static_cast<std::size_t>(l)] / (t.link(l).bandwidth_GBps * 1e9));
  return worst;
}

}  // namespace

TEST_CASE("route fractions conserve bytes on every pair", "[routing]") {
  for (FabricKind fabric : {FabricKind::rail_optimized, FabricKind::fat_tree}) {
    DgxClusterOptions o;
    o.nodes = 4;
    o.fabric = fabric;
    Topology t = generate_dgx_cluster(o);
    for (RoutingPolicy policy : {RoutingPolicy::shortest, RoutingPolicy::pxn}) {
      RouteTable routes(t, {policy});
      for (int s = 0; s < t.num_gpus(); s += 3)
        for (int d = 0; d < t.num_gpus(); ++d) {
          if (s == d) continue;
          double out_of_src = 0, into_dst = 0;
          for (const RouteHop& h : routes.route(s, d)) {
            if (t.link(h.link).src == t.gpu_device(s)) out_of_src += h.fraction;
            if (t.link(h.link).dst == t.gpu_device(d)) into_dst += h.fraction;
          }
          // With PXN the first leg (src -> proxy) leaves src and the second (proxy -> dst) enters dst.
          CHECK(out_of_src == Approx(1.0));
          CHECK(into_dst == Approx(1.0));
        }
    }
  }
}

TEST_CASE("2 x 8 GPUs: 7/8 of inter-node bytes cross a spine without PXN, none with PXN", "[routing]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology t = generate_dgx_cluster(o);
  const double S = 1e9;
  // Inter-node bytes: 16 GPUs x 8 remote GPUs x S / 16 = 8 S.
  const double inter = 16 * 8 * S / 16;
  RouteTable plain(t, {RoutingPolicy::shortest});
  RouteTable pxn(t, {RoutingPolicy::pxn});
  auto b_plain = all_to_all_bytes(plain, S);
  auto b_pxn = all_to_all_bytes(pxn, S);
  // Only same-rail pairs (1 of 8 remote GPUs) stay under one leaf: 7/8 x 8 S = 7 S reach spines.
  CHECK(sum_where(t, b_plain, DeviceKind::leaf, DeviceKind::spine) == Approx(7.0 / 8.0 * inter));
  CHECK(sum_where(t, b_pxn, DeviceKind::leaf, DeviceKind::spine) == Approx(0.0).margin(1e-3));
  // Bytes entering NVLink (GPU -> NVSwitch): intra-node 16 x 7 x S / 16 = 7 S without PXN; PXN adds
  // the 7/8 of inter-node bytes that first hop to the rail peer: 7 S + 7/8 x 8 S = 14 S.
  double nv_plain = sum_where(t, b_plain, DeviceKind::gpu, DeviceKind::nvswitch);
  double nv_pxn = sum_where(t, b_pxn, DeviceKind::gpu, DeviceKind::nvswitch);
  CHECK(nv_plain == Approx(7 * S));
  CHECK(nv_pxn - nv_plain == Approx(7.0 / 8.0 * inter));
}

TEST_CASE("nccl-tests all-to-all algbw/busbw with a 50 GB/s NIC per GPU", "[routing]") {
  // Each GPU's NIC carries its inter-node share S (N - 1) / N, so t = S (N - 1) / (N x 50 GB/s) and
  //   algbw = S / t = 50 N / (N - 1);  busbw = algbw x (n - 1) / n with n = 8 N ranks.
  // N = 2: 100, 93.75; N = 4: 66.67, 64.58; N = 8: 57.14, 56.25 GB/s.
  struct Case {
    int nodes;
    double algbw, busbw;
  };
  for (Case c : {Case{2, 100.0, 93.75}, Case{4, 66.67, 64.58}, Case{8, 57.14, 56.25}}) {
    DgxClusterOptions o;
    o.nodes = c.nodes;
    o.nic_GBps = 50.0;
    Topology t = generate_dgx_cluster(o);
    RouteTable routes(t);
    const double S = 1e9;
    double time = all_to_all_time_s(t, all_to_all_bytes(routes, S));
    double algbw = S / time / 1e9;
    double busbw = algbw * (t.num_gpus() - 1) / t.num_gpus();
    CHECK(algbw == Approx(c.algbw).epsilon(1e-3));
    CHECK(busbw == Approx(c.busbw).epsilon(1e-3));
  }
}

TEST_CASE("route table memory stays per destination, not per pair", "[routing]") {
  DgxClusterOptions o;
  o.nodes = 64;
  Topology t = generate_dgx_cluster(o);
  RouteTable routes(t);
  // G x (devices per host + fabric devices) x 2 bytes = 512 x (17 + 24) x 2 plus indices; an
  // all-pairs table would hold G^2 = 262144 pairs.
  CHECK(routes.memory_bytes() < 200 * 1024);
  CHECK(routes.rail_peer(3, 5) == 5 * 8 + 3);  // rail 3 of host 5
}

TEST_CASE("hashed ECMP: one path per flow, bytes conserved, collisions on the spine up-links", "[routing]") {
  // 2 DGX nodes in one SU, 8 rails, 8 spines: the leaf of rail r carries the flows of the two rail-r GPUs
  // to the 7 other-rail GPUs of the other node, 14 flows of S / 16, and has 8 equal-cost up-links.
  // Split: 14 / 8 x S / 16 on each up-link. Hash: each (source, destination) flow takes one up-link
  // (every hop of a route has fraction 1), the bytes crossing spines are the same 7 S, and some up-link
  // carries at least 2 flows (14 flows on 8 links) while others carry fewer: the busiest is above the even
  // share.
  DgxClusterOptions o;
  o.nodes = 2;
  Topology t = generate_dgx_cluster(o);
  const double S = 1e9;
  RoutingOptions hashed;
  hashed.ecmp = EcmpMode::hash;
  RouteTable split(t), hash(t, hashed);
  for (int s = 0; s < t.num_gpus(); ++s)
    for (int d = 0; d < t.num_gpus(); ++d) {
      if (s == d) continue;
      for (const RouteHop& h : hash.route(s, d)) CHECK(h.fraction == 1.0f);
    }
  auto b_split = all_to_all_bytes(split, S), b_hash = all_to_all_bytes(hash, S);
  CHECK(sum_where(t, b_hash, DeviceKind::leaf, DeviceKind::spine) == Approx(sum_where(t, b_split, DeviceKind::leaf, DeviceKind::spine)));
  double max_split = 0, max_hash = 0;
  for (int l = 0; l < t.num_links(); ++l)
    if (t.device(t.link(l).src).kind == DeviceKind::leaf && t.device(t.link(l).dst).kind == DeviceKind::spine) {
      max_split = std::max(max_split, b_split[static_cast<std::size_t>(l)]);
      max_hash = std::max(max_hash, b_hash[static_cast<std::size_t>(l)]);
    }
  CHECK(max_split == Approx(14.0 / 8.0 * S / 16));
  CHECK(max_hash >= 2 * S / 16);  // at least two flows on one up-link (pigeonhole: 14 flows, 8 links)
  CHECK(max_hash > max_split);    // collisions
  CHECK(all_to_all_time_s(t, b_hash) >= all_to_all_time_s(t, b_split));
  // Deterministic for a seed; another seed picks other paths.
  RoutingOptions other = hashed;
  other.ecmp_seed = 2;
  CHECK(all_to_all_bytes(RouteTable(t, hashed), S) == b_hash);
  CHECK(all_to_all_bytes(RouteTable(t, other), S) != b_hash);
  CHECK(parse_ecmp_mode("hash") == EcmpMode::hash);
  CHECK_THROWS_AS(parse_ecmp_mode("random"), std::invalid_argument);
}

TEST_CASE("nic_path: a GPU's nearest NICs, its rail first, split evenly, errors name the GPU") {
  // Host with one PCIe switch under which sit GPU 0, GPU 1 and two NICs (rails 0 and 1), each NIC with
  // one link to a leaf. GPU 0 (rail 0) uses NIC 0 only; a GPU without a rail splits over both NICs.
  Topology t;
  t.add_host("h");
  const int g0 = t.add_device(Device{"h/gpu0", DeviceKind::gpu, 0, 0, ""});
  const int g1 = t.add_device(Device{"h/gpu1", DeviceKind::gpu, 0, -1, ""});
  const int sw = t.add_device(Device{"h/pcie", DeviceKind::pcie_switch, 0, -1, ""});
  const int n0 = t.add_device(Device{"h/nic0", DeviceKind::nic, 0, 0, ""});
  const int n1 = t.add_device(Device{"h/nic1", DeviceKind::nic, 0, 1, ""});
  const int leaf0 = t.add_device(Device{"leaf0", DeviceKind::leaf, -1, 0, ""});
  const int leaf1 = t.add_device(Device{"leaf1", DeviceKind::leaf, -1, 1, ""});
  const int g0_sw = t.add_bidirectional(g0, sw, LinkKind::pcie, 64, 100);
  const int g1_sw = t.add_bidirectional(g1, sw, LinkKind::pcie, 64, 100);
  const int sw_n0 = t.add_bidirectional(sw, n0, LinkKind::pcie, 64, 100);
  const int sw_n1 = t.add_bidirectional(sw, n1, LinkKind::pcie, 64, 100);
  const int n0_l = t.add_bidirectional(n0, leaf0, LinkKind::infiniband, 50, 600);
  const int n1_l = t.add_bidirectional(n1, leaf1, LinkKind::infiniband, 50, 600);
  auto fraction = [](const std::vector<RouteHop>& hops, int link) {
    for (const RouteHop& h : hops)
      if (h.link == link) return static_cast<double>(h.fraction);
    return 0.0;
  };
  const auto up0 = nic_path(t, 0, NicDirection::up);
  CHECK(up0.size() == 3);  // gpu0 -> pcie -> nic0 -> leaf0
  CHECK(fraction(up0, g0_sw) == 1.0);
  CHECK(fraction(up0, sw_n0) == 1.0);
  CHECK(fraction(up0, n0_l) == 1.0);
  const auto down1 = nic_path(t, 1, NicDirection::down);  // leaf -> nic -> pcie -> gpu1, halves
  CHECK(down1.size() == 5);
  CHECK(fraction(down1, n0_l + 1) == 0.5);
  CHECK(fraction(down1, n1_l + 1) == 0.5);
  CHECK(fraction(down1, sw_n0 + 1) == 0.5);
  CHECK(fraction(down1, sw_n1 + 1) == 0.5);
  CHECK(fraction(down1, g1_sw + 1) == 1.0);
  Topology bare;
  bare.add_host("h");
  bare.add_device(Device{"h/gpu0", DeviceKind::gpu, 0, 0, ""});
  CHECK_THROWS_WITH(nic_path(bare, 0, NicDirection::up), Catch::Contains("h/gpu0 reaches no NIC"));
}

namespace {
// Two hosts shaped like an imported cloud dump (IBM Cloud gx3d): per host a CPU, two PCIe switches
// hanging off it, each with one GPU and one NIC (rails 0 and 1); rail leaves joined by one spine. From
// gpu0 (host 0, rail 0) to the rail-1 GPU of host 1, both paths have 8 hops: own NIC -> leaf0 -> spine
// -> leaf1 -> ..., and switch -> CPU -> the other switch -> the rail-1 NIC -> leaf1 -> ... .
struct CloudDump {
  Topology t;
  std::vector<int> gpu_links_via_cpu;  // links into or out of a CPU
  int own_nic_up = -1;                 // host 0's rail-0 NIC -> leaf0
};
CloudDump cloud_dump(bool nic_on_cpu_port) {
  CloudDump c;
  Topology& t = c.t;
  const int leaf0 = [&] { t.add_host("h0"), t.add_host("h1"); return t.add_device(Device{"leaf0", DeviceKind::leaf, -1, 0, ""}); }();
  const int leaf1 = t.add_device(Device{"leaf1", DeviceKind::leaf, -1, 1, ""});
  const int spine = t.add_device(Device{"spine", DeviceKind::spine, -1, -1, ""});
  t.add_bidirectional(leaf0, spine, LinkKind::infiniband, 400, 600);
  t.add_bidirectional(leaf1, spine, LinkKind::infiniband, 400, 600);
  for (int h = 0; h < 2; ++h) {
    const int cpu = t.add_device(Device{fmt::format("h{}/cpu", h), DeviceKind::cpu, h, -1, ""});
    for (int r = 0; r < 2; ++r) {
      const int gpu = t.add_device(Device{fmt::format("h{}/gpu{}", h, r), DeviceKind::gpu, h, r, ""});
      const int sw = t.add_device(Device{fmt::format("h{}/sw{}", h, r), DeviceKind::pcie_switch, h, -1, ""});
      const int nic = t.add_device(Device{fmt::format("h{}/nic{}", h, r), DeviceKind::nic, h, r, ""});
      t.add_bidirectional(gpu, sw, LinkKind::pcie, 64, 100);
      // The dump's virtual bridge: 2.5 GT/s x1.
      t.add_bidirectional(sw, cpu, LinkKind::pcie, 0.1875, 100);
      // nic_on_cpu_port: host 0's NICs hang off the CPU, the only way out.
      const int nic_parent = nic_on_cpu_port && h == 0 ? cpu : sw;
      t.add_bidirectional(nic, nic_parent, LinkKind::pcie, 64, 100);
      const int up = t.add_bidirectional(nic, r == 0 ? leaf0 : leaf1, LinkKind::infiniband, 50, 600);
      if (h == 0 && r == 0) c.own_nic_up = up;
    }
  }
  for (int l = 0; l < t.num_links(); ++l)
    if (t.device(t.link(l).src).kind == DeviceKind::cpu || t.device(t.link(l).dst).kind == DeviceKind::cpu)
      c.gpu_links_via_cpu.push_back(l);
  return c;
}
}  // namespace

TEST_CASE("shortest routing leaves through the GPU's own NIC, not through the CPU to another rail's NIC",
          "[routing]") {
  const CloudDump c = cloud_dump(false);
  const RouteTable routes(c.t);
  // GPU ranks in insertion order: host 0 rail 0 = 0, host 0 rail 1 = 1, host 1 rail 0 = 2, rail 1 = 3.
  const std::vector<RouteHop> hops = routes.route(0, 3);
  double own_nic = 0;
  for (const RouteHop& h : hops) {
    // Counted in hops, both paths tie (8 each) and an even split put 1/2 through the CPU; a CPU
    // transit costs 1 + 16, so every byte takes the own NIC, the leaf and the spine.
    CHECK(std::find(c.gpu_links_via_cpu.begin(), c.gpu_links_via_cpu.end(), h.link) == c.gpu_links_via_cpu.end());
    if (h.link == c.own_nic_up) own_nic += h.fraction;
  }
  CHECK(own_nic == Approx(1.0));
  // Bytes conserved: the pair's 8 hops carry the whole flow each.
  double total = 0;
  for (const RouteHop& h : hops) total += h.fraction;
  CHECK(total == Approx(8.0));
  // Hashed ECMP and the table's caches take the same path.
  const RouteTable hashed(c.t, RoutingOptions{RoutingPolicy::shortest, EcmpMode::hash, 7});
  for (const RouteHop& h : hashed.route(0, 3))
    CHECK(std::find(c.gpu_links_via_cpu.begin(), c.gpu_links_via_cpu.end(), h.link) == c.gpu_links_via_cpu.end());
}

TEST_CASE("a NIC on a CPU root port is still reached through the CPU when no other path exists", "[routing]") {
  const CloudDump c = cloud_dump(true);
  const RouteTable routes(c.t);
  const std::vector<RouteHop> hops = routes.route(0, 3);
  // gpu0 -> sw0 -> CPU -> a NIC (both are on the CPU now) -> ...: the route exists and crosses the CPU.
  double via_cpu = 0, total = 0;
  for (const RouteHop& h : hops) {
    total += h.fraction;
    if (c.t.device(c.t.link(h.link).dst).kind == DeviceKind::cpu) via_cpu += h.fraction;
  }
  CHECK(via_cpu == Approx(1.0));
  CHECK(total > 0);
}
