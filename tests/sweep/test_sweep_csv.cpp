// CSV escaping and the fixed column order; progress text.
#include <catch2/catch.hpp>

#include "sweep/metric_catalog.hpp"
#include "sweep/progress.hpp"
#include "sweep/sweep_csv.hpp"

using namespace epsim;

TEST_CASE("CSV fields are quoted only when needed", "[sweep][csv]") {
  CHECK(csv_escape("greedy") == "greedy");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_escape("two\nlines") == "\"two\nlines\"");
  CHECK(csv_escape("").empty());
}

TEST_CASE("CSV columns: index, axes, status, reason, every metric, rows in index order", "[sweep][csv]") {
  Json manifest = {{"axes", {{{"name", "ep"}, {"values", {8, 16}}}, {{"name", "placement"}, {"values", {"greedy"}}}}},
                   {"num_points", 2}};
  std::map<std::size_t, Json> records;
  records[1] = {{"index", 1}, {"axes", {{"ep", 16}, {"placement", "greedy"}}}, {"skipped_reason", "too big, really"},
                {"metrics", Json::object()}};
  records[0] = {{"index", 0},
                {"axes", {{"ep", 8}, {"placement", "greedy"}}},
                {"skipped_reason", ""},
                {"metrics", {{"alltoall_us", 12.5}, {"busiest_link", "a->b"}, {"worst_layer", 3}}}};
  std::string csv = sweep_csv(manifest, records);
  std::string header = "index,ep,placement,status,skipped_reason";
  for (const MetricInfo& m : metric_catalog()) {
    header += ',';
    header += m.name;
  }
  REQUIRE(csv.substr(0, header.size() + 1) == header + "\n");
  std::string rows = csv.substr(header.size() + 1);
  std::size_t cols = metric_catalog().size();
  // Row 0: alltoall_us is the first metric, worst_layer the fourth, busiest_link the eighth.
  std::string row0 = "0,8,greedy,ok,,12.5,,,3,,,,a->b" + std::string(cols - 8, ',') + "\n";
  std::string row1 = "1,16,greedy,skipped,\"too big, really\"" + std::string(cols, ',') + "\n";
  CHECK(rows == row0 + row1);
  CHECK(metric_catalog()[0].name == "alltoall_us");
  CHECK(metric_catalog()[3].name == "worst_layer");
  CHECK(metric_catalog()[7].name == "busiest_link");
}

TEST_CASE("progress bar text with ETA", "[sweep][progress]") {
  SweepProgress p;
  p.total = 60;
  p.reused = 10;
  p.evaluated = 20;
  p.skipped = 2;
  p.elapsed_s = 10;
  // 30 of 60 done; 0.5 s per evaluated point x 30 remaining = 15 s.
  CHECK(progress_bar_text(p, 10) == "[#####.....] 30/60  50%  2 skipped  10.0 s  ETA 15 s");
  p.evaluated = 0;
  CHECK_THAT(progress_bar_text(p, 10), Catch::Contains("ETA ?"));
}
