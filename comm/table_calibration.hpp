#pragma once
// `epsim calibrate` from published tables: each measured communication file becomes exchange-kernel
// samples (comm/kernel_samples.hpp) or collective link samples (nccl-tests), and the fits land in THE
// calibration (comm/calibration.hpp). The harness's measurements.json is fitted by
// cuda_validate/calibration.hpp (the CLI combines both). docs/formats-measurements.md, "Calibration".
#include <filesystem>
#include <limits>
#include <map>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "comm/collectives.hpp"
#include "comm/kernel_fit.hpp"
#include "measurements/comm_tables.hpp"

namespace epsim {

/// Latency and bandwidth of one link class, fitted to t = latency + bytes / bandwidth.
struct LinkFit {
  double bandwidth_GBps = 0;     ///< 1e9 bytes/s
  double latency_ns = 0;         ///< >= 0 (a negative intercept is clamped to 0)
  int samples = 0;
  double max_rel_error = 0;      ///< max over samples of |model - measured| / measured
};

/// Weighted least squares of t = latency + bytes / bandwidth with weights 1 / t^2 (every sample
/// counts by its relative error, so 1 KiB messages fix the latency and 256 MiB ones the bandwidth).
/// bytes, seconds: same size. Throws std::invalid_argument with fewer than two distinct sizes or a
/// fitted slope <= 0 (time not growing with size). Exact data t_i = L + x_i / B gives L and B back.
LinkFit fit_link(std::span<const double> bytes, std::span<const double> seconds);

/// nccl-tests rows of one collective on one set of ranks, for a link fit.
struct CollectiveSamples {
  std::string file;
  std::string op;  ///< all_reduce, all_gather, reduce_scatter, sendrecv
  int ranks = 0;
  int nodes = 0;
  std::vector<double> bytes;    ///< nccl-tests "size" per row
  std::vector<double> time_us;  ///< out-of-place time per row
};

/// What the tables hold, gathered file by file.
struct TableSamples {
  std::map<ExchangeKernelKind, std::vector<KernelSample>> kernels;
  std::vector<CollectiveSamples> collectives;
  std::string device;       ///< the device the files name ("NVIDIA H100"); "" when none does
  std::string device_file;  ///< the file that named it
  /// The network the multi-node files were measured over (`epsim calibrate --network`): infiniband, or
  /// ethernet (RoCE, AWS EFA). add_table gives it to every kernel sample (their cluster's NIC and fabric
  /// links are of this kind, so a fit sets that kind's efficiency) and fit_tables labels multi-node
  /// collective fits with it. Set it before add_table.
  LinkKind network_kind = LinkKind::infiniband;
};

/// Read one measured file of kind `kind` (detect_comm_table) into `samples`:
///  - kernel tables (AIConfigurator DeepEP LL / normal and nccl_perf alltoall, NCCL EP, DeepEP PR 521,
///    V2, H800, Hybrid-EP, one-sided NVLink): kernel_samples_from_file;
///  - nccl-tests text: alltoall_perf -> nccl kernel samples (NVLink 450 GB/s per GPU);
///    all_reduce / all_gather / reduce_scatter / sendrecv -> collective samples. Ranks and hosts come
///    from its "#  Rank N ... on HOST" lines; without them the ranks n from busbw / algbw of the largest
///    size (all_reduce 2(n-1)/n, all_gather / reduce_scatter (n-1)/n) and the nodes = n / gpus_per_node;
///  - the AWS nccl-tests csv (read_aws_p5_csv; all_reduce, all_gather, reduce_scatter, sendrecv or
///    alltoall named in the file name, matched case-blind): one collective per (Nodes, GPUs) of its rows,
///    time = size / out-of-place algbw; alltoall: the nccl kernel's samples of each run. It names no
///    device (--gpu) and no network kind (TableSamples::network_kind: ethernet for EFA).
/// The device a file names (nccl-tests header, a CSV "device" column) must agree with the device
/// named before (canonical_gpu_name). Throws InputError naming the file (and line or field) for an
/// unreadable or malformed file, a kind it cannot calibrate from (unknown, measurements.json), an
/// nccl-tests run whose op or rank count its header does not give, an AWS csv whose file name names no
/// collective (or two), an alltoall run above limits::kMaxEpRanks ranks, a device that differs from an
/// earlier file's, or samples beyond limits::kMaxCalibrationKernelSamples /
/// kMaxCalibrationCollectiveRows. Implemented in comm/table_samples.cpp; the fits below in
/// comm/table_calibration.cpp.
void add_table(TableSamples& samples, const std::filesystem::path& path, CommTableKind kind, int gpus_per_node = 8);

/// One fitted kernel: the parameters, how many samples, mean |predicted / measured - 1| with the
/// defaults and with the fit (on the same samples: a fit figure, not a validation).
struct KernelFitSummary {
  ExchangeKernelKind kind{};
  int samples = 0;
  int dispatch_samples = 0;  ///< of samples; a phase without any keeps the kernel's defaults (written as such)
  /// Of samples, those on one node. A kernel with one-node phases (ExchangeKernelParams::one_node) fits
  /// them on these and its other phases on the rest; each scope without rows keeps its defaults.
  int one_node_samples = 0;
  /// Distinct exchange sizes over the samples: selections per GPU (token counts x top-k) for the EP
  /// kernels, per-peer message bytes for nccl / hierarchical (an all-to-all's rows differ by size, not
  /// by tokens), sizes within 5% of each other counted once. 1 means every row is at one size, where a
  /// fixed cost and a rate trade off: the fit then keeps the latency (and its per-node growth) at the
  /// defaults, and calibrate says so.
  int exchange_sizes = 0;
  int fields = 0;            ///< parameters fitted per phase (calibration_fields); more than a phase's rows: not determined
  double default_error = 0;
  double fitted_error = 0;
};

/// One collective link fit: t = latency + bus bytes / bandwidth over the rows (fit_link's weighting:
/// relative error), bus bytes = size x bus_bandwidth_factor (nccl-tests: all_reduce 2(n-1)/n,
/// all_gather / reduce_scatter (n-1)/n, sendrecv 1); kind = nvlink on one node (bandwidth = the fitted
/// bus bandwidth), TableSamples::network_kind (infiniband or ethernet) across nodes (bandwidth = bus bandwidth / GPUs per node: the collective
/// model's ring adds one rail channel per GPU of a node, comm/collectives.cpp): a per-GPU figure, as
/// calibration.json's links are (comm/calibration.hpp; uses divide it over the GPU's NICs); per-step latency =
/// intercept / steps (ring: all_reduce 2(n-1), all_gather / reduce_scatter n-1, sendrecv 1), what the
/// collective model multiplies by its steps. A bus bandwidth above the link's nominal one (NVLS on
/// one node) is capped at the nominal where it is used (comm/collectives.hpp, calibrated_kernel_params).
/// The latencies of one NCCL protocol (LL or LL128) fitted on a collective's rows of that protocol.
struct ProtocolLatencyFit {
  /// Per step on the run's link kind, ns, in [0, 1e5]; none: fewer than two rows of the protocol.
  std::optional<double> step_latency_ns;
  /// The protocol's base latency, us, in [0, its default]: only when the step latency is 0 (its floor)
  /// and a lower base fits the rows better (calibration.json "collectives").
  std::optional<double> base_latency_us;
};

struct CollectiveFitSummary {
  std::string file;
  std::string op;
  int ranks = 0;
  int nodes = 0;
  LinkKind kind{};
  int samples = 0;
  /// Per GPU, the figure written: on one node whose largest size the model runs as NVLS
  /// (largest_algorithm), the NVLink rate that fits the bandwidth-bound rows through the collective
  /// model; otherwise the line's (line_bandwidth_GBps).
  double bandwidth_GBps = 0;
  double line_bandwidth_GBps = 0;  ///< t = latency + bus bytes / B's B per GPU (a ring's bus reading)
  CollectiveAlgorithm largest_algorithm = CollectiveAlgorithm::ring;  ///< the model's, at the line's bandwidth
  /// The Simple step latency of `kind` that gives the model's ring the line's intercept (network steps
  /// only across hosts; (intercept - 8.4 us) / ring steps without a model).
  double step_latency_ns = 0;
  /// The kind's nominal per-GPU rate on the run's hosts (infinity without a model); a fit above it is
  /// kept only when every fit of the kind is.
  double nominal_GBps = std::numeric_limits<double>::infinity();
  /// LL / LL128 latencies fitted on the rows the model gives those protocols.
  ProtocolLatencyFit ll, ll128;
};

/// One fit of a network kind through the collective model over runs at several node counts (DGX or
/// p5 hosts of 8 GPUs): fit_network_efficiency with FitStepLatency::yes on every row of those runs.
struct NetworkFitSummary {
  LinkKind kind{};
  std::vector<int> nodes;          ///< the runs' node counts, ascending
  int rows = 0;
  double bandwidth_GBps = 0;       ///< per GPU: the kind's nominal per-GPU rate x the fitted efficiency
  double efficiency = 0;
  double latency_ns = 0, ll_latency_ns = 0, ll128_latency_ns = 0;  ///< the fitted Simple / LL / LL128 network steps
  double mean_abs_error = 0;       ///< on the same rows (a fit figure)
};

struct TableFit {
  std::vector<KernelFitSummary> kernels;
  std::vector<CollectiveFitSummary> collectives;
  /// The network kind's joint fit when its runs span >= 2 node counts (at most one): written instead of one run's line.
  std::vector<NetworkFitSummary> networks;
};

/// Fit every kernel with samples (fit_kernel from its defaults over calibration_fields(kind); source =
/// the files) into calibration.exchange_kernels, and every collective into calibration.links (the
/// largest fitted bandwidth of a kind wins: the busiest op saturates the link best; its latency
/// comes with it). A network kind with runs at two or more node counts (all_reduce, all_gather,
/// reduce_scatter on 8-GPU hosts) is instead fitted on all their rows at once through the model
/// (NetworkFitSummary): one run's per-step figures do not carry across node counts. Links the
/// calibration already has (measurements.json's p2p fits) are kept.
/// Throws InputError naming the file when a collective's rows cannot be fitted (fewer than two
/// sizes, time not growing with size).
TableFit fit_tables(const TableSamples& samples, Calibration& calibration);

}  // namespace epsim
