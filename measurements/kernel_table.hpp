#pragma once
// Measured kernel-latency tables (GEMM, MLA, grouped MoE GEMM, MLP) read from CSV, and the latency grid
// that interpolates them: multilinear in log coordinates of log latency (exact on table rows, exact for
// power laws). Format and sources: docs/compute_model.md "Kernel tables"; the shipped tables are
// scenarios/measurements/kernels/<gpu>/ (NVIDIA AIConfigurator's collectors, SGLang kernels).
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epsim {

/// The kinds of kernel table epsim reads, each recognised by the columns of its header.
enum class KernelTableKind { gemm, mla_context, mla_generation, moe_context, moe_generation, mlp };

/// "gemm", "mla_context", "mla_generation", "moe_context", "moe_generation", "mlp".
std::string_view to_string(KernelTableKind kind);
/// Every kind, in a fixed order.
std::span<const KernelTableKind> all_kernel_table_kinds();
/// The columns a table of `kind` must have, comma-separated (for messages and docs).
std::string expected_header(KernelTableKind kind);

/// A latency surface over a grid: axis values strictly increasing and > 0, a latency (us, > 0) per grid
/// point or a hole. Immutable after construction; safe to share between threads.
class LatencyGrid {
 public:
  /// Result of a look-up. `at` is the query when it is inside the measured grid; otherwise the point
  /// whose latency is returned: the query clamped to the grid's box, or (when a corner around it is a
  /// hole) the nearest measured grid point in log distance. The caller scales `us` to the query (the
  /// roofline ratio, sim/compute/kernel_tables.hpp).
  struct Lookup {
    double us = 0;
    std::vector<double> at;
    bool inside = true;
  };

  /// axes: one strictly increasing list of positive values per dimension (1..4 dimensions).
  /// Throws std::invalid_argument otherwise. All points start as holes.
  explicit LatencyGrid(std::vector<std::vector<double>> axes);

  /// Set the latency of the grid point with axis indices idx (us > 0, finite).
  void set(std::span<const std::size_t> idx, double us);
  /// Latency at grid indices, NaN for a hole.
  double value(std::span<const std::size_t> idx) const;

  /// Interpolate at q (one value > 0 per dimension): with t = log latency and x = log coordinate,
  /// multilinear in x between the two neighbouring grid values of every axis. O(2^d + d log n), except
  /// near a hole: O(points).
  Lookup lookup(std::span<const double> q) const;

  const std::vector<std::vector<double>>& axes() const { return axes_; }
  std::size_t dimensions() const { return axes_.size(); }
  /// Grid points that hold a measurement.
  std::size_t measured_points() const;

 private:
  std::size_t flat(std::span<const std::size_t> idx) const;
  Lookup nearest(std::span<const double> q) const;

  std::vector<std::vector<double>> axes_;
  std::vector<std::vector<double>> log_axes_;
  std::vector<std::size_t> strides_;
  std::vector<double> log_us_;  ///< log of latency; NaN = hole
};

/// One kernel table read from a CSV file: a grid per categorical key. Latencies in us.
struct KernelTable {
  /// One row, kept for tables that are fitted rather than interpolated (moe_context).
  struct Row {
    std::string key;
    std::vector<double> x;  ///< axis values, as axis_names
    double us = 0;
    int line = 0;
  };

  std::string file;
  KernelTableKind kind = KernelTableKind::gemm;
  /// Names of the grid axes, e.g. {"m", "n", "k"}; see expected_header for how they are derived.
  std::vector<std::string> axis_names;
  /// Grid per key; the key joins the categorical columns with '/', e.g. "fp8_block" (gemm),
  /// "fa3" (mla), "fp8_block/7168/2048/8/256/uniform" (moe), "fp8_block/7168/2048" (mlp).
  std::map<std::string, LatencyGrid> grids;
  std::vector<Row> rows;

  /// The grid of a key, or nullptr.
  const LatencyGrid* grid(const std::string& key) const;
};

/// Read one table. Axes and keys per kind (expected_header):
/// - gemm: key gemm_dtype; axes m, n, k; value latency_ms.
/// - mla_context, mla_generation: key kernel_source; axes num_heads, batch_size, isl (generation: the KV
///   length); value latency (ms).
/// - moe_context, moe_generation: key moe_dtype/hidden_size/inter_size/topk/num_experts/distribution;
///   axes local_experts = num_experts / moe_ep_size and pairs = num_tokens x topk / moe_ep_size
///   (num_tokens is the whole EP group's tokens in these tables); value latency (ms).
/// - mlp: key quant_type/hidden_size/intermediate_size; axis num_token; value avg_ms.
/// Tables with a `device` column keep only rows whose device names `gpu` (e.g. "H100" in "NVIDIA H100
/// 80GB HBM3"). Throws InputError naming the file, line and column for: a header without a required
/// column (naming the expected header), a non-numeric field, an axis value <= 0, a latency that is not
/// > 0, a row repeated, no row for `gpu`.
KernelTable read_kernel_table(const std::filesystem::path& csv, KernelTableKind kind, std::string_view gpu);

/// The tables of one GPU: a folder with kernel_tables.json
/// {"schema": "epsim.kernel_tables/1", "gpu": "H100", "source": "...", "tables": {"gemm": "gemm.csv", ...}}
/// (any subset of the kinds; file names relative to the folder).
struct KernelTableSet {
  std::string folder;
  std::string gpu;     ///< the manifest's GPU
  std::string source;  ///< the manifest's provenance line
  std::map<KernelTableKind, KernelTable> tables;
  const KernelTable* find(KernelTableKind kind) const;
};

/// Read a folder's manifest and tables. `gpu` must be the manifest's GPU (case-insensitive; callers map
/// H800 to H100 first). Throws InputError naming the manifest and JSON pointer (unknown kind: the known
/// kinds with their headers) or the table file, line and column.
KernelTableSet read_kernel_tables(const std::filesystem::path& folder, std::string_view gpu);

}  // namespace epsim
