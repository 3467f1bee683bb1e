// `epsim calibrate`'s refusals of measured tables (comm/table_calibration.hpp, comm/table_samples.cpp,
// measurements/comm_tables.hpp): files it cannot read, impossible rows, row caps, contradictions; each
// error names the file and the line, column or field.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "comm/calibration.hpp"
#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "common/limits.hpp"
#include "measurements/comm_tables.hpp"
#include "table_test_support.hpp"

using namespace epsim;
using test::add_error;
using test::kData;
using test::temp_file;

namespace {
// The AIConfigurator DeepEP LL header (tests/data/comm/aic_h100_deepep_ll.csv).
const std::string kAicLlHeader =
    "framework,version,device,op_name,node_num,kernel_source,hidden_size,num_token,num_topk,num_experts,"
    "combine_avg_t_us,combine_bandwidth_gbps,dispatch_avg_t_us,dispatch_bandwidth_gbps\n";
}  // namespace

TEST_CASE("measured files epsim cannot calibrate from are rejected naming the file and field", "[comm][calibration]") {
  // A CSV that is no known table.
  const std::string odd = temp_file("odd.csv", "a,b\n1,2\n");
  CHECK_THAT(add_error(odd), Catch::Contains(odd) && Catch::Contains("a measured table epsim calibrates from"));
  // An AIConfigurator LL table with a non-numeric time: file, line and column.
  const std::string bad = temp_file(
      "bad_ll.csv",
      kAicLlHeader +
      "sglang,0.5.0,NVIDIA H100,ll,1,deepep,7168,1,8,256,fast,1.9,16.28,0.73\n");
  CHECK_THAT(add_error(bad), Catch::Contains(bad) && Catch::Contains("line 2") && Catch::Contains("combine_avg_t_us"));
  // A known header over a row of the wrong width: the line and the width, not "a header none of them has".
  const std::string narrow = temp_file(
      "narrow_ll.csv",
      kAicLlHeader +
      "sglang,0.5.0,NVIDIA H100,ll,1,deepep,7168,1,8,256,12.1,1.9,16.28,0.73\n"
      "sglang,0.5.0,NVIDIA H100,ll,1,deepep,7168\n");
  CHECK_THAT(add_error(narrow), Catch::Contains(narrow) && Catch::Contains("line 3") &&
                               Catch::Contains("14 comma-separated fields as in the header, found 7"));
  // nccl-tests output that names no test and has no rank lines: the file and what is missing.
  const std::string anon = temp_file(
      "anon.txt", "#  size count type redop root time algbw busbw #wrong time algbw busbw #wrong\n"
                  "  1024 256 float sum -1 10.0 0.10 0.10 0 10.0 0.10 0.10 0\n");
  CHECK_THAT(add_error(anon), Catch::Contains(anon) && Catch::Contains("names its test"));
  // A file of another GPU than the files before it: both files and devices.
  const std::string h200 = temp_file(
      "h200_ll.csv",
      kAicLlHeader +
      "sglang,0.5.0,NVIDIA H200,ll,1,deepep,7168,1,8,256,12.1,1.9,16.28,0.73\n");
  TableSamples s;
  add_table(s, kData + "aic_h100_deepep_ll.csv", CommTableKind::aic_deepep_ll);
  CHECK_THROWS_WITH(add_table(s, h200, CommTableKind::aic_deepep_ll),
                    Catch::Contains(h200) && Catch::Contains("H200") &&
                        Catch::Contains("aic_h100_deepep_ll.csv"));
}

TEST_CASE("nccl-tests rows that stop before bandwidth dominates are refused, not fitted", "[comm][calibration]") {
  // The 16-rank exact table is t = 30 us + bus bytes / 400 GB/s. Cut after 64 KiB, its largest row spends
  // 122880 B / 400 GB/s = 0.3 us of 30.3 in the bandwidth term: the slope is not identified (a fit wrote
  // 1.7 GB/s per GPU from such a file). calibrate refuses it naming the file and the cause.
  std::ifstream in(kData + "nccl_all_reduce_16gpu_exact.txt");
  std::string text, line;
  while (std::getline(in, line) && line.rfind('#', 0) == 0) text += line + "\n";  // its header lines
  for (double size : {1024.0, 4096.0, 16384.0, 65536.0}) {
    const double t = 30 + 1.875 * size / 400e3, algbw = size / t / 1e3;
    text += fmt::format("{:.0f} {:.0f} float sum -1 {:.3f} {:.4f} {:.4f} 0 {:.3f} {:.4f} {:.4f} 0\n", size, size / 4, t,
                        algbw, 1.875 * algbw, t, algbw, 1.875 * algbw);
  }
  const std::string cut = temp_file("nccl_cut.txt", text);
  TableSamples s;
  add_table(s, cut, detect_comm_table(cut));
  Calibration c;
  CHECK_THROWS_WITH(fit_tables(s, c), Catch::Contains(cut) && Catch::Contains("bandwidth is not identified"));
}

TEST_CASE("measured collective files: impossible rows and contradicting rank lines are refused naming the line",
          "[comm][calibration][rejections]") {
  const std::string head = "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n";
  // Line 3 of each: too many GPUs to route (refused before any routing), no algbw, an algbw above any
  // link (its time 1e-290 us is no measurement), an algbw so small the time exceeds 1e12 us.
  for (const auto& [row, expect] : std::vector<std::pair<std::string, std::string>>{
           {"100000,800000,64,1,false,10,10,10,10", "at most 16384 GPUs"},
           {"2,16,64,1,false,0,0,0,0", "algbw in (0, 1e6] GB/s"},
           {"2,16,64,1,false,1e300,1e300,1,1", "algbw in (0, 1e6] GB/s"},
           {"2,16,64,1,false,1e-300,1e-300,1,1", "(0, 1e12] us"}}) {
    const std::string f = temp_file("aws_all_gather_bad.csv", head + "2,16,64,1,false,100,90,100,90\n" + row + "\n");
    CHECK_THAT(add_error(f), Catch::Contains(f) && Catch::Contains("line 3") && Catch::Contains(expect));
  }
  // nccl-tests text (the 8-rank exact all_reduce file, lines 6-13 its rank lines): a rank listed twice
  // (rank 7's line repeated after it, line 14); only ranks 0 and 1 listed, which contradicts the data
  // (busbw / algbw 1.75 = 2(8-1)/8 for all_reduce; 2 ranks give 1.0).
  std::ifstream src(kData + "nccl_all_reduce_8gpu_exact.txt");
  std::vector<std::string> lines;
  for (std::string l; std::getline(src, l);) lines.push_back(l);
  REQUIRE(lines.size() > 13);
  REQUIRE(lines[12].find("Rank  7") != std::string::npos);
  std::string twice_text, two_ranks_text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    twice_text += lines[i] + "\n";
    if (i == 12) twice_text += lines[i] + "\n";
    if (i < 7 || i > 12) two_ranks_text += lines[i] + "\n";
  }
  const std::string twice = temp_file("all_reduce_twice.txt", twice_text);
  CHECK_THAT(add_error(twice), Catch::Contains(twice) && Catch::Contains("line 14") && Catch::Contains("rank 7 is listed again"));
  const std::string contradict = temp_file("all_reduce_contradict.txt", two_ranks_text);
  CHECK_THAT(add_error(contradict), Catch::Contains(contradict) && Catch::Contains("2 rank lines give busbw / algbw = 1.000") &&
                                        Catch::Contains("1.750"));
  // AIConfigurator nccl_perf: a latency of 1e300 ms is no measurement.
  std::ifstream in(kData + "aic_h100_nccl_collectives.csv");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t first_row_end = text.find('\n', text.find('\n', text.find("op_name")) + 1);
  const std::size_t last_comma = text.rfind(',', first_row_end);
  text.replace(last_comma + 1, first_row_end - last_comma - 1, "1e300");
  const std::string aic = temp_file("aic_nccl_perf_huge.csv", text);
  CHECK_THAT(add_error(aic), Catch::Contains(aic) && Catch::Contains("column latency") && Catch::Contains("[1e-09, 1e12]"));
  // AIConfigurator DeepEP normal and LL (measurements/deepep_tables.cpp): a 1e300 us transmit time was
  // accepted and pulled the fitted dispatch latency from 26.9 to 48.6 us; a notify time may be 0.
  for (const auto& [name, column] : std::vector<std::pair<std::string, std::string>>{
           {"aic_h100_deepep_normal.csv", "dispatch_transmit_us"}, {"aic_h100_deepep_ll.csv", "combine_avg_t_us"}}) {
    std::ifstream f(kData + name);
    std::vector<std::string> lines;
    for (std::string l; std::getline(f, l);) lines.push_back(l);
    // The header is the first line that is no '#' comment; its first data row gets 1e300 in `column`.
    std::size_t h = 0;
    while (h < lines.size() && lines[h].rfind("#", 0) == 0) ++h;
    REQUIRE(h + 1 < lines.size());
    auto split = [](const std::string& line) {
      std::vector<std::string> out;
      std::stringstream in(line);
      for (std::string field; std::getline(in, field, ',');) out.push_back(field);
      return out;
    };
    const std::vector<std::string> header = split(lines[h]);
    std::vector<std::string> row = split(lines[h + 1]);
    const auto col = std::find(header.begin(), header.end(), column);
    REQUIRE(col != header.end());
    row[static_cast<std::size_t>(col - header.begin())] = "1e300";
    lines[h + 1] = fmt::format("{}", fmt::join(row, ","));
    std::string edited;
    for (const std::string& l : lines) edited += l + "\n";
    const std::string bad = temp_file("huge_" + name, edited);
    const std::string line = fmt::format("line {}, column ", h + 2);
    INFO(name);
    CHECK_THAT(add_error(bad), Catch::Contains(bad) && Catch::Contains(line + column) &&
                                   Catch::Contains("a measured value in [1e-09, 1e12], found 1e+300"));
  }
}

TEST_CASE("calibrate refuses more rows than limits::kMaxCalibrationCollectiveRows, naming the file that crossed",
          "[comm][calibration][rejections]") {
  // 4096 AWS csv rows are accepted (sizes 1..4096 MB at 2 nodes); one more, in a second file, is refused
  // naming that file (a network fit prices every row at each step: 10,500 rows took 22 s).
  const std::string head = "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n";
  std::string rows;
  for (int mb = 1; mb <= limits::kMaxCalibrationCollectiveRows; ++mb) rows += fmt::format("2,16,{},1,false,100,90,100,90\n", mb);
  const std::string full = temp_file("aws_all_gather_full.csv", head + rows);
  const std::string one_more = temp_file("aws_all_gather_one_more.csv", head + "4,32,64,1,false,100,90,100,90\n");
  TableSamples s;
  s.network_kind = LinkKind::ethernet;
  REQUIRE_NOTHROW(add_table(s, full, CommTableKind::nccl_tests_aws_csv));
  CHECK_THROWS_WITH(add_table(s, one_more, CommTableKind::nccl_tests_aws_csv),
                    Catch::Contains(one_more) && Catch::Contains("at most 4096 collective rows") &&
                        Catch::Contains("hold 4097"));
}

TEST_CASE("measured tables: a file name with two collectives, a device column with two GPUs", "[comm][calibration][rejections]") {
  // An AWS csv whose name names two collectives is refused (it was fitted as the first one found).
  const std::string head = "Nodes,GPUs,size(MB),iterations,blocking,out algbw(GB/s),out busbw(GB/s),in algbw(GB/s),in busbw(GB/s)\n";
  const std::string two = temp_file("aws_all_reduce_all_gather.csv", head + "2,16,64,1,false,100,90,100,90\n");
  CHECK_THAT(add_error(two), Catch::Contains(two) && Catch::Contains("names all_reduce and all_gather"));
  // An AIConfigurator table whose device column changes (row 2 of the data, file line 4) is refused.
  std::ifstream in(kData + "aic_h100_nccl_collectives.csv");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines[3].find("NVIDIA H100 80GB HBM3") != std::string::npos);
  lines[3].replace(lines[3].find("NVIDIA H100 80GB HBM3"), 21, "NVIDIA H200");
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  const std::string mixed = temp_file("aic_mixed_devices.csv", text);
  CHECK_THAT(add_error(mixed), Catch::Contains(mixed) && Catch::Contains("line 4, column device") &&
                                   Catch::Contains("found NVIDIA H200"));
}

TEST_CASE("one-sided payload table: bad rows and missing columns are refused naming the file, line and column",
          "[comm][calibration][rejections]") {
  const std::string header =
      "recipe,bytes_per_token,byte_ratio_vs_bf16,dispatch_latency_us,dispatch_logical_bw_GBps,speedup_vs_bf16,"
      "batch_size,ep_size_inferred_from_bf16_row\n";
  const std::string ok = "BF16,14336,1.00,311.8,753.3,1.00,2048,8\n";
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"pq_fraction.csv", header + "FP4,0.5,1,100,1,1,2048,8\n",
       {"line 2, column bytes_per_token", "at least 1 byte per token, found 0.5"}},
      {"pq_zero_time.csv", header + "BF16,14336,1.00,0,753.3,1.00,2048,8\n", {"line 2, column dispatch_latency_us"}},
      {"pq_repeat.csv", header + ok + ok, {"line 3, column recipe", "one row per recipe; 'BF16' is also on line 2"}},
      {"pq_empty_recipe.csv", header + ",14336,1.00,311.8,753.3,1.00,2048,8\n", {"line 2, column recipe"}},
      {"pq_zero_ep.csv", header + "BF16,14336,1.00,311.8,753.3,1.00,2048,0\n",
       {"line 2, column ep_size_inferred_from_bf16_row", "a whole number in [2, 576], found 0"}},
      // One GPU sends nothing over NVLink; past NVL576 a one-node link model of EP^2 rows is no NVLink domain.
      {"pq_one_ep.csv", header + "BF16,14336,1.00,311.8,753.3,1.00,2048,1\n", {"a whole number in [2, 576], found 1"}},
      {"pq_huge_ep.csv", header + "BF16,14336,1.00,311.8,753.3,1.00,2048,4096\n",
       {"line 2, column ep_size_inferred_from_bf16_row", "a whole number in [2, 576], found 4096"}},
      {"pq_huge_batch.csv", header + "BF16,14336,1.00,311.8,753.3,1.00,1e12,8\n",
       {"line 2, column batch_size", "a whole number in [1, 1000000000], found 1000000000000"}},
      // Both EP columns: two answers to one question.
      {"pq_two_ep.csv", "recipe,bytes_per_token,dispatch_latency_us,batch_size,ep_size,ep_size_inferred_from_bf16_row\n"
                        "BF16,14336,311.8,2048,16,8\n",
       {"one EP column, ep_size or ep_size_inferred_from_bf16_row; the header has both"}},
      {"pq_no_ep.csv", "recipe,bytes_per_token,dispatch_latency_us,batch_size\nBF16,14336,311.8,2048\n",
       {"an EP column, ep_size or ep_size_inferred_from_bf16_row; the header has neither"}},
  };
  for (const Case& c : cases) {
    const std::string path = temp_file(c.name, c.text);
    REQUIRE(detect_comm_table(path) == CommTableKind::onesided_payload);
    const std::string e = add_error(path);
    INFO(e);
    CHECK_THAT(e, Catch::Contains(path));
    for (const std::string& m : c.message) CHECK_THAT(e, Catch::Contains(m));
  }
  // A column named twice (any CSV table; the header is read before the kind is known): a reader would
  // take the first.
  const std::string dup = temp_file("pq_dup_column.csv", "recipe,bytes_per_token,bytes_per_token,dispatch_latency_us,"
                                                         "batch_size,ep_size\nBF16,14336,1,311.8,2048,8\n");
  CHECK_THROWS_WITH(detect_comm_table(dup), Catch::Contains(dup + ": line 1: a header naming each column once; "
                                                                  "'bytes_per_token' is column 2 and column 3"));
  // A table that states its EP as ep_size reads it from there.
  const std::string stated = temp_file("pq_stated.csv", "recipe,bytes_per_token,dispatch_latency_us,batch_size,ep_size\n"
                                                        "BF16,14336,311.8,2048,16\n");
  const auto rows = read_onesided_payload_table(stated);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].ep == 16);
}


TEST_CASE("GPU counts, SM counts and bandwidths of the DeepEP-family tables are range-checked at the field",
          "[comm][calibration][rejections]") {
  // One rule for every reader (measurements/comm_tables.hpp): GPUs whole in [.., 1024] (DeepEP and
  // Hybrid-EP EP sizes multiples of 8 from 8), SMs in [1, 1024], bandwidths in [1e-3, 1e5] GB/s. Before,
  // a Hybrid-EP row of 1e9 ranks overflowed the expert count ("-589934592 experts") with no file named,
  // 65536 ranks ran a minute, 12 ranks was refused without the file or column, and 1e11 GB/s was fitted.
  const std::string hep = "ranks,sm_count,torchapi_dispatch_fp8_GBps,torchapi_dispatch_bf16_GBps,torchapi_combine_GBps,"
                          "kernelonly_dispatch_fp8_GBps,kernelonly_dispatch_bf16_GBps,kernelonly_combine_GBps\n";
  const std::string pr521 = "backend,type,ep_size,dispatch_bottleneck_bw_GBps,dispatch_bw_link,combine_bottleneck_bw_GBps,"
                            "combine_bw_link\n";
  const std::string v2 = "arch,nic_type,topo,dispatch_bottleneck_bw_GBps,dispatch_bw_link,combine_bottleneck_bw_GBps,"
                         "combine_bw_link,num_sms,num_sms_note\n";
  struct Case {
    const char* name;
    std::string text;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"hep_12.csv", hep + "12,4,1,1,1,34,44,52\n", {"line 2, column ranks", "a multiple of 8 GPUs, found 12"}},
      {"hep_4.csv", hep + "4,4,1,1,1,34,44,52\n", {"line 2, column ranks", "a whole number in [8, 1024], found 4"}},
      {"hep_1e9.csv", hep + "1e9,4,1,1,1,34,44,52\n", {"line 2, column ranks", "a whole number in [8, 1024], found 1000000000"}},
      {"hep_2048.csv", hep + "2048,4,1,1,1,34,44,52\n", {"line 2, column ranks", "found 2048"}},
      {"hep_sms.csv", hep + "16,1000000,1,1,1,34,44,52\n", {"line 2, column sm_count", "a whole number in [1, 1024]"}},
      {"hep_bw.csv", hep + "16,4,1,1,1,1e11,44,52\n",
       {"line 2, column kernelonly_dispatch_fp8_GBps", "a bandwidth in [0.001, 100000] GB/s, found 100000000000"}},
      {"pr521_ep.csv", pr521 + "NVSHMEM,normal,100000,50,RDMA,50,RDMA\n", {"line 2, column ep_size", "[8, 1024]"}},
      {"pr521_bw.csv", pr521 + "NVSHMEM,normal,16,1e9,RDMA,50,RDMA\n",
       {"line 2, column dispatch_bottleneck_bw_GBps", "a bandwidth in [0.001, 100000] GB/s"}},
      {"v2_topo.csv", v2 + "SM90,CX7,EP 8 x 4096,90,RDMA,81,RDMA,12,\n", {"line 2, column topo", "at most 1024 GPUs, found 8 x 4096"}},
      {"v2_sms.csv", v2 + "SM90,CX7,EP 8 x 2,90,RDMA,81,RDMA,5000,\n", {"line 2, column num_sms", "[1, 1024]"}},
  };
  for (const Case& c : cases) {
    const std::string path = temp_file(c.name, c.text);
    const std::string e = add_error(path);
    INFO(e);
    CHECK_THAT(e, Catch::Contains(path));
    for (const std::string& m : c.message) CHECK_THAT(e, Catch::Contains(m));
  }
}
