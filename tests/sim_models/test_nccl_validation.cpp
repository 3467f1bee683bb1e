// Validation of the collective model against published nccl-tests results (docs/validation.md).
// Out-of-place columns are compared (in-place differs by < 1% at these sizes). Tolerances: one DGX H100
// within 10%, two nodes over InfiniBand within 20%, for messages of 64 MiB and up. The AWS p5 (EFA)
// tables are reported without a tolerance (see docs/validation.md).
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "comm/collectives.hpp"
#include "measurements/nccl_tests_table.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {
const std::string kDir = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/nccl_tests/";
constexpr double kMinBytes = 64.0 * 1048576;

struct Cluster {
  Topology topo;
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<CollectiveModel> model;
  std::vector<int> gpus;
  explicit Cluster(int nodes) : topo(generate_dgx_cluster(dgx_options_for_nodes(nodes))) {
    routes = std::make_unique<RouteTable>(topo);
    model = std::make_unique<CollectiveModel>(topo, *routes);
    gpus.resize(static_cast<std::size_t>(topo.num_gpus()));
    std::iota(gpus.begin(), gpus.end(), 0);
  }
};

struct Agreement {
  double worst_abs = 0;   // max |predicted / measured - 1|
  double most_below = 0;  // min (predicted / measured - 1): negative when the model is slower than measured
  operator double() const { return worst_abs; }
};

// Print a markdown table of predicted vs measured busbw and return the worst |error| and the most negative
// error (fractions).
Agreement compare(const std::string& title, Cluster& c, CollectiveKind kind, const std::vector<NcclTestsRow>& rows) {
  std::cout << "\n" << title << "\n\n| size (MiB) | algorithm | predicted busbw (GB/s) | measured busbw (GB/s) | error |\n"
            << "|---:|---|---:|---:|---:|\n";
  Agreement a;
  for (const auto& r : rows) {
    if (r.bytes < kMinBytes) continue;
    CollectiveResult p = c.model->cost(kind, c.gpus, r.bytes);
    double err = (p.busbw_GBps - r.busbw_GBps) / r.busbw_GBps;
    a.worst_abs = std::max(a.worst_abs, std::abs(err));
    a.most_below = std::min(a.most_below, err);
    std::cout << fmt::format("| {:.0f} | {} | {:.1f} | {:.1f} | {:+.1f}% |\n", r.bytes / 1048576, to_string(p.algorithm),
                             p.busbw_GBps, r.busbw_GBps, 100 * err);
  }
  return a;
}
}  // namespace

TEST_CASE("all_reduce on one DGX H100 within 10% from 64 MiB", "[validation]") {
  Cluster c(1);
  auto rows = read_nccl_tests_output(kDir + "dgx_h100_all_reduce_1node.txt");
  REQUIRE(rows.size() == 32);  // 8 B .. 16 GiB
  CHECK(compare("dgx_h100_all_reduce_1node.txt (8 GPUs)", c, CollectiveKind::all_reduce, rows) <= 0.10);
}

TEST_CASE("all_reduce on two DGX H100 over InfiniBand within 20% from 64 MiB", "[validation]") {
  Cluster c(2);
  auto rows = read_nccl_tests_output(kDir + "h100_all_reduce_2node_ib.txt");
  REQUIRE(rows.size() == 31);  // 8 B .. 8 GiB
  CHECK(compare("h100_all_reduce_2node_ib.txt (16 GPUs)", c, CollectiveKind::all_reduce, rows) <= 0.20);
}

TEST_CASE("AWS p5 (EFA) all_reduce and all_gather: reported, no tolerance", "[validation]") {
  for (auto [file, kind] : {std::pair{"aws_p5_all_reduce_2to32nodes.csv", CollectiveKind::all_reduce},
                            std::pair{"aws_p5_all_gather_2to32nodes.csv", CollectiveKind::all_gather}}) {
    auto rows = read_aws_p5_csv(kDir + file);
    REQUIRE_FALSE(rows.empty());
    std::map<int, std::vector<NcclTestsRow>> by_nodes;
    for (const auto& r : rows) by_nodes[r.nodes].push_back(r);
    for (auto& [nodes, rs] : by_nodes) {
      Cluster c(nodes);  // p5: 4 x 100G EFA per GPU = 50 GB/s, the generator's default NIC rate
      Agreement a = compare(fmt::format("{} ({} nodes)", file, nodes), c, kind, rs);
      // What docs/validation.md states about these tables, checked so that a change to the model shows:
      // the ideal non-blocking InfiniBand model is never slower than EFA by more than 5% (busbw at most 5%
      // below measured; today's minimum is +9.3%), and at most 3x too fast (today's worst is +180%).
      CHECK(a.most_below >= -0.05);
      CHECK(a.worst_abs <= 2.0);
    }
  }
}
