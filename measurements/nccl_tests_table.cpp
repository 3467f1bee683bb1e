#include "measurements/nccl_tests_table.hpp"

#include <cctype>
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
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
    throw InputError(t.file, t.where(r, c),
                     fmt::format("a whole count in [0, 16777216], found {}", v));
  return static_cast<int>(v);
}

// A launcher's per-line tag: "0:" (srun -l), "[1,0]<stdout>:" (Open MPI --tag-output).
bool is_launcher_tag(const std::string& w) {
  if (w.size() < 2 || w.back() != ':') return false;
  if (w.front() == '[') return w.find("]<std") != std::string::npos;
  return is_integer(w.substr(0, w.size() - 1));
}

}  // namespace

std::vector<std::string> nccl_tests_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  if (!w.empty() && is_launcher_tag(w.front())) w.erase(w.begin());
  return w;
}

std::vector<NcclTestsRow> read_nccl_tests_output(const std::filesystem::path& path, NcclTestsColumns columns) {
  std::istringstream in(read_input_file(path));
  std::vector<NcclTestsRow> rows;
  std::string line;
  int line_no = 0;
  const bool out_of_place = columns == NcclTestsColumns::out_of_place;
  while (std::getline(in, line)) {
    ++line_no;
    const std::vector<std::string> f = nccl_tests_words(line);
    // nccl-tests' check failed: "# Out of bounds values : 3 FAILED" closes a run whose results were wrong.
    if (line.find("Out of bounds values") != std::string::npos && line.find("FAILED") != std::string::npos)
      throw InputError(path.string(), fmt::format("line {}", line_no),
                       "a run whose results nccl-tests checked as right (\"Out of bounds values : 0 OK\"); this run "
                       "FAILED its check, so its times are no measurement");
    if (f.empty() || f[0][0] == '#' || !is_integer(f[0])) continue;
    // nccl-tests 2.11 on: size count type redop root, then time algbw busbw #wrong out of place and in
    // place (13 fields); before, no root column and a max error in place of #wrong (12 fields).
    const bool with_root = f.size() >= 13;
    if (!with_root && f.size() != 12)
      throw InputError(path.string(), fmt::format("line {}", line_no),
                       fmt::format("an nccl-tests data line of 13 fields (size count type redop root, then time algbw "
                                   "busbw #wrong out of place and in place) or 12 (nccl-tests before 2.11: no root "
                                   "column, an error column for #wrong); found {} fields",
                                   f.size()));
    const std::size_t base = (with_root ? 5 : 4) + (out_of_place ? 0 : 4);
    NcclTestsRow r;
    r.line = line_no;
    r.bytes = to_number(f[0], path.string(), line_no, "size");
    // A size of 0 (nccl-tests prints it when -b is below ranks x the type's size) moves no byte: no
    // measurement of a bandwidth or of a latency the sizes above would not give better.
    if (r.bytes == 0) continue;
    r.time_us = to_number(f[base], path.string(), line_no, "time");
    r.algbw_GBps = to_number(f[base + 1], path.string(), line_no, "algbw");
    r.busbw_GBps = to_number(f[base + 2], path.string(), line_no, "busbw");
    // #wrong (nccl-tests -c 1): the values the check found wrong; N/A when the run did not check.
    if (with_root) {
      const std::optional<double> wrong = parse_finite_number(f[base + 3]);
      if (wrong && *wrong > 0)
        throw InputError(path.string(), fmt::format("line {}, #wrong", line_no),
                         fmt::format("0 wrong values (or N/A: not checked); nccl-tests found {} wrong in this row, so the "
                                     "run's times are no measurement",
                                     f[base + 3]));
    }
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
  std::set<std::string> rank_ids;
  std::map<std::string, int> per_host;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const std::vector<std::string> w = nccl_tests_words(line);
    // "#" "Rank" N ["Group" G] "Pid" P "on" HOST "device" D [BUS] NAME... (Group: nccl-tests 2.11 on)
    if (w.size() < 7 || w[0] != "#" || w[1] != "Rank") continue;
    const auto on = std::find(w.begin() + 3, w.end(), "on");
    if (on == w.end() || on + 1 == w.end()) continue;
    if (!rank_ids.insert(w[2]).second)
      throw InputError(path.string(), fmt::format("line {}", line_no),
                       fmt::format("each rank listed once; rank {} is listed again", w[2]));
    if (++run.ranks > limits::kMaxRoutedGpus)
      throw InputError(path.string(), fmt::format("line {}", line_no),
                       fmt::format("at most {} ranks (the GPUs a route table serves)", limits::kMaxRoutedGpus));
    ++per_host[*(on + 1)];
    // "device" D, then an optional "[bus id]", then the name.
    const auto dev = std::find(on + 1, w.end(), "device");
    if (run.device.empty() && dev != w.end() && dev + 2 < w.end()) {
      auto first = dev + 2;
      if (first->front() == '[') ++first;
      for (auto i = first; i < w.end(); ++i) run.device += (i > first ? " " : "") + *i;
    }
  }
  run.nodes = static_cast<int>(per_host.size());
  for (const auto& [host, n] : per_host) {
    run.most_ranks_per_host = std::max(run.most_ranks_per_host, n);
    run.fewest_ranks_per_host = run.fewest_ranks_per_host == 0 ? n : std::min(run.fewest_ranks_per_host, n);
  }
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
