#include "measurements/nccl_tests_table.hpp"

#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <vector>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "common/input_file.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {
namespace {

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

double to_number(const std::string& s, const std::string& file, int line, const char* what) {
  if (auto v = parse_finite_number(s)) return *v;
  throw InputError(file, fmt::format("line {}, {}", line, what), fmt::format("a number, found '{}'", s));
}

// A node or GPU count: a whole number in [0, 2^24] (a cast of any other double to int is undefined).
int count_field(const CsvTable& t, std::size_t r, std::size_t c) {
  double v = t.number(r, c);
  if (!(v >= 0 && v <= 16777216.0 && v == std::floor(v)))
    throw InputError(t.file, fmt::format("line {}, column {}", t.line_numbers.at(r), t.columns.at(c)),
                     fmt::format("a whole count in [0, 16777216], found {}", v));
  return static_cast<int>(v);
}

}  // namespace

std::vector<NcclTestsRow> read_nccl_tests_output(const std::filesystem::path& path, NcclTestsColumns columns) {
  std::istringstream in(read_input_file(path));
  std::vector<NcclTestsRow> rows;
  std::string line;
  int line_no = 0;
  const std::size_t base = columns == NcclTestsColumns::out_of_place ? 5 : 9;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty() || f[0][0] == '#' || !is_integer(f[0])) continue;
    if (f.size() < 13)
      throw InputError(path.string(), fmt::format("line {}", line_no), "13 fields of an nccl-tests data line");
    NcclTestsRow r;
    r.bytes = to_number(f[0], path.string(), line_no, "size");
    r.time_us = to_number(f[base], path.string(), line_no, "time");
    r.algbw_GBps = to_number(f[base + 1], path.string(), line_no, "algbw");
    r.busbw_GBps = to_number(f[base + 2], path.string(), line_no, "busbw");
    // A measured row has a time and bandwidths > 0 (nccl-tests prints 0.00 GB/s only when rounding a
    // small bandwidth; its time is never 0): a row that says otherwise is no measurement.
    if (!(r.time_us > 0) || r.algbw_GBps < 0 || r.busbw_GBps < 0 || r.time_us > 1e12)
      throw InputError(path.string(), fmt::format("line {}", line_no),
                       fmt::format("a time in (0, 1e12] us and bandwidths >= 0, found {:g} us, {:g} and {:g} GB/s",
                                   r.time_us, r.algbw_GBps, r.busbw_GBps));
    rows.push_back(r);
  }
  return rows;
}

NcclTestsRun read_nccl_tests_run(const std::filesystem::path& path) {
  const std::string content = read_input_file(path);
  NcclTestsRun run;
  auto op_in = [](const std::string& s) -> std::string {
    for (const char* op : {"all_reduce", "all_gather", "reduce_scatter", "alltoall", "sendrecv", "broadcast", "reduce",
                           "gather", "scatter", "hypercube"}) {
      const std::string w = std::string(op) + "_perf";
      if (s.find(w) != std::string::npos) return op;
    }
    return "";
  };
  run.op = op_in(content);
  if (run.op.empty()) run.op = op_in(path.filename().string());
  std::istringstream in(content);
  std::set<std::string> hosts, rank_ids;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    // "#" "Rank" N "Group" G "Pid" P "on" HOST "device" D [BUS] NAME...
    if (w.size() >= 9 && w[0] == "#" && w[1] == "Rank" && w[7] == "on") {
      if (!rank_ids.insert(w[2]).second)
        throw InputError(path.string(), fmt::format("line {}", line_no),
                         fmt::format("each rank listed once; rank {} is listed again", w[2]));
      if (++run.ranks > limits::kMaxRoutedGpus)
        throw InputError(path.string(), fmt::format("line {}", line_no),
                         fmt::format("at most {} ranks (the GPUs a route table serves)", limits::kMaxRoutedGpus));
      hosts.insert(w[8]);
      if (run.device.empty() && w.size() > 12) {
        std::size_t first = w[11].front() == '[' ? 12 : 11;
        for (std::size_t i = first; i < w.size(); ++i) run.device += (i > first ? " " : "") + w[i];
      }
    }
  }
  run.nodes = static_cast<int>(hosts.size());
  return run;
}

std::vector<NcclTestsRow> read_aws_p5_csv(const std::filesystem::path& path, NcclTestsColumns columns) {
  CsvTable t = read_csv_file(path);
  const bool out = columns == NcclTestsColumns::out_of_place;
  std::size_t c_nodes = t.column("Nodes"), c_gpus = t.column("GPUs"), c_size = t.column("size(MB)");
  std::size_t c_alg = t.column(out ? "out algbw(GB/s)" : "in algbw(GB/s)");
  std::size_t c_bus = t.column(out ? "out busbw(GB/s)" : "in busbw(GB/s)");
  std::vector<NcclTestsRow> rows;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    NcclTestsRow row;
    row.nodes = count_field(t, r, c_nodes);
    row.gpus = count_field(t, r, c_gpus);
    row.bytes = t.number(r, c_size) * 1048576.0;
    row.algbw_GBps = t.number(r, c_alg);
    row.busbw_GBps = t.number(r, c_bus);
    row.time_us = row.algbw_GBps > 0 ? row.bytes / (row.algbw_GBps * 1e9) * 1e6 : 0.0;
    // A measured row: hosts and ranks a route table serves (common/limits.hpp), ranks a multiple of the
    // hosts, a size in (0, 1e12] B and a time in (0, 1e12] us as for nccl-tests' text, bandwidths in
    // [0, 1e6] GB/s (algbw > 0).
    const std::string at = fmt::format("line {}", t.line_numbers.at(r));
    if (row.nodes < 1 || row.gpus < 1 || row.gpus > limits::kMaxRoutedGpus || row.gpus % row.nodes != 0)
      throw InputError(t.file, at,
                       fmt::format("Nodes >= 1 and GPUs a multiple of Nodes, at most {} GPUs; found Nodes {}, GPUs {}",
                                   limits::kMaxRoutedGpus, row.nodes, row.gpus));
    if (!(row.bytes > 0 && row.bytes <= 1e12) || !(row.algbw_GBps > 0 && row.algbw_GBps <= 1e6) ||
        !(row.time_us > 0 && row.time_us <= 1e12) || !(row.busbw_GBps >= 0 && row.busbw_GBps <= 1e6))
      throw InputError(t.file, at,
                       fmt::format("a size in (0, 1e12] B, algbw in (0, 1e6] GB/s with size / algbw in (0, 1e12] us "
                                   "and busbw in [0, 1e6] GB/s; "
                                   "found {:g} MiB, algbw {:g} GB/s, busbw {:g} GB/s",
                                   row.bytes / 1048576.0, row.algbw_GBps, row.busbw_GBps));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace epsim
