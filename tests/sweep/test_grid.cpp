// Grid expansion order, point contents, shards and the evaluator-independent skip reasons.
#include <catch2/catch.hpp>

#include <set>

#include "common/error.hpp"
#include "sweep/grid.hpp"
#include "sweep_test_util.hpp"

using namespace epsim;
using epsim::test::parse_spec;
using epsim::test::phi_spec_json;

TEST_CASE("points enumerate the product with the last axis (in scenario-table order) fastest", "[sweep][grid]") {
  // Table order of the axes' fields: /phase/kind, /topology/oversubscription, /parallel/ep,
  // /placement/algorithm -> index = ((phase*2 + os)*3 + ep)*2 + placement.
  SweepSpec s = parse_spec(phi_spec_json({{"placement", {"greedy", "epsim"}},
                                          {"ep", {4, 8, 16}},
                                          {"oversubscription", {1, 2}},
                                          {"phase", {"prefill", "training"}}}));
  REQUIRE(s.num_points() == 24);
  SweepPoint p0 = make_point(s, 0);
  CHECK(p0.axes == Json({{"phase", "prefill"}, {"oversubscription", 1}, {"ep", 4}, {"placement", "greedy"}}));
  SweepPoint p1 = make_point(s, 1);
  CHECK(p1.axes["placement"] == "epsim");
  CHECK(p1.axes["ep"] == 4);
  SweepPoint p2 = make_point(s, 2);
  CHECK(p2.axes["ep"] == 8);
  CHECK(p2.axes["placement"] == "greedy");
  // 17 = ((1*2 + 0)*3 + 2)*2 + 1: training, os 1, ep 16, epsim
  SweepPoint p17 = make_point(s, 17);
  CHECK(p17.axes == Json({{"phase", "training"}, {"oversubscription", 1}, {"ep", 16}, {"placement", "epsim"}}));
  // Axis values land in the scenario at their fields' pointers; the ep shorthand writes dp and ep.
  CHECK(p17.scenario["phase"]["kind"] == "training");
  CHECK(p17.scenario["parallel"]["ep"] == 16);
  CHECK(p17.scenario["parallel"]["dp"] == 16);
  CHECK(p17.scenario["placement"]["algorithm"] == "epsim");
  CHECK(p17.scenario["topology"]["oversubscription"] == 1);
  CHECK(p17.scenario["topology"]["fabric"] == "rail-optimized");  // untouched base member
  CHECK(point_axis_indices(s, 17) == std::vector<std::size_t>{1, 0, 2, 1});
  CHECK_THROWS_AS(make_point(s, 24), std::out_of_range);
  // Every point distinct.
  std::set<std::string> seen;
  for (std::size_t i = 0; i < s.num_points(); ++i) seen.insert(make_point(s, i).axes.dump());
  CHECK(seen.size() == 24);
}

TEST_CASE("an axis may be any scenario field's pointer", "[sweep][grid]") {
  SweepSpec s = parse_spec(phi_spec_json({{"/chunks", {2, 8}}, {"/topology/pcie_GBps", {32}}}));
  REQUIRE(s.num_points() == 2);
  // Table order: /topology/pcie_GBps before /chunks.
  CHECK(s.axes[0].name == "/topology/pcie_GBps");
  CHECK(make_point(s, 1).scenario["chunks"] == 8);
  CHECK(make_point(s, 1).scenario["topology"]["pcie_GBps"] == 32);
}

TEST_CASE("set overrides of an axis value are applied with it", "[sweep][grid]") {
  SweepSpec s = parse_spec(phi_spec_json({{"phase", {epsim::test::decode_value(128, 2048), "prefill"}}}));
  SweepPoint d = make_point(s, 0);
  CHECK(d.axes["phase"] == "decode");
  CHECK(d.scenario["phase"] == Json({{"kind", "decode"}, {"batch_per_gpu", 128}, {"context_length", 2048}, {"micro_batches", 2}}));
  SweepPoint p = make_point(s, 1);
  CHECK(p.scenario["phase"]["tokens_per_gpu"] == 1024);  // base value
  CHECK(p.scenario["phase"]["kind"] == "prefill");
}

TEST_CASE("the layout shorthand writes a TP x PP baseline", "[sweep][grid]") {
  SweepSpec s = parse_spec(phi_spec_json({{"layout", {"ep", "tp4xpp2"}}}));
  CHECK(make_point(s, 0).scenario["parallel"] == Json({{"dp", 8}, {"ep", 8}}));  // "ep": the base's layout
  CHECK(make_point(s, 1).scenario["parallel"] ==
        Json({{"dp", 1}, {"tp", 4}, {"pp", 2}, {"expert_tp", 4}, {"ep", 1}}));
}

TEST_CASE("shards partition the grid: every point exactly once", "[sweep][grid]") {
  for (std::size_t points : {1u, 7u, 60u, 61u}) {
    for (std::size_t n : {1u, 2u, 3u, 7u, 64u}) {
      std::vector<int> hits(points, 0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t p : shard_points(points, Shard{i, n})) {
          CHECK(Shard{i, n}.contains(p));
          ++hits[p];
        }
      for (int h : hits) CHECK(h == 1);
    }
  }
}

TEST_CASE("shard parsing: i/n", "[sweep][grid][rejections]") {
  Shard s = parse_shard("3/8");
  CHECK(s.index == 3);
  CHECK(s.count == 8);
  for (const char* bad : {"", "3", "8/8", "1/0", "-1/2", "a/b", "1/2/3", "1 /2"})
    CHECK_THROWS_AS(parse_shard(bad), UsageError);
}

TEST_CASE("structural skip reasons: GPUs and baselines", "[sweep][grid]") {
  SweepSpec s = parse_spec(phi_spec_json({{"nodes", {1, 2}}, {"layout", {"ep", "tp8xpp2"}}, {"ep", {8, 16}}}));
  // Table order: /topology/nodes, /parallel/ep, then layout (after the ep axis, which it overrides):
  // index = (nodes*2 + ep)*2 + layout
  auto skip = [&](std::size_t i) { return structural_skip_reason(s, make_point(s, i)); };
  CHECK(skip(0).empty());                                                         // 1 node, ep 8
  CHECK_THAT(skip(1), Catch::Contains("compared at EP 16 only"));                 // tp8xpp2 at ep 8
  CHECK_THAT(skip(2), Catch::Contains("EP 16 needs more GPUs than 1 nodes x 8"));  // 1 node, ep 16
  CHECK_THAT(skip(3), Catch::Contains("baseline tp8xpp2 needs more GPUs"));       // 1 node, tp8xpp2 at ep 16
  CHECK(skip(4).empty());  // 2 nodes, ep 8
  CHECK(skip(6).empty());  // 2 nodes, ep 16
  CHECK(skip(7).empty());  // 2 nodes, tp8xpp2 at ep 16
}
