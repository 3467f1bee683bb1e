// nccl-tests text outputs as users have them (measurements/nccl_tests_table.hpp): rows of size 0, a
// failed correctness check, two runs pasted into one file, uneven hosts, a launcher's per-line tags, the
// layout before nccl-tests 2.11, a multi-node sendrecv. Each either reads
// as the same run would without the quirk, or is refused naming the file and line.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "measurements/nccl_tests_table.hpp"
#include "table_test_support.hpp"

using namespace epsim;
using test::add_error;
using test::kData;
using test::temp_file;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

// The exact 8-rank all_reduce file's lines (t = 14 us + 2(n-1)/n x size / 100 GB/s), its first data
// row's index.
struct Exact {
  std::vector<std::string> lines = lines_of(kData + "nccl_all_reduce_8gpu_exact.txt");
  std::size_t first_row() const {
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (!lines[i].empty() && lines[i].find("1000000 ") != std::string::npos && lines[i][0] != '#') return i;
    return lines.size();
  }
};

}  // namespace

TEST_CASE("nccl-tests rows of size 0 are skipped: the same rows as without them") {
  Exact e;
  const std::size_t r = e.first_row();
  REQUIRE(r < e.lines.size());
  std::vector<std::string> with_zero = e.lines;
  with_zero.insert(with_zero.begin() + static_cast<std::ptrdiff_t>(r),
                   "           0             0     float     sum      -1     0.27    0.00    0.00      0     0.20    0.00    0.00      0");
  const std::string f = temp_file("zero_all_reduce_perf.txt", joined(with_zero));
  const std::vector<NcclTestsRow> a = read_nccl_tests_output(f), b = read_nccl_tests_output(kData + "nccl_all_reduce_8gpu_exact.txt");
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].time_us == b[i].time_us);
  CHECK(add_error(f) == "no error");
  // An alltoall with a size-0 row: calibrate's samples never see it (it crashed the kernel fit before).
  std::vector<std::string> a2a = lines_of(kData + "nccl_alltoall_2x4gpu.txt");
  for (std::size_t i = 0; i < a2a.size(); ++i)
    if (!a2a[i].empty() && a2a[i][0] != '#' && a2a[i].find("1048576") != std::string::npos) {
      a2a.insert(a2a.begin() + static_cast<std::ptrdiff_t>(i),
                 "           0             0     float    none      -1     0.27    0.00    0.00      0     0.20    0.00    0.00    N/A");
      break;
    }
  CHECK(add_error(temp_file("zero_alltoall_perf.txt", joined(a2a))) == "no error");
}

TEST_CASE("nccl-tests rows its check found wrong, and a FAILED run, are refused naming the line") {
  Exact e;
  const std::size_t r = e.first_row();
  std::vector<std::string> wrong = e.lines;
  // The second data row's out-of-place #wrong (field 9) becomes 123.
  std::string& row = wrong[r + 1];
  const std::size_t at = row.find("92.59      0 ");
  REQUIRE(at != std::string::npos);
  row.replace(at + 5, 7, "    123");
  const std::string f = temp_file("wrong_all_reduce_perf.txt", joined(wrong));
  CHECK_THAT(add_error(f), Catch::Contains(f) && Catch::Contains(fmt::format("line {}, #wrong", r + 2)) &&
                               Catch::Contains("found 123 wrong"));
  // N/A (no check, -c 0) is read.
  std::vector<std::string> unchecked = e.lines;
  for (std::size_t i = r; i < unchecked.size(); ++i)
    for (std::size_t p; (p = unchecked[i].rfind("      0")) != std::string::npos && p + 7 == unchecked[i].size();)
      unchecked[i].replace(p, 7, "    N/A");
  CHECK(add_error(temp_file("unchecked_all_reduce_perf.txt", joined(unchecked))) == "no error");
  std::vector<std::string> failed = e.lines;
  failed.push_back("# Out of bounds values : 3 FAILED");
  const std::string g = temp_file("failed_all_reduce_perf.txt", joined(failed));
  CHECK_THAT(add_error(g), Catch::Contains(g) && Catch::Contains(fmt::format("line {}", failed.size())) &&
                               Catch::Contains("FAILED its check"));
}

TEST_CASE("two runs in one file and uneven hosts are refused, a launcher's tags and the pre-2.11 layout are read") {
  Exact e;
  const std::size_t r = e.first_row();
  REQUIRE(r < e.lines.size());
  // A row of a 16-rank run (busbw / algbw 1.875) under the 8 rank lines (1.75).
  std::vector<std::string> mixed = e.lines;
  mixed.insert(mixed.begin() + static_cast<std::ptrdiff_t>(r + 1),
               "     5000000       1250000     float     sum      -1   100.00   50.00   93.75      0   100.00   50.00   93.75      0");
  const std::string m = temp_file("mixed_all_reduce_perf.txt", joined(mixed));
  CHECK_THAT(add_error(m), Catch::Contains(m) && Catch::Contains(fmt::format("line {}", r + 2)) &&
                               Catch::Contains("rows of one run of 8 ranks") && Catch::Contains("1.875"));
  // Ranks 4-7 on another host: 4 + 4 is even; ranks 6-7 alone: 6 and 2.
  std::vector<std::string> uneven = e.lines;
  for (std::size_t i = 0; i < uneven.size(); ++i)
    if (uneven[i].find("Rank  6") != std::string::npos || uneven[i].find("Rank  7") != std::string::npos)
      uneven[i].replace(uneven[i].find("nodeA"), 5, "nodeB");
  const std::string u = temp_file("uneven_all_reduce_perf.txt", joined(uneven));
  CHECK_THAT(add_error(u), Catch::Contains(u) && Catch::Contains("the same number of ranks on every host") &&
                               Catch::Contains("6 on one host and 2 on another"));
  // srun -l: "0: " before every line. Read as the file without it.
  std::vector<std::string> tagged = e.lines;
  for (std::string& l : tagged) l = "0: " + l;
  const std::string t = temp_file("tagged_all_reduce_perf.txt", joined(tagged));
  const NcclTestsRun run = read_nccl_tests_run(t);
  CHECK(run.ranks == 8);
  CHECK(run.device == "NVIDIA H100 80GB HBM3");
  CHECK(read_nccl_tests_output(t).size() == read_nccl_tests_output(kData + "nccl_all_reduce_8gpu_exact.txt").size());
  // Before nccl-tests 2.11: no "Group" in the rank lines, no root column, an error value for #wrong.
  const std::string old = temp_file("old_all_reduce_perf.txt",
                                    "# nThread 1 nGpus 1 minBytes 8 maxBytes 134217728 step: 2(factor) warmup iters: 5\n"
                                    "#   Rank  0 Pid  12978 on    nodeA device  0 [0x45] NVIDIA H100 80GB HBM3\n"
                                    "#   Rank  1 Pid  12979 on    nodeA device  1 [0xc4] NVIDIA H100 80GB HBM3\n"
                                    "#       size         count    type   redop     time   algbw   busbw  error     time   algbw   busbw  error\n"
                                    "     1000000        250000   float     sum    20.00   50.00   50.00  0e+00    20.00   50.00   50.00  0e+00\n"
                                    "    10000000       2500000   float     sum   110.00   90.91   90.91  0e+00   110.00   90.91   90.91  0e+00\n");
  const NcclTestsRun o = read_nccl_tests_run(old);
  CHECK(o.ranks == 2);
  CHECK(o.nodes == 1);
  CHECK(o.device == "NVIDIA H100 80GB HBM3");
  const std::vector<NcclTestsRow> orows = read_nccl_tests_output(old);
  REQUIRE(orows.size() == 2);
  CHECK(orows[1].time_us == 110.0);
  CHECK(orows[1].busbw_GBps == 90.91);
  // Another field count is refused naming it.
  const std::string cut = temp_file("cut_all_reduce_perf.txt", "#  Rank  0 Group  0 Pid 1 on a device 0 [0] NVIDIA H100\n"
                                                               "     1000000        250000   float     sum    20.00   50.00\n");
  CHECK_THROWS_WITH(read_nccl_tests_output(cut), Catch::Contains(cut) && Catch::Contains("line 2") &&
                                                     Catch::Contains("found 6 fields"));
}

TEST_CASE("a multi-node sendrecv gives the NIC's figure per GPU whatever the ranks per host") {
  // sendrecv: rank r sends to r + 1; across 2 hosts the crossing pairs each run over one GPU's NIC, so
  // the per-GPU figure is the pair's bandwidth as measured (t = 5 us + size / 40 GB/s), not divided by
  // the GPUs of a host (16 ranks on 2 hosts read 5 GB/s before).
  for (int ranks : {2, 16}) {
    std::string text = "# sendrecv_perf\n#  size count type redop root time algbw busbw #wrong time algbw busbw #wrong\n";
    for (int k = 0; k < ranks; ++k)
      text += fmt::format("#  Rank {:2d} Group  0 Pid {} on node{} device {} [0] NVIDIA H100 80GB HBM3\n", k, 100 + k,
                          k < ranks / 2 ? "A" : "B", k % (ranks / 2));
    for (double size : {1e6, 1e7, 1e8, 1e9}) {
      const double us = 5 + size / 40e3;
      const double bw = size / us / 1e3;
      text += fmt::format("{:12.0f} {:12.0f} float sum -1 {:.2f} {:.2f} {:.2f} 0 {:.2f} {:.2f} {:.2f} 0\n", size, size / 4,
                          us, bw, bw, us, bw, bw);
    }
    const std::string f = temp_file(fmt::format("sr{}_sendrecv_perf.txt", ranks), text);
    TableSamples s;
    add_table(s, f, detect_comm_table(f));
    Calibration c;
    const TableFit fit = fit_tables(s, c);
    INFO(ranks << " ranks");
    REQUIRE(c.links.count(LinkKind::infiniband) == 1);
    CHECK(*c.links.at(LinkKind::infiniband).bandwidth_GBps == Approx(40).epsilon(0.01));
  }
}
