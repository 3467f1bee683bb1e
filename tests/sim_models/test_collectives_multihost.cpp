// Collectives across hosts: NCCL's protocols on multi-host rings, NCCL's Tree all-reduce, and the
// pipeline fill of NVLS bounded by the message. Every expected value is NCCL's tuning model
// (src/graph/tuning.cc) worked by hand on a generated DGX H100 cluster: NVLink 450 x 0.824 = 370.8
// GB/s per GPU, one 50 GB/s NIC per GPU at 0.95 = 47.5 GB/s.
#include <catch2/catch.hpp>

#include "gpu_group.hpp"
#include "comm/collectives.hpp"
#include "topology/generators.hpp"

using namespace epsim;
using test::first_gpus;

namespace {
DgxClusterOptions hosts(int nodes, int gpus_per_node) {
  DgxClusterOptions o = dgx_options_for_nodes(nodes);
  o.gpus_per_node = gpus_per_node;
  return o;
}
}  // namespace

TEST_CASE("NCCL's Tree all-reduce across 2 hosts of 4 GPUs: latency, bandwidth, correction", "[collectives]") {
  const Topology topo = generate_dgx_cluster(hosts(2, 4));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  const auto all = first_gpus(8);
  // Ring bus bandwidth B = min(NVLink 370.8, 4 rails x 47.5 = 190) = 190 GB/s; Tree busBw = 0.92 B = 174.8.
  REQUIRE(model.ring_bus_bandwidth_GBps(all) == Approx(190.0));
  REQUIRE(model.available(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all));
  // 4 KiB, LL: baseLat 6.8 + 2 x ((4 - 1) x 0.6 + floor(log2 2) x 5.0) = 20.4 us; busBw_LL = min(174.8 /
  // 3.8, llMaxBw 39 on 2 hosts) = 39, algbw = 39 / 2 x treeCorrectionFactor[LL][log2(4096/64) = 6] 0.7
  // = 13.65 GB/s. LL128 (14 + 2 (3 x 1.25 + 8.5) = 38.5 us) and Simple (8.4 + 2 (3 x 4 + 14) = 60.4 us)
  // cost more, and so does the ring with LL (6.6 + 12 x 1.0 + 2 x 2.7 = 24.0 us + 7168 B / 39 GB/s).
  const CollectiveResult small = model.cost(CollectiveKind::all_reduce, all, 4096);
  CHECK(small.algorithm == CollectiveAlgorithm::tree);
  CHECK(small.protocol == CollectiveProtocol::ll);
  CHECK(small.time_us == Approx(20.4 + 4096 / 13.65e3));
  CHECK(model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, all, 4096).time_us ==
        Approx(24.0 + 7168 / 39e3));
  // 4 MiB on the tree: LL128, 38.5 us + S / (0.5 x 174.8 x 120/128 x factor[LL128][16] 0.8 = 65.55 GB/s);
  // Simple: 60.4 + S / (0.5 x 174.8 x factor[Simple][16] 0.7 = 61.18 GB/s).
  const double S = 4194304;
  const CollectiveResult tree = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all, S);
  CHECK(tree.protocol == CollectiveProtocol::ll128);
  CHECK(tree.time_us == Approx(38.5 + S / (0.5 * 174.8 * 120 / 128 * 0.8 * 1e3)));
  // The ring with LL128 is cheaper there: 14 + 12 x 1.9 + 2 x 4.0 + 1.75 S / (0.92 x 190) GB/s.
  const CollectiveResult best = model.cost(CollectiveKind::all_reduce, all, S);
  CHECK(best.algorithm == CollectiveAlgorithm::ring);
  CHECK(best.protocol == CollectiveProtocol::ll128);
  CHECK(best.time_us == Approx(44.8 + 1.75 * S / (0.92 * 190 * 1e3)));
  // Beyond 2^22 x 64 B = 256 MiB the factor is 1: Simple, 60.4 + S / 87.4 GB/s.
  CHECK(model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, all, 1073741824.0).time_us ==
        Approx(60.4 + 1073741824.0 / (0.5 * 174.8 * 1e3)));
}

TEST_CASE("the cost of several sizes at once is each size's own cost, the group's routes worked out once",
          "[collectives]") {
  // CollectiveModel::cost(kind, gpus, sizes) shares the group's layout and route bandwidths between the
  // sizes; element i must be the one-size cost (algorithm, protocol, time) for sizes that run the Tree
  // with LL, the ring with LL128 and the Tree with Simple (the hand-worked values of the test above).
  const Topology topo = generate_dgx_cluster(hosts(2, 4));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  const auto all = first_gpus(8);
  const std::vector<double> sizes{4096, 4194304, 1073741824.0, 0};
  for (CollectiveKind kind : {CollectiveKind::all_reduce, CollectiveKind::all_gather}) {
    const std::vector<CollectiveResult> batch = model.cost(kind, all, sizes);
    REQUIRE(batch.size() == sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const CollectiveResult one = model.cost(kind, all, sizes[i]);
      INFO(to_string(kind) << " " << sizes[i] << " B");
      CHECK(batch[i].algorithm == one.algorithm);
      CHECK(batch[i].protocol == one.protocol);
      CHECK(batch[i].time_us == one.time_us);
      CHECK(batch[i].busbw_GBps == one.busbw_GBps);
    }
  }
  CHECK(model.cost(CollectiveKind::all_reduce, all, std::vector<double>{}).empty());
  const std::vector<double> negative{1024, -1};
  CHECK_THROWS_AS(model.cost(CollectiveKind::all_reduce, all, negative), std::invalid_argument);
}

TEST_CASE("the Tree applies to all-reduce across equal hosts, and can be turned off", "[collectives]") {
  const Topology topo = generate_dgx_cluster(hosts(2, 4));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  CHECK_FALSE(model.available(CollectiveKind::all_gather, CollectiveAlgorithm::tree, first_gpus(8)));
  CHECK_FALSE(model.available(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(4)));  // one host
  const std::vector<int> unequal{0, 1, 2, 4};
  CHECK_FALSE(model.available(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, unequal));
  CHECK_THROWS_AS(model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(4), 1024),
                  std::invalid_argument);
  CollectiveParams no_tree;
  no_tree.allow_tree = false;
  const CollectiveModel ringonly(topo, routes, no_tree);
  CHECK_FALSE(ringonly.available(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(8)));
  CHECK(ringonly.cost(CollectiveKind::all_reduce, first_gpus(8), 4096).algorithm == CollectiveAlgorithm::ring);
  CHECK(to_string(CollectiveAlgorithm::tree) == "tree");
}

TEST_CASE("rings across more than 2 hosts: llMaxBw 20.4 GB/s, one host overhead per step", "[collectives]") {
  // 4 hosts x 2 GPUs: B = min(370.8, 2 x 47.5 = 95) = 95 GB/s. all_gather of 1 KiB, 7 steps, 3 across
  // the network, 896 bus bytes. LL: 6.6 + 4 x max(0.6, 1.0) + 3 x 2.7 + 896 B / min(20.4, 95 x 0.5).
  const Topology topo = generate_dgx_cluster(hosts(4, 2));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  const CollectiveResult r = model.cost(CollectiveKind::all_gather, first_gpus(8), 1024);
  CHECK(r.algorithm == CollectiveAlgorithm::ring);
  CHECK(r.protocol == CollectiveProtocol::ll);
  CHECK(r.time_us == Approx(6.6 + 4 * 1.0 + 3 * 2.7 + 896 / 20.4e3));
  // An AMD host's NCCL overhead (2 us) and caps (22.5 / 19.0 GB/s) are parameters.
  CollectiveParams amd;
  amd.network_overhead_us = 2.0;
  amd.ll_max_bus_bandwidth_4host_GBps = 19.0;
  CHECK(CollectiveModel(topo, routes, amd).cost(CollectiveKind::all_gather, first_gpus(8), 1024).time_us ==
        Approx(6.6 + 4 * 2.0 + 3 * 2.7 + 896 / 19.0e3));
  CollectiveParams bad;
  bad.ll_max_bus_bandwidth_4host_GBps = 0;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
  bad = CollectiveParams{};
  bad.network_ll128_step_latency_us = -1;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
  bad = CollectiveParams{};
  bad.network_overhead_us = -0.5;
  CHECK_THROWS_AS(CollectiveModel(topo, routes, bad), std::invalid_argument);
}

TEST_CASE("a Tree hop over EFA costs at least the network's ring step (the fitted 52 us)", "[collectives][efa]") {
  // p5, 2 hosts x 8 GPUs: B = min(370.8, 8 x 4 x 12.5 x 0.77 = 308 x EFA's Tree fraction 0.5) = 154 GB/s.
  // Tree LL, 1 KiB: 6.8 + 2 x (7 x 0.6 + 1 x max(5.0, 52)) = 119.2 us; busBw_LL = min(0.92 x 154 / 3.8,
  // 39) = 37.28, algbw = 18.64 x factor[LL][log2(1024/64) = 4] 0.9 = 16.78 GB/s.
  const Topology topo = generate_dgx_cluster(aws_p5_options(2));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes, aws_p5_efa_params());
  const CollectiveResult r = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(16), 1024);
  CHECK(r.protocol == CollectiveProtocol::ll);
  CHECK(r.time_us == Approx(119.2 + 1024 / (0.92 * 154 / 3.8 / 2 * 0.9 * 1e3)));
}

TEST_CASE("NVLS pipeline fill is bounded by the message", "[collectives]") {
  // 8 GPUs, all_reduce of 1 MiB: port bytes S x 9/8; fill = 2 stages x min(16 x 512 KiB, S) x 9/8;
  // t = 25 + (1.125 + 2.25) MiB / (370.8 x 0.85 GB/s). (A fill of 16 x 512 KiB per stage whatever the
  // size made a 1 MiB all-reduce 60 us slower than NCCL's own NVLS latency of 25 us + S / bw.)
  const Topology topo = generate_dgx_cluster(dgx_options_for_nodes(1));
  const RouteTable routes(topo);
  const CollectiveModel model(topo, routes);
  const double S = 1048576;
  CHECK(model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::nvls, first_gpus(8), S).time_us ==
        Approx(25 + 3.375 * S / (370.8 * 0.85 * 1e3)));
  // Above 8 MiB the fill is the full 16 x 512 KiB per stage.
  const double L = 64.0 * 1048576;
  CHECK(model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::nvls, first_gpus(8), L).time_us ==
        Approx(25 + (L + 2 * 8388608.0) * 9 / 8 / (370.8 * 0.85 * 1e3)));
}

TEST_CASE("calibrated step latencies replace the Tree's hops of their link kind", "[collectives][calibration]") {
  // 2 hosts x 4 GPUs, Tree LL at 4 KiB: 6.8 + 2 x (3 x NVLink hop + 1 x network hop) + 4096 / 13.65 GB/s.
  // Defaults: hops 0.6 and 5.0 (NCCL's Tree constants). A calibrated InfiniBand ll_latency_ns of 2 us and
  // an NVLink one of 0.2 us are measurements of those hops: 6.8 + 2 x (0.6 + 2) = 12.0 us. (Before, the
  // network hop took max(5.0, calibration) and the NVLink hop ignored it.)
  const Topology topo = generate_dgx_cluster(hosts(2, 4));
  const RouteTable routes(topo);
  CollectiveParams p;
  p.calibrated_links[LinkKind::infiniband].ll_latency_ns = 2000.0;
  p.calibrated_links[LinkKind::nvlink].ll_latency_ns = 200.0;
  const CollectiveModel model(topo, routes, p);
  const CollectiveResult r = model.cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(8), 4096);
  CHECK(r.protocol == CollectiveProtocol::ll);
  CHECK(r.time_us == Approx(6.8 + 2 * (3 * 0.2 + 2.0) + 4096 / 13.65e3));
  // A calibrated Simple latency (latency_ns) is the Tree's Simple hop: 8.4 + 2 x (3 x 4.0 + 7.0) + S / bw.
  CollectiveParams s;
  s.allow_ll_protocols = false;
  s.calibrated_links[LinkKind::infiniband].latency_ns = 7000.0;
  const double S = 1073741824.0;
  CHECK(CollectiveModel(topo, routes, s).cost(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, first_gpus(8), S).time_us ==
        Approx(8.4 + 2 * (3 * 4.0 + 7.0) + S / (0.5 * 174.8 * 1e3)));
}
