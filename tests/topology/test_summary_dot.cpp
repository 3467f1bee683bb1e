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
