#include "measurements/comm_tables.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/limits.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {
namespace {


int whole(const CsvTable& t, std::size_t r, std::size_t c, int lo = 1, int hi = 1000000000) {
  const double v = t.number(r, c);
  if (!(v >= lo) || v != std::floor(v) || v > hi)
    throw InputError(t.file, t.where(r, c), fmt::format("a whole number in [{}, {}], found {}", lo, hi, v));
  return static_cast<int>(v);
}

// GPUs a measured communication row may name: limits::kMaxMeasuredTableGpus (its SMs: limits::kMaxGpuSms).
constexpr int kMaxTableGpus = limits::kMaxMeasuredTableGpus;

int gpus(const CsvTable& t, std::size_t r, std::size_t c, int lo = 1) { return whole(t, r, c, lo, kMaxTableGpus); }

// A GPU count of whole 8-GPU nodes (DeepEP's and Hybrid-EP's tables).
int gpus_of_8gpu_nodes(const CsvTable& t, std::size_t r, std::size_t c) {
  const int ep = gpus(t, r, c, 8);
  if (ep % 8 != 0) throw InputError(t.file, t.where(r, c), fmt::format("a multiple of 8 GPUs, found {}", ep));
  return ep;
}

// A measured bandwidth, GB/s: a link's range (limits.hpp kMinLinkBandwidthGBps..kMaxLinkBandwidthGBps);
// above it no hardware runs (1e11 GB/s was fitted to a 6e9 % error without a word).
double bandwidth_GBps(const CsvTable& t, std::size_t r, std::size_t c) {
  const double v = t.number(r, c);
  if (!(v >= limits::kMinLinkBandwidthGBps && v <= limits::kMaxLinkBandwidthGBps))
    throw InputError(t.file, t.where(r, c),
                     fmt::format("a bandwidth in [{}, {}] GB/s, found {}", limits::kMinLinkBandwidthGBps,
                                 limits::kMaxLinkBandwidthGBps, v));
  return v;
}

// GPUs of one NVLink domain a one-sided table may name: 2 (below, nothing crosses NVLink) to 576 (NVIDIA's
// largest announced NVLink domain, NVL576; GB200 NVL72 has 72). The table's samples build a one-node
// topology of that many GPUs, whose link model grows as EP^2.
constexpr int kMinOneSidedEp = 2;
constexpr int kMaxOneSidedEp = 576;

std::string text(const CsvTable& t, std::size_t r, std::size_t c) {
  const std::string& s = t.rows[r][c];
  if (s.empty()) throw InputError(t.file, t.where(r, c), "a non-empty field");
  return s;
}

bool has_columns(const CsvTable& t, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    bool found = false;
    for (const std::string& c : t.columns) found = found || c == n;
    if (!found) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(CommTableKind kind) {
  static constexpr std::array<std::string_view, 15> names = {
      "unknown",          "measurements.json", "nccl-tests output", "nccl-tests csv (AWS p5)",
      "AIConfigurator nccl_perf", "AIConfigurator DeepEP LL", "AIConfigurator DeepEP normal", "NCCL EP LL",
      "DeepEP PR 521 LL", "DeepEP PR 521 normal", "DeepEP V2 normal", "Hybrid-EP",
      "one-sided NVLink (TensorRT-LLM)", "DeepEP H800 normal",
      "one-sided NVLink dispatch by payload (TensorRT-LLM)"};
  return names[static_cast<std::size_t>(kind)];
}

namespace {
// The CSV kind whose columns `t` holds; unknown when none.
CommTableKind csv_kind(const CsvTable& t) {
  if (has_columns(t, {"Nodes", "GPUs", "size(MB)"})) return CommTableKind::nccl_tests_aws_csv;
  if (has_columns(t, {"nccl_dtype", "num_gpus", "message_size", "op_name", "latency"})) return CommTableKind::aic_nccl_perf;
  if (has_columns(t, {"node_num", "dispatch_avg_t_us", "combine_avg_t_us"})) return CommTableKind::aic_deepep_ll;
  if (has_columns(t, {"node_num", "dispatch_transmit_us", "combine_transmit_us"})) return CommTableKind::aic_deepep_normal;
  if (has_columns(t, {"num_gpus", "node_count", "dispatch_bw_GBps", "combine_bw_GBps"})) return CommTableKind::nccl_ep_ll;
  if (has_columns(t, {"backend", "ep_size", "dispatch_latency_us", "dispatch_rdma_bw_GBps"}))
    return CommTableKind::deepep_pr521_ll;
  if (has_columns(t, {"backend", "type", "ep_size", "dispatch_bottleneck_bw_GBps"})) return CommTableKind::deepep_pr521_normal;
  if (has_columns(t, {"arch", "topo", "dispatch_bottleneck_bw_GBps", "num_sms"})) return CommTableKind::deepep_v2_normal;
  if (has_columns(t, {"ranks", "sm_count", "kernelonly_dispatch_fp8_GBps"})) return CommTableKind::hybrid_ep;
  if (has_columns(t, {"recipe", "bytes_per_token", "batch_size", "dispatch_latency_us"}))
    return CommTableKind::onesided_payload;
  if (has_columns(t, {"ep_size", "batch_size", "dispatch_latency_us", "combine_latency_us"}))
    return CommTableKind::onesided_nvlink;
  if (has_columns(t, {"ep", "scope", "phase", "bottleneck_GBps"})) return CommTableKind::deepep_h800_normal;
  return CommTableKind::unknown;
}
}  // namespace

CommTableKind detect_comm_table(const std::filesystem::path& path) {
  const std::string content = read_input_file(path);
  std::size_t first = content.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw InputError(path.string(), "", "a measured table; the file is empty (no header, no data rows)");
  // A JSON document: the harness's measurements.json, whose reader checks the schema and the rest.
  if (content[first] == '{' || content[first] == '[') return CommTableKind::measurements_json;
  // nccl-tests: a line of column titles "size count type redop root time algbw busbw" (its reader
  // refuses a file without data lines).
  if (content.find("algbw") != std::string::npos && content.find("busbw") != std::string::npos &&
      content.find("redop") != std::string::npos)
    return CommTableKind::nccl_tests_text;
  CsvTable t;
  try {
    t = parse_csv(content, path.string());
  } catch (const InputError&) {
    // No header line: only '#' comment lines (parse_csv skips them), or rows of unequal width.
    std::istringstream in(content);
    std::string line;
    bool data = false;
    while (!data && std::getline(in, line)) {
      const std::size_t at = line.find_first_not_of(" \t\r");
      data = at != std::string::npos && line[at] != '#';
    }
    if (!data)
      throw InputError(path.string(), "", "a measured table; the file holds only comment lines (no header, no data rows)");
    // A known table's header over a row of the wrong width: parse_csv's error names the line and the
    // columns expected (not "a header none of them has").
    CsvTable header;
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, ',');) {
      const std::size_t b = f.find_first_not_of(" \t\r"), e = f.find_last_not_of(" \t\r");
      header.columns.push_back(b == std::string::npos ? "" : f.substr(b, e - b + 1));
    }
    if (csv_kind(header) != CommTableKind::unknown) throw;
    return CommTableKind::unknown;
  }
  const CommTableKind kind = csv_kind(t);
  if (kind != CommTableKind::unknown && t.rows.empty())
    throw InputError(path.string(), "",
                     fmt::format("data rows under the header; the file has the {} header but no rows", to_string(kind)));
  return kind;
}

std::vector<NcclPerfRow> read_aic_nccl_perf(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t dt = t.column("nccl_dtype"), g = t.column("num_gpus"), ms = t.column("message_size"),
                    op = t.column("op_name"), lat = t.column("latency");
  std::vector<NcclPerfRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    NcclPerfRow row;
    row.line = t.line_numbers[r];
    const std::string d = text(t, r, dt);
    row.element_bytes = d == "half" || d == "bfloat16" ? 2 : d == "int8" ? 1 : d == "float" ? 4 : 0;
    if (row.element_bytes == 0)
      throw InputError(t.file, t.where(r, dt), fmt::format("half, bfloat16, int8 or float, found '{}'", d));
    row.op = text(t, r, op);
    if (row.op != "all_gather" && row.op != "alltoall" && row.op != "reduce_scatter" && row.op != "all_reduce")
      throw InputError(t.file, t.where(r, op),
                       fmt::format("all_gather, alltoall, reduce_scatter or all_reduce, found '{}'", row.op));
    row.gpus = gpus(t, r, g, 2);
    row.elements = t.measured(r, ms);
    row.time_us = t.measured(r, lat) * 1e3;
    out.push_back(row);
  }
  return out;
}

std::vector<NcclEpRow> read_nccl_ep_table(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t g = t.column("num_gpus"), n = t.column("node_count"), d = t.column("dispatch_bw_GBps"),
                    c = t.column("combine_bw_GBps");
  std::vector<NcclEpRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    // NCCL EP's runs: 8-GPU nodes (kernel_samples.hpp nccl_ep_samples), so num_gpus = 8 x node_count.
    const int ep = gpus_of_8gpu_nodes(t, r, g), nodes = whole(t, r, n, 1, kMaxTableGpus / 8);
    if (ep != 8 * nodes)
      throw InputError(t.file, t.where(r, g),
                       fmt::format("num_gpus = 8 x node_count = {} (8 GPUs per node), found num_gpus {} and node_count {}",
                                   8 * nodes, ep, nodes));
    out.push_back({t.line_numbers[r], ep, nodes, bandwidth_GBps(t, r, d), bandwidth_GBps(t, r, c)});
  }
  return out;
}

std::vector<DeepEpPr521LlRow> read_deepep_pr521_ll(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t b = t.column("backend"), e = t.column("ep_size"), dl = t.column("dispatch_latency_us"),
                    db = t.column("dispatch_rdma_bw_GBps"), cl = t.column("combine_latency_us"),
                    cb = t.column("combine_rdma_bw_GBps");
  std::vector<DeepEpPr521LlRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    out.push_back({t.line_numbers[r], text(t, r, b), gpus_of_8gpu_nodes(t, r, e), t.measured(r, dl), bandwidth_GBps(t, r, db),
                   t.measured(r, cl), bandwidth_GBps(t, r, cb)});
  return out;
}

std::vector<DeepEpBandwidthRow> read_deepep_pr521_normal(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t b = t.column("backend"), e = t.column("ep_size"), d = t.column("dispatch_bottleneck_bw_GBps"),
                    dl = t.column("dispatch_bw_link"), c = t.column("combine_bottleneck_bw_GBps"),
                    cl = t.column("combine_bw_link");
  std::vector<DeepEpBandwidthRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    DeepEpBandwidthRow row;
    row.line = t.line_numbers[r];
    row.label = text(t, r, b);
    row.nodes = gpus_of_8gpu_nodes(t, r, e) / 8;
    row.dispatch_GBps = bandwidth_GBps(t, r, d);
    row.combine_GBps = bandwidth_GBps(t, r, c);
    row.dispatch_link = text(t, r, dl);
    row.combine_link = text(t, r, cl);
    out.push_back(row);
  }
  return out;
}

std::vector<DeepEpBandwidthRow> read_deepep_v2_normal(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t a = t.column("arch"), nic = t.column("nic_type"), topo = t.column("topo"),
                    d = t.column("dispatch_bottleneck_bw_GBps"), dl = t.column("dispatch_bw_link"),
                    c = t.column("combine_bottleneck_bw_GBps"), cl = t.column("combine_bw_link"),
                    sm = t.column("num_sms");
  std::vector<DeepEpBandwidthRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    DeepEpBandwidthRow row;
    row.line = t.line_numbers[r];
    row.label = text(t, r, a) + " " + text(t, r, nic);
    // "EP 8 x 2" (GPUs per node x nodes) or "EP 8" (one node).
    std::istringstream in(text(t, r, topo));
    std::string ep_word, x;
    int gpn = 0, nodes = 1;
    in >> ep_word >> gpn;
    if (in >> x) in >> nodes;
    if (ep_word != "EP" || gpn < 1 || nodes < 1 || (!x.empty() && x != "x"))
      throw InputError(t.file, t.where(r, topo), fmt::format("\"EP <gpus per node>\" or \"EP <gpus> x <nodes>\", found '{}'",
                                                              t.rows[r][topo]));
    if (static_cast<long long>(gpn) * nodes > kMaxTableGpus)
      throw InputError(t.file, t.where(r, topo), fmt::format("at most {} GPUs, found {} x {}", kMaxTableGpus, gpn, nodes));
    row.gpus_per_node = gpn;
    row.nodes = nodes;
    row.sms = whole(t, r, sm, 1, limits::kMaxGpuSms);
    row.dispatch_GBps = bandwidth_GBps(t, r, d);
    row.combine_GBps = bandwidth_GBps(t, r, c);
    row.dispatch_link = text(t, r, dl);
    row.combine_link = text(t, r, cl);
    out.push_back(row);
  }
  return out;
}

std::vector<DeepEpBandwidthRow> read_deepep_h800_normal(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t e = t.column("ep"), s = t.column("scope"), ph = t.column("phase"), m = t.column("bottleneck_medium"),
                    bw = t.column("bottleneck_GBps");
  std::vector<DeepEpBandwidthRow> out;
  std::unordered_map<int, std::size_t> row_of_nodes;  // nodes -> its row in out: O(rows), not O(rows x eps)
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const int ep = gpus_of_8gpu_nodes(t, r, e);
    const std::string phase = text(t, r, ph);
    if (phase != "dispatch" && phase != "combine")
      throw InputError(t.file, t.where(r, ph), fmt::format("dispatch or combine, found '{}'", phase));
    DeepEpBandwidthRow* row = nullptr;
    if (const auto it = row_of_nodes.find(ep / 8); it != row_of_nodes.end()) row = &out[it->second];
    if (!row) {
      row_of_nodes.emplace(ep / 8, out.size());
      out.emplace_back();
      row = &out.back();
      row->line = t.line_numbers[r];
      row->nodes = ep / 8;
      row->label = text(t, r, s);
      row->sms = 24;  // the csv header: DeepEP's 24-SM configuration of the legacy README
    }
    (phase == "dispatch" ? row->dispatch_GBps : row->combine_GBps) = bandwidth_GBps(t, r, bw);
    (phase == "dispatch" ? row->dispatch_link : row->combine_link) = text(t, r, m);
  }
  for (const DeepEpBandwidthRow& o : out)
    if (!(o.dispatch_GBps > 0 && o.combine_GBps > 0))
      throw InputError(t.file, fmt::format("line {}", o.line), "a dispatch and a combine row for every ep");
  return out;
}

std::vector<HybridEpRow> read_hybrid_ep_table(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t ra = t.column("ranks"), sm = t.column("sm_count"), c[6] = {
      t.column("torchapi_dispatch_fp8_GBps"),   t.column("torchapi_dispatch_bf16_GBps"),
      t.column("torchapi_combine_GBps"),        t.column("kernelonly_dispatch_fp8_GBps"),
      t.column("kernelonly_dispatch_bf16_GBps"), t.column("kernelonly_combine_GBps")};
  std::vector<HybridEpRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    out.push_back({t.line_numbers[r], gpus_of_8gpu_nodes(t, r, ra), whole(t, r, sm, 1, limits::kMaxGpuSms),
                   bandwidth_GBps(t, r, c[0]), bandwidth_GBps(t, r, c[1]), bandwidth_GBps(t, r, c[2]),
                   bandwidth_GBps(t, r, c[3]), bandwidth_GBps(t, r, c[4]), bandwidth_GBps(t, r, c[5])});
  return out;
}

std::vector<OneSidedRow> read_onesided_table(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t e = t.column("ep_size"), b = t.column("batch_size"), d = t.column("dispatch_latency_us"),
                    c = t.column("combine_latency_us");
  std::vector<OneSidedRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    out.push_back({t.line_numbers[r], whole(t, r, e, kMinOneSidedEp, kMaxOneSidedEp), whole(t, r, b), t.measured(r, d),
                   t.measured(r, c)});
  return out;
}

std::vector<OneSidedPayloadRow> read_onesided_payload_table(const std::filesystem::path& path) {
  const CsvTable t = read_csv_file(path);
  const std::size_t rc = t.column("recipe"), by = t.column("bytes_per_token"), b = t.column("batch_size"),
                    d = t.column("dispatch_latency_us");
  // The published table infers its EP from its BF16 row (PROVENANCE.md); a table that states it uses
  // ep_size. One of the two: both would be two answers to one question.
  const bool stated = has_columns(t, {"ep_size"}), inferred = has_columns(t, {"ep_size_inferred_from_bf16_row"});
  if (stated && inferred)
    throw InputError(t.file, "", "one EP column, ep_size or ep_size_inferred_from_bf16_row; the header has both");
  if (!stated && !inferred)
    throw InputError(t.file, "", "an EP column, ep_size or ep_size_inferred_from_bf16_row; the header has neither");
  const std::size_t e = t.column(inferred ? "ep_size_inferred_from_bf16_row" : "ep_size");
  std::vector<OneSidedPayloadRow> out;
  std::unordered_map<std::string, int> recipe_line;  // a repeated recipe in O(rows), not O(rows^2)
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    OneSidedPayloadRow row{t.line_numbers[r], text(t, r, rc), whole(t, r, e, kMinOneSidedEp, kMaxOneSidedEp),
                           whole(t, r, b), t.measured(r, by), t.measured(r, d)};
    if (row.bytes_per_token < 1)
      throw InputError(t.file, t.where(r, by), fmt::format("at least 1 byte per token, found {}", row.bytes_per_token));
    if (const auto [it, fresh] = recipe_line.emplace(row.recipe, row.line); !fresh)
      throw InputError(t.file, t.where(r, rc),
                       fmt::format("one row per recipe; '{}' is also on line {}", row.recipe, it->second));
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace epsim
