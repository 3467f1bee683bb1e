// Bad input through the readers that no command exposes yet (calibration, CSV, nccl-tests tables) and
// the JSON file reader itself: each throws epsim::InputError naming the file and the field or line.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/json_input.hpp"
#include "hardening_support.hpp"
#include "comm/calibration.hpp"
#include "measurements/csv_table.hpp"
#include "measurements/nccl_tests_table.hpp"

using namespace hardening;
using Catch::Matchers::Contains;

TEST_CASE("calibration.json: bad values name the file and field") {
  std::string dir = fresh_temp_dir("hard_calibration");
  struct Case {
    const char* name;
    const char* content;
    const char* field;
  };
  const Case cases[] = {
      {"malformed.json", R"({"schema": "epsim.calibration/1", )", "not valid JSON"},
      {"no_schema.json", R"({"gpu": "H200"})", "/schema: required field is missing"},
      {"wrong_type.json", R"({"schema": "epsim.calibration/1", "overlap_slowdown": "1.2"})", "/overlap_slowdown: expected a number"},
      {"unknown.json", R"({"schema": "epsim.calibration/1", "overlap_slowdwn": 1.2})", "/overlap_slowdwn: unknown field"},
      {"unknown_link.json", R"({"schema": "epsim.calibration/1", "links": {"nvlink": {"bw": 1}}})", "/links/nvlink/bw: unknown field"},
      {"zero.json", R"({"schema": "epsim.calibration/1", "links": {"nvlink": {"bandwidth_GBps": 0}}})", "/links/nvlink/bandwidth_GBps"},
      {"huge_bw.json", R"({"schema": "epsim.calibration/1", "links": {"nvlink": {"bandwidth_GBps": 1e300}}})",
       "/links/nvlink/bandwidth_GBps: a bandwidth in [0.001, 1e6] GB/s, found 1e+300"},
      {"negative.json", R"({"schema": "epsim.calibration/1", "links": {"pcie": {"latency_ns": -1}}})", "/links/pcie/latency_ns"},
      {"not_finite.json", R"({"schema": "epsim.calibration/1", "overlap_slowdown": 1e999})",
       "/overlap_slowdown: expected a finite number"},
      {"not_finite_deep.json", R"({"schema": "epsim.calibration/1", "links": {"nvlink": {"bandwidth_GBps": 1e999}}})",
       "/links/nvlink/bandwidth_GBps: expected a finite number"},
      {"not_finite_array.json", R"({"schema": "epsim.calibration/1", "gemm_efficiency": [{"tokens_per_expert": 1,
         "efficiency": 0.5}, {"tokens_per_expert": -1e999, "efficiency": 0.5}]})",
       "/gemm_efficiency/1/tokens_per_expert: expected a finite number"},
      {"efficiency.json", R"({"schema": "epsim.calibration/1", "gemm_efficiency": [{"tokens_per_expert": 1, "efficiency": 2}]})",
       "/gemm_efficiency/0/efficiency"},
      {"order.json", R"({"schema": "epsim.calibration/1", "gemm_efficiency": [{"tokens_per_expert": 8, "efficiency": 0.5},
         {"tokens_per_expert": 8, "efficiency": 0.6}]})", "/gemm_efficiency/1/tokens_per_expert"},
      {"slowdown.json", R"({"schema": "epsim.calibration/1", "overlap_slowdown": 0.5})", "/overlap_slowdown"},
      {"gpu.json", R"({"schema": "epsim.calibration/1", "gpu": "TPUv9"})", "/gpu"},
  };
  for (const Case& c : cases) {
    std::string path = write_file(dir, c.name, c.content);
    INFO(c.name);
    CHECK_THROWS_WITH(epsim::load_calibration(path), Contains(path) && Contains(c.field));
  }
}

TEST_CASE("CSV and nccl-tests tables: bad fields name the file and line") {
  std::string dir = fresh_temp_dir("hard_tables");
  std::string nccl = write_file(dir, "nccl.txt",
                                "#  size count type redop root time algbw busbw #wrong time algbw busbw #wrong\n"
                                "   8 2 float sum -1 10.5 0.00 0.00 0 10.1 0.00 0.00 0\n"
                                "  16 4 float sum -1 ten 0.00 0.00 0 10.1 0.00 0.00 0\n");
  CHECK_THROWS_WITH(epsim::read_nccl_tests_output(nccl), Contains(nccl) && Contains("line 3, time"));
  std::string short_line = write_file(dir, "short.txt", "  8 2 float sum -1 10.5\n");
  CHECK_THROWS_WITH(epsim::read_nccl_tests_output(short_line), Contains("line 1") && Contains("13 fields"));
  std::string overflow = write_file(dir, "overflow.txt", "  8 2 float sum -1 1e999 1 1 0 1 1 1 0\n");
  CHECK_THROWS_AS(epsim::read_nccl_tests_output(overflow), epsim::InputError);
  // A time of 0 or below, or a negative bandwidth, is no measurement: refused with its line, also in
  // rows a fit would not use (a calibrate run accepted them before).
  for (const char* row : {"  8 2 float sum -1 0 1 1 0 1 1 1 0\n", "  8 2 float sum -1 -3 1 1 0 1 1 1 0\n",
                          "  8 2 float sum -1 5 -1 1 0 1 1 1 0\n"}) {
    std::string bad = write_file(dir, "nonpositive.txt", std::string("  4 1 float sum -1 5 0 0 0 5 0 0 0\n") + row);
    CHECK_THROWS_WITH(epsim::read_nccl_tests_output(bad), Contains("line 2") && Contains("a time in (0, 1e12] us"));
  }

  const std::string header =
      "Nodes,GPUs,size(MB),out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n";
  std::string ragged = write_file(dir, "ragged.csv", header + "2,16,1,1,1,1\n");
  CHECK_THROWS_WITH(epsim::read_aws_p5_csv(ragged), Contains(ragged) && Contains("line 2"));
  std::string word = write_file(dir, "word.csv", header + "2,16,big,1,1,1,1\n");
  CHECK_THROWS_WITH(epsim::read_aws_p5_csv(word), Contains("line 2, column size(MB)"));
  std::string missing = write_file(dir, "missing.csv", "Nodes,GPUs\n2,16\n");
  CHECK_THROWS_WITH(epsim::read_aws_p5_csv(missing), Contains("size(MB)"));
  // A missing column is called missing, and the header's own columns are listed (a misspelt name shows).
  CHECK_THROWS_WITH(epsim::parse_csv("Nodes,GPUs\n2,16\n", "m.csv").column("size(MB)"),
                    "m.csv: a CSV column named 'size(MB)', missing from the header (its columns: Nodes, GPUs)");
  // Counts must be whole numbers that fit an int (a cast of 1e300 to int would be undefined behaviour).
  for (const char* nodes : {"1e300", "-2", "2.5", "inf"}) {
    std::string f = write_file(dir, "count.csv", header + nodes + ",16,1,1,1,1,1\n");
    INFO(nodes);
    CHECK_THROWS_WITH(epsim::read_aws_p5_csv(f), Contains("line 2, column Nodes"));
  }
  CHECK_THROWS_WITH(epsim::parse_csv("# only a comment\n", "c.csv"), Contains("c.csv") && Contains("header"));
  // A UTF-8 byte order mark (Excel's "CSV UTF-8") is not part of the first column's name: the AWS table is
  // read as without it (before: "a header none of them has").
  std::string bom = write_file(dir, "bom_all_gather.csv", "\xEF\xBB\xBF" + header + "2,16,64,1,1,1,1\n");
  CHECK(epsim::parse_csv("\xEF\xBB\xBFNodes,GPUs\n2,16\n", "b.csv").columns.front() == "Nodes");
  REQUIRE(epsim::read_aws_p5_csv(bom).size() == 1);
  CHECK(epsim::read_aws_p5_csv(bom)[0].nodes == 2);
  // The shared field parser behind both readers: a whole finite number or nothing.
  CHECK(epsim::parse_finite_number("2.5e3") == 2500.0);
  // Hexadecimal too: stod reads "0x19" as 25 and "0x1p3" as 8, and a DeepEP table calibrated with them.
  for (const char* bad : {"", "ten", "1.5x", "1e999", "nan", "inf", " ", "0x19", "0X2", "-0x1p3"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(epsim::parse_finite_number(bad).has_value());
  }
}

TEST_CASE("the JSON file reader: missing, a folder, empty, and beyond the size limit") {
  std::string dir = fresh_temp_dir("hard_json_file");
  CHECK_THROWS_WITH(epsim::read_json_file(dir + "/none.json"), Contains("none.json") && Contains("cannot open"));
  CHECK_THROWS_AS(epsim::read_json_file(dir), epsim::InputError);
  CHECK_THROWS_WITH(epsim::read_json_file(write_file(dir, "empty.json", "")), Contains("not valid JSON"));
  // A sparse file: takes no disk space, but is larger than any input epsim reads (docs/limits.md).
  std::string big = dir + "/big.json";
  { std::ofstream(big) << "[]"; }
  std::filesystem::resize_file(big, (600ull << 20));
  CHECK_THROWS_WITH(epsim::read_json_file(big), Contains("big.json") && Contains("at most 512 MiB"));
}
