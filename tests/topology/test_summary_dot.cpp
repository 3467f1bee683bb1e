// `epsim topo show` figures and the DOT writer.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "topology/generators.hpp"
#include "topology/topology_dot.hpp"
#include "topology/topology_summary.hpp"

using namespace epsim;

TEST_CASE("summary: injection, oversubscription and bisection of 2 DGX nodes", "[summary]") {
  DgxClusterOptions o;
  o.nodes = 2;
  TopologySummary s = summarize_topology(generate_dgx_cluster(o));
  CHECK(s.gpus == 16);
  CHECK(s.rails == 8);
  CHECK(s.gpu_nvlink_GBps == Approx(450.0));
  CHECK(s.gpu_network_GBps == Approx(50.0));  // 8 NICs x 50 GB/s / 8 GPUs
  CHECK(s.oversubscription == Approx(1.0));   // NIC->leaf 16 x 50 = leaf up-links 8 leaves x 8 spines x 12.5
  CHECK(s.bisection_GBps == Approx(400.0));   // min(one node's 8 x 50, 800 / 2)
  o.oversubscription = 2.0;
  TopologySummary t = summarize_topology(generate_dgx_cluster(o));
  CHECK(t.oversubscription == Approx(2.0));
  CHECK(t.bisection_GBps == Approx(200.0));  // leaf up-links 400 / 2
}

TEST_CASE("summary: rails are the NICs' rails, and NICs per GPU, on one- and multi-NIC clusters", "[summary]") {
  // DGX H100: one NIC per GPU on rail g, so 8 rails and 1 NIC per GPU.
  TopologySummary one = summarize_topology(generate_dgx_cluster(dgx_options_for_nodes(2)));
  CHECK(one.rails == 8);
  CHECK(one.nics_per_gpu == 1.0);
  // 2 NICs per GPU: NIC j of GPU g on rail 2g + j, so 8 GPUs x 2 = 16 rails (the GPUs' own rails,
  // those of their first NIC, are only 8 distinct values).
  DgxClusterOptions two = dgx_options_for_nodes(2);
  two.nics_per_gpu = 2;
  TopologySummary s2 = summarize_topology(generate_dgx_cluster(two));
  CHECK(s2.rails == 16);
  CHECK(s2.nics_per_gpu == 2.0);
  // AWS p5: 4 EFA NICs per GPU, 8 x 4 = 32 rails.
  TopologySummary p5 = summarize_topology(generate_dgx_cluster(aws_p5_options(2)));
  CHECK(p5.rails == 32);
  CHECK(p5.nics_per_gpu == 4.0);
  // DGX-1 mesh: no NIC, no rail (its GPUs carry rail indices 0..7, which are no network rails).
  TopologySummary mesh = summarize_topology(generate_dgx1_mesh());
  CHECK(mesh.rails == 0);
  CHECK(mesh.nics_per_gpu == 0.0);
}

TEST_CASE("dot: one edge per cable, every device labelled", "[dot]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology topo = generate_dgx_cluster(o);
  std::ostringstream out;
  write_topology_dot(out, topo);
  const std::string dot = out.str();
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.find("node1/gpu7") != std::string::npos);
  CHECK(dot.find("cluster_1") != std::string::npos);
  std::size_t edges = 0;
  for (std::size_t p = dot.find("->"); p != std::string::npos; p = dot.find("->", p + 2)) ++edges;
  // Per node 8 GPUs x 3 cables (NVLink, PCIe, IB) = 24; leaves x spines = 8 x 8 = 64: 2 x 24 + 64 = 112.
  CHECK(edges == static_cast<std::size_t>(topo.num_links() / 2));
  CHECK(edges == 112);
}
