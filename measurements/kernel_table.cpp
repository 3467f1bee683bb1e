#include "measurements/kernel_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/json_input.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {

namespace {

constexpr std::array<KernelTableKind, 6> kKinds = {KernelTableKind::gemm,           KernelTableKind::mla_context,
                                                  KernelTableKind::mla_generation, KernelTableKind::moe_context,
                                                  KernelTableKind::moe_generation, KernelTableKind::mlp};

// Columns of each kind: categorical key columns (joined into the grid key), numeric columns, the
// latency column (ms), and whether rows carry a `device` column.
struct Spec {
  std::vector<std::string> keys;
  std::vector<std::string> numbers;
  std::string latency_ms;
  bool device = true;
  std::vector<std::string> axes;
};

const Spec& spec(KernelTableKind kind) {
  static const Spec gemm{{"gemm_dtype"}, {"m", "n", "k"}, "latency_ms", false, {"m", "n", "k"}};
  static const Spec mla{{"kernel_source"}, {"num_heads", "batch_size", "isl"}, "latency", true,
                        {"num_heads", "batch_size", "isl"}};
  static const Spec moe{{"moe_dtype", "hidden_size", "inter_size", "topk", "num_experts", "distribution"},
                        {"num_tokens", "topk", "num_experts", "moe_ep_size"},
                        "latency",
                        true,
                        {"local_experts", "pairs"}};
  static const Spec mlp{{"quant_type", "hidden_size", "intermediate_size"}, {"num_token"}, "avg_ms", true, {"num_token"}};
  switch (kind) {
    case KernelTableKind::gemm: return gemm;
    case KernelTableKind::mla_context:
    case KernelTableKind::mla_generation: return mla;
    case KernelTableKind::moe_context:
    case KernelTableKind::moe_generation: return moe;
    case KernelTableKind::mlp: return mlp;
  }
  throw std::logic_error("unknown kernel table kind");
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The GPU name as a word of the device string ("H100" in "NVIDIA H100 80GB HBM3", not in "H1000").
bool device_is(std::string_view device, std::string_view gpu) {
  const std::string d = upper(device), g = upper(gpu);
  for (std::size_t p = d.find(g); p != std::string::npos; p = d.find(g, p + 1)) {
    const bool left = p == 0 || !std::isalnum(static_cast<unsigned char>(d[p - 1]));
    const std::size_t e = p + g.size();
    const bool right = e == d.size() || !std::isalnum(static_cast<unsigned char>(d[e]));
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::string_view to_string(KernelTableKind kind) {
  switch (kind) {
    case KernelTableKind::gemm: return "gemm";
    case KernelTableKind::mla_context: return "mla_context";
    case KernelTableKind::mla_generation: return "mla_generation";
    case KernelTableKind::moe_context: return "moe_context";
    case KernelTableKind::moe_generation: return "moe_generation";
    case KernelTableKind::mlp: return "mlp";
  }
  return "?";
}

std::span<const KernelTableKind> all_kernel_table_kinds() { return kKinds; }

std::string expected_header(KernelTableKind kind) {
  const Spec& s = spec(kind);
  std::vector<std::string> cols;
  if (s.device) cols.push_back("device");
  auto add = [&](const std::string& c) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  };
  for (const auto& c : s.keys) add(c);
  for (const auto& c : s.numbers) add(c);
  add(s.latency_ms);
  return fmt::format("{}", fmt::join(cols, ","));
}

// ---- LatencyGrid ----

LatencyGrid::LatencyGrid(std::vector<std::vector<double>> axes) : axes_(std::move(axes)) {
  if (axes_.empty() || axes_.size() > 4) throw std::invalid_argument("LatencyGrid: 1 to 4 axes");
  std::size_t n = 1;
  strides_.assign(axes_.size(), 0);
  for (std::size_t a = axes_.size(); a-- > 0;) {
    const auto& ax = axes_[a];
    if (ax.empty()) throw std::invalid_argument("LatencyGrid: an empty axis");
    for (std::size_t i = 0; i < ax.size(); ++i) {
      if (!(ax[i] > 0) || !std::isfinite(ax[i])) throw std::invalid_argument("LatencyGrid: axis values must be > 0");
      if (i > 0 && !(ax[i] > ax[i - 1])) throw std::invalid_argument("LatencyGrid: axis values must increase");
    }
    strides_[a] = n;
    n *= ax.size();
  }
  for (const auto& ax : axes_) {
    std::vector<double> logs;
    for (double v : ax) logs.push_back(std::log(v));
    log_axes_.push_back(std::move(logs));
  }
  log_us_.assign(n, std::numeric_limits<double>::quiet_NaN());
}

std::size_t LatencyGrid::flat(std::span<const std::size_t> idx) const {
  if (idx.size() != axes_.size()) throw std::invalid_argument("LatencyGrid: wrong number of indices");
  std::size_t f = 0;
  for (std::size_t a = 0; a < idx.size(); ++a) {
    if (idx[a] >= axes_[a].size()) throw std::invalid_argument("LatencyGrid: index out of range");
    f += idx[a] * strides_[a];
  }
  return f;
}

void LatencyGrid::set(std::span<const std::size_t> idx, double us) {
  if (!(us > 0) || !std::isfinite(us)) throw std::invalid_argument("LatencyGrid: latency must be > 0 and finite");
  log_us_[flat(idx)] = std::log(us);
}

double LatencyGrid::value(std::span<const std::size_t> idx) const { return std::exp(log_us_[flat(idx)]); }

std::size_t LatencyGrid::measured_points() const {
  return static_cast<std::size_t>(std::count_if(log_us_.begin(), log_us_.end(), [](double v) { return !std::isnan(v); }));
}

LatencyGrid::Lookup LatencyGrid::nearest(std::span<const double> q) const {
  const std::size_t d = axes_.size();
  std::vector<double> lq(d);
  for (std::size_t a = 0; a < d; ++a) lq[a] = std::log(q[a]);
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_flat = 0;
  for (std::size_t f = 0; f < log_us_.size(); ++f) {
    if (std::isnan(log_us_[f])) continue;
    double dist = 0;
    for (std::size_t a = 0; a < d; ++a) {
      const double diff = lq[a] - log_axes_[a][(f / strides_[a]) % axes_[a].size()];
      dist += diff * diff;
    }
    if (dist < best) {
      best = dist;
      best_flat = f;
    }
  }
  if (!std::isfinite(best)) throw std::invalid_argument("LatencyGrid: no measured point");
  Lookup r;
  r.inside = false;
  r.us = std::exp(log_us_[best_flat]);
  for (std::size_t a = 0; a < d; ++a) r.at.push_back(axes_[a][(best_flat / strides_[a]) % axes_[a].size()]);
  return r;
}

LatencyGrid::Lookup LatencyGrid::lookup(std::span<const double> q) const {
  const std::size_t d = axes_.size();
  if (q.size() != d) throw std::invalid_argument("LatencyGrid::lookup: wrong number of coordinates");
  std::array<std::size_t, 4> lo{}, hi{};
  std::array<double, 4> w{};
  Lookup r;
  r.at.resize(d);
  for (std::size_t a = 0; a < d; ++a) {
    if (!(q[a] > 0) || !std::isfinite(q[a])) throw std::invalid_argument("LatencyGrid::lookup: coordinates must be > 0");
    const auto& ax = axes_[a];
    const auto& lx = log_axes_[a];
    if (q[a] <= ax.front()) {
      lo[a] = hi[a] = 0;
      if (q[a] < ax.front()) r.inside = false;
      r.at[a] = ax.front();
    } else if (q[a] >= ax.back()) {
      lo[a] = hi[a] = ax.size() - 1;
      if (q[a] > ax.back()) r.inside = false;
      r.at[a] = ax.back();
    } else {
      const auto it = std::upper_bound(ax.begin(), ax.end(), q[a]);
      hi[a] = static_cast<std::size_t>(it - ax.begin());
      lo[a] = hi[a] - 1;
      w[a] = (std::log(q[a]) - lx[lo[a]]) / (lx[hi[a]] - lx[lo[a]]);
      r.at[a] = q[a];
    }
  }
  double sum = 0;
  for (unsigned mask = 0; mask < (1u << d); ++mask) {
    double weight = 1;
    std::size_t f = 0;
    for (std::size_t a = 0; a < d; ++a) {
      const bool upper = (mask >> a) & 1u;
      weight *= upper ? w[a] : 1 - w[a];
      f += (upper ? hi[a] : lo[a]) * strides_[a];
    }
    if (weight == 0) continue;
    if (std::isnan(log_us_[f])) return nearest(q);
    sum += weight * log_us_[f];
  }
  r.us = std::exp(sum);
  return r;
}

// ---- KernelTable ----

const LatencyGrid* KernelTable::grid(const std::string& key) const {
  auto it = grids.find(key);
  return it == grids.end() ? nullptr : &it->second;
}

KernelTable read_kernel_table(const std::filesystem::path& path, KernelTableKind kind, std::string_view gpu) {
  CsvTable t = read_csv_file(path);
  const Spec& s = spec(kind);
  auto col = [&](const std::string& name) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i] == name) return i;
    throw InputError(t.file, "line 1",
                     fmt::format("a {} table header with the columns {} (missing '{}')", to_string(kind),
                                 expected_header(kind), name));
  };
  std::vector<std::size_t> key_cols, num_cols;
  for (const auto& c : s.keys) key_cols.push_back(col(c));
  for (const auto& c : s.numbers) num_cols.push_back(col(c));
  const std::size_t lat = col(s.latency_ms);
  const std::size_t dev = s.device ? col("device") : 0;

  KernelTable out;
  out.file = t.file;
  out.kind = kind;
  out.axis_names = s.axes;
  std::size_t other_gpu_rows = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const int line = t.line_numbers[r];
    if (s.device && !device_is(t.rows[r][dev], gpu)) {
      ++other_gpu_rows;
      continue;
    }
    std::vector<double> nums;
    for (std::size_t c : num_cols) {
      const double v = t.number(r, c);
      if (!(v > 0))
        throw InputError(t.file, fmt::format("line {}, column {}", line, t.columns[c]), fmt::format("a value > 0, found {}", v));
      nums.push_back(v);
    }
    const double ms = t.number(r, lat);
    if (!(ms > 0))
      throw InputError(t.file, fmt::format("line {}, column {}", line, t.columns[lat]),
                       fmt::format("a latency > 0 (ms), found {}", ms));
    std::string key;
    for (std::size_t i = 0; i < key_cols.size(); ++i) {
      if (t.rows[r][key_cols[i]].empty())
        throw InputError(t.file, fmt::format("line {}, column {}", line, t.columns[key_cols[i]]), "a non-empty value");
      key += (i ? "/" : "") + t.rows[r][key_cols[i]];
    }
    KernelTable::Row row{key, {}, ms * 1000.0, line};
    if (kind == KernelTableKind::moe_context || kind == KernelTableKind::moe_generation) {
      // num_tokens, topk, num_experts, moe_ep_size -> local experts, token-expert pairs per rank.
      row.x = {nums[2] / nums[3], nums[0] * nums[1] / nums[3]};
    } else {
      row.x = nums;
    }
    out.rows.push_back(std::move(row));
  }
  if (out.rows.empty())
    throw InputError(t.file, "",
                     other_gpu_rows > 0 ? fmt::format("rows measured on {} (device column); none of its {} rows is", gpu, other_gpu_rows)
                                        : std::string("at least one measurement row"));

  // Grids per key: the axis values that occur, every row on its grid point.
  std::map<std::string, std::vector<const KernelTable::Row*>> by_key;
  for (const auto& row : out.rows) by_key[row.key].push_back(&row);
  for (const auto& [key, rows] : by_key) {
    const std::size_t d = s.axes.size();
    std::vector<std::vector<double>> axes(d);
    for (const auto* row : rows)
      for (std::size_t a = 0; a < d; ++a) axes[a].push_back(row->x[a]);
    for (auto& ax : axes) {
      std::sort(ax.begin(), ax.end());
      ax.erase(std::unique(ax.begin(), ax.end()), ax.end());
    }
    LatencyGrid grid(axes);
    std::size_t points = 1;
    for (const auto& ax : axes) points *= ax.size();
    std::vector<int> seen(points, 0);  // line of the row on each grid point (0: none yet)
    std::vector<std::size_t> idx(d);
    for (const auto* row : rows) {
      std::size_t f = 0;
      for (std::size_t a = 0; a < d; ++a) {
        idx[a] = static_cast<std::size_t>(std::lower_bound(axes[a].begin(), axes[a].end(), row->x[a]) - axes[a].begin());
        f = f * axes[a].size() + idx[a];
      }
      if (seen[f] != 0)
        throw InputError(t.file, fmt::format("line {}", row->line),
                         fmt::format("one row per {} and {}; line {} has the same", fmt::join(s.keys, "/"),
                                     fmt::join(s.axes, ", "), seen[f]));
      seen[f] = row->line;
      grid.set(idx, row->us);
    }
    out.grids.emplace(key, std::move(grid));
  }
  return out;
}

// ---- KernelTableSet ----

const KernelTable* KernelTableSet::find(KernelTableKind kind) const {
  auto it = tables.find(kind);
  return it == tables.end() ? nullptr : &it->second;
}

KernelTableSet read_kernel_tables(const std::filesystem::path& folder, std::string_view gpu) {
  const std::filesystem::path manifest = folder / "kernel_tables.json";
  const Json doc = read_json_file(manifest);
  JsonCursor root(doc, manifest.string());
  root.require_object();
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "schema" && it.key() != "gpu" && it.key() != "source" && it.key() != "tables")
      root.at(it.key()).fail("a known field (schema, gpu, source, tables)");
  if (root.at("schema").as_string() != "epsim.kernel_tables/1") root.at("schema").fail("\"epsim.kernel_tables/1\"");
  KernelTableSet set;
  set.folder = folder.string();
  set.gpu = root.at("gpu").as_string();
  set.source = root.string_or("source", "");
  if (upper(set.gpu) != upper(gpu))
    root.at("gpu").fail(fmt::format("tables of GPU {} (the scenario's compute GPU), found {}", gpu, set.gpu));
  const JsonCursor tables = root.at("tables");
  tables.require_object();
  for (auto it = tables.node().begin(); it != tables.node().end(); ++it) {
    const KernelTableKind* kind = nullptr;
    for (const auto& k : kKinds)
      if (to_string(k) == it.key()) kind = &k;
    if (!kind) {
      std::vector<std::string> known;
      for (const auto k : kKinds) known.push_back(fmt::format("{} ({})", to_string(k), expected_header(k)));
      tables.at(it.key()).fail(fmt::format("a known table kind: {}", fmt::join(known, "; ")));
    }
    const std::string file = tables.at(it.key()).as_string();
    set.tables.emplace(*kind, read_kernel_table(folder / file, *kind, set.gpu));
  }
  return set;
}

}  // namespace epsim
