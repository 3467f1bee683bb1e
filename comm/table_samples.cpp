// Reading measured files into the samples `epsim calibrate` fits (comm/table_calibration.hpp add_table):
// nccl-tests text and the AWS csv (collectives, or the nccl kernel's alltoall samples), AIConfigurator's
// nccl_perf collectives, and every kernel table (comm/kernel_samples.hpp). The fits are in
// comm/table_calibration.cpp.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "comm/kernel_samples.hpp"
#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "common/limits.hpp"
#include "measurements/csv_table.hpp"
#include "measurements/nccl_tests_table.hpp"

namespace epsim {

namespace {

// The device a file names must be the one the earlier files named.
void note_device(TableSamples& s, const std::string& device, const std::filesystem::path& path) {
  if (device.empty()) return;
  const std::string gpu = canonical_gpu_name(device, path.string(), "device");
  if (s.device.empty()) {
    s.device = device;
    s.device_file = path.string();
    return;
  }
  const std::string before = canonical_gpu_name(s.device, s.device_file, "device");
  if (gpu != before)
    throw InputError(path.string(), "device",
                     fmt::format("measurements of one GPU: this file was measured on {} ({}), {} on {} ({})", device,
                                 gpu, s.device_file, s.device, before));
}

// The device column's one value ("" without the column); rows naming another device are refused with
// their line (one table is one GPU's measurement; two files of two GPUs are refused by note_device).
std::string csv_device(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c] != "device" || t.rows.empty()) continue;
    for (std::size_t r = 1; r < t.rows.size(); ++r)
      if (t.rows[r][c] != t.rows[0][c])
        throw InputError(t.file, fmt::format("line {}, column device", t.line_numbers[r]),
                         fmt::format("the device of the file's first row ({}); found {}", t.rows[0][c], t.rows[r][c]));
    return t.rows[0][c];
  }
  return "";
}

// nccl-tests alltoall rows of one run (`ranks` ranks on `nodes` hosts, the same number on each) as the nccl
// kernel's samples (comm/kernel_samples.hpp nccl_alltoall_samples), over the network the calibration names.
void add_alltoall_samples(TableSamples& s, const std::filesystem::path& path, const std::vector<NcclTestsRow>& rows,
                          int ranks, int nodes) {
  if (ranks > limits::kMaxEpRanks)
    throw InputError(path.string(), "",
                     fmt::format("an alltoall run of at most {} ranks, the all-to-all's cap (docs/limits.md); found {} "
                                 "ranks on {} hosts",
                                 limits::kMaxEpRanks, ranks, nodes));
  if (ranks % nodes != 0)
    throw InputError(path.string(), "",
                     fmt::format("the same number of ranks on every host ({} ranks on {} hosts)", ranks, nodes));
  std::vector<NcclPerfRow> perf;
  for (const NcclTestsRow& r : rows) {
    NcclPerfRow p;
    p.op = "alltoall";
    p.gpus = ranks;
    p.element_bytes = 1;
    p.elements = r.bytes;
    p.time_us = r.time_us;
    perf.push_back(p);
  }
  std::vector<KernelSample> samples = nccl_alltoall_samples(perf);
  for (KernelSample& k : samples) {
    k.network_kind = s.network_kind;
    k.nodes = nodes;
    k.gpus_per_node = ranks / nodes;
    k.label = path.filename().string() + ": " + k.label;
  }
  auto& dst = s.kernels[ExchangeKernelKind::nccl];
  dst.insert(dst.end(), samples.begin(), samples.end());
}

void add_nccl_tests(TableSamples& s, const std::filesystem::path& path, int gpus_per_node) {
  const NcclTestsRun run = read_nccl_tests_run(path);
  const std::vector<NcclTestsRow> rows = read_nccl_tests_output(path);
  const std::string file = path.string();
  if (run.op.empty())
    throw InputError(file, "", "an nccl-tests output whose text or file name names its test (all_reduce_perf, "
                               "all_gather_perf, reduce_scatter_perf, alltoall_perf, sendrecv_perf)");
  if (rows.empty()) throw InputError(file, "", "at least one nccl-tests data line");
  int ranks = run.ranks;
  // busbw / algbw of the largest size says the rank count of all_reduce (2(n-1)/n) and the gathers
  // ((n-1)/n); nccl-tests prints two decimals, so the ratio is good to ~1e-3 at the largest sizes.
  const NcclTestsRow& big = rows.back();
  const double ratio = big.algbw_GBps > 0 ? big.busbw_GBps / big.algbw_GBps : 0;
  const bool ar = run.op == "all_reduce", gathers = run.op == "all_gather" || run.op == "reduce_scatter";
  if (ranks < 1) {
    // No rank lines: n from the ratio.
    const double n = ar ? 2 / (2 - ratio) : gathers ? 1 / (1 - ratio) : 0;
    if (!(n >= 1.5 && n <= limits::kMaxRoutedGpus))
      throw InputError(file, "", fmt::format("an nccl-tests output with its \"#  Rank N ... on HOST device D\" lines, or an "
                                             "all_reduce / all_gather / reduce_scatter whose busbw / algbw gives a rank "
                                             "count in [2, {}]",
                                             limits::kMaxRoutedGpus));
    ranks = static_cast<int>(std::lround(n));
  } else if ((ar || gathers) && ratio > 0) {
    // Rank lines and data must agree (a file cut or pasted from two runs says two things).
    const double expect = (ar ? 2.0 : 1.0) * (ranks - 1) / ranks;
    if (std::fabs(ratio - expect) > 0.02)
      throw InputError(file, "", fmt::format("rank lines that match the data: {} rank lines give busbw / algbw = {:.3f} "
                                             "for {}, the largest size's columns give {:.3f}",
                                             ranks, expect, run.op, ratio));
  }
  // Every row of one run: the ratio is the same at every size (two tables pasted into one file without
  // their rank lines read as the last one's ranks otherwise). Rows below 1 GB/s algbw are skipped: their
  // two printed decimals do not give the ratio.
  if ((ar || gathers) && ranks >= 2) {
    const double expect = (ar ? 2.0 : 1.0) * (ranks - 1) / ranks;
    for (const NcclTestsRow& r : rows)
      if (r.algbw_GBps >= 1 && std::fabs(r.busbw_GBps / r.algbw_GBps - expect) > 0.02)
        throw InputError(file, fmt::format("line {}", r.line),
                         fmt::format("rows of one run of {} ranks: busbw / algbw = {:.3f} for {} ({:.3f} here), so this "
                                     "row belongs to a run of another rank count (one run per file)",
                                     ranks, expect, run.op, r.busbw_GBps / r.algbw_GBps));
  }
  // The same number of ranks on every host: the topologies epsim builds for a run are uniform.
  if (run.most_ranks_per_host != run.fewest_ranks_per_host)
    throw InputError(file, "", fmt::format("the same number of ranks on every host; the rank lines list {} on one host "
                                           "and {} on another",
                                           run.most_ranks_per_host, run.fewest_ranks_per_host));
  note_device(s, run.device, path);
  const int nodes = run.nodes > 0 ? run.nodes : std::max(1, ranks / gpus_per_node);
  if (run.op == "alltoall") {
    add_alltoall_samples(s, path, rows, ranks, nodes);
    return;
  }
  if (run.op != "all_reduce" && run.op != "all_gather" && run.op != "reduce_scatter" && run.op != "sendrecv")
    throw InputError(file, "", fmt::format("an nccl-tests run of all_reduce, all_gather, reduce_scatter, sendrecv or "
                                           "alltoall; found {}", run.op));
  CollectiveSamples c;
  c.file = file;
  c.op = run.op;
  c.ranks = ranks;
  c.nodes = nodes;
  for (const NcclTestsRow& r : rows) {
    c.bytes.push_back(r.bytes);
    c.time_us.push_back(r.time_us);
  }
  s.collectives.push_back(std::move(c));
}

// The AWS nccl-tests csv (read_aws_p5_csv): one collective per (Nodes, GPUs) of its rows (an alltoall
// file: the nccl kernel's samples of each), the op from the file name (the published files:
// nccl_all_gather.csv, nccl_all_reduce.csv, nccl_alltoall.csv; ours
// aws_p5_all_gather_2to32nodes.csv), time = size / out-of-place algbw.
void add_nccl_tests_aws_csv(TableSamples& s, const std::filesystem::path& path) {
  const std::string file = path.string();
  std::string name = path.filename().string();  // matched case-blind: NCCL_ALLTOALL.csv names alltoall
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string op;
  for (const char* o : {"all_reduce", "all_gather", "reduce_scatter", "sendrecv", "alltoall"})
    if (name.find(o) != std::string::npos) {
      if (!op.empty())
        throw InputError(file, "", fmt::format("an AWS nccl-tests csv whose file name names one collective; it names "
                                               "{} and {}",
                                               op, o));
      op = o;
    }
  if (op.empty())
    throw InputError(file, "", "an AWS nccl-tests csv whose file name names its collective (all_reduce, all_gather, "
                               "reduce_scatter, sendrecv, alltoall)");
  std::vector<CollectiveSamples> groups;
  for (const NcclTestsRow& r : read_aws_p5_csv(path)) {  // rows checked there, naming their line
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const CollectiveSamples& c) { return c.nodes == r.nodes && c.ranks == r.gpus; });
    if (g == groups.end()) {
      groups.push_back(CollectiveSamples{file, op, r.gpus, r.nodes, {}, {}});
      g = groups.end() - 1;
    }
    g->bytes.push_back(r.bytes);
    g->time_us.push_back(r.time_us);
  }
  if (groups.empty()) throw InputError(file, "", "at least one data row");
  if (op == "alltoall") {  // the nccl kernel's samples, one run per (Nodes, GPUs)
    for (const CollectiveSamples& c : groups) {
      std::vector<NcclTestsRow> rows;
      for (std::size_t i = 0; i < c.bytes.size(); ++i) rows.push_back(NcclTestsRow{c.bytes[i], c.time_us[i], 0, 0, c.nodes, c.ranks});
      add_alltoall_samples(s, path, rows, c.ranks, c.nodes);
    }
    return;
  }
  for (CollectiveSamples& c : groups) s.collectives.push_back(std::move(c));
}

// AIConfigurator nccl_perf.csv's all_gather / reduce_scatter / all_reduce rows (ONE node of num_gpus
// GPUs, measurements/comm_tables.hpp): one collective per (op, GPUs), size = message_size x element
// bytes (nccl-tests' "size"). Its alltoall rows are the nccl kernel's samples (kernel_samples_from_file).
void add_aic_nccl_collectives(TableSamples& s, const std::filesystem::path& path) {
  std::map<std::pair<std::string, int>, CollectiveSamples> groups;
  for (const NcclPerfRow& r : read_aic_nccl_perf(path)) {
    if (r.op == "alltoall" || r.gpus < 2) continue;
    CollectiveSamples& c = groups[{r.op, r.gpus}];
    if (c.file.empty()) c = CollectiveSamples{path.string(), r.op, r.gpus, 1, {}, {}};
    c.bytes.push_back(r.bytes());
    c.time_us.push_back(r.time_us);
  }
  for (auto& [key, c] : groups) s.collectives.push_back(std::move(c));
}

// Refuses a calibration whose files hold more rows than limits::kMaxCalibrationKernelSamples /
// kMaxCalibrationCollectiveRows (fit time grows with them: docs/limits.md), naming the file that crossed.
void check_calibration_rows(const TableSamples& s, const std::filesystem::path& path) {
  std::size_t kernel = 0, collective = 0;
  for (const auto& [k, v] : s.kernels) kernel += v.size();
  for (const CollectiveSamples& c : s.collectives) collective += c.bytes.size();
  if (kernel > static_cast<std::size_t>(limits::kMaxCalibrationKernelSamples))
    throw InputError(path.string(), "",
                     fmt::format("at most {} exchange-kernel samples in one calibration (each fit step prices every "
                                 "one; docs/limits.md); the files so far hold {}",
                                 limits::kMaxCalibrationKernelSamples, kernel));
  if (collective > static_cast<std::size_t>(limits::kMaxCalibrationCollectiveRows))
    throw InputError(path.string(), "",
                     fmt::format("at most {} collective rows in one calibration (a network fit prices every row "
                                 "through the collective model at each step; docs/limits.md); the files so far hold {}",
                                 limits::kMaxCalibrationCollectiveRows, collective));
}

void add_table_rows(TableSamples& s, const std::filesystem::path& path, CommTableKind kind, int gpus_per_node) {
  if (!is_network_link(s.network_kind))
    throw std::invalid_argument("add_table: the network kind is infiniband or ethernet");
  switch (kind) {
    case CommTableKind::unknown:
    case CommTableKind::measurements_json:
      throw InputError(path.string(), "",
                       fmt::format("a measured table epsim calibrates from (nccl-tests output, the AIConfigurator "
                                   "DeepEP and nccl_perf tables, the EP tables of ../shared/data/measurements); "
                                   "found {}",
                                   kind == CommTableKind::unknown ? std::string("a header none of them has")
                                                                  : std::string(to_string(kind))));
    case CommTableKind::nccl_tests_text: add_nccl_tests(s, path, std::max(gpus_per_node, 1)); return;
    case CommTableKind::nccl_tests_aws_csv: add_nccl_tests_aws_csv(s, path); return;
    default: break;
  }
  note_device(s, csv_device(path), path);
  for (auto& [k, v] : kernel_samples_from_file(path, kind)) {
    for (KernelSample& x : v) x.network_kind = s.network_kind;
    auto& dst = s.kernels[k];
    dst.insert(dst.end(), v.begin(), v.end());
  }
  if (kind == CommTableKind::aic_nccl_perf) add_aic_nccl_collectives(s, path);
}

}  // namespace

void add_table(TableSamples& s, const std::filesystem::path& path, CommTableKind kind, int gpus_per_node) {
  add_table_rows(s, path, kind, gpus_per_node);
  check_calibration_rows(s, path);
}

}  // namespace epsim
