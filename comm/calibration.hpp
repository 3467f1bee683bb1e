#pragma once
// THE calibration of epsim (calibration.json, schema "epsim.calibration/2"; "epsim.calibration/1"
// files are read too): one struct, one reader, one writer. Written by `epsim calibrate` (fits from
// the harness's measurements.json, nccl-tests output and published kernel tables), read by simulate,
// plan, sweep and validate: link bandwidths and latencies (collectives and exchanges), the GEMM
// efficiency curve and overlap slowdown (compute), and each exchange kernel's fitted parameters
// (comm/exchange_cost.hpp). docs/formats-measurements.md describes the file.
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "comm/exchange_kernel.hpp"
#include "common/json_input.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Measured properties of one kind of link. When present they replace the datasheet bandwidth times a
/// model's efficiency factor (bandwidth is the achieved one, capped at the nominal) and the collective
/// model's per-step latency of that kind.
///
/// bandwidth_GBps is PER GPU: what one GPU reaches over links of that kind (the harness's p2p between
/// two GPUs, nccl-tests' bus bandwidth / GPUs per node), not what one link carries. On a topology it
/// becomes one link's figure through calibrated_link_bandwidth_GBps (the rule, in one place): divided by
/// calibration_links_per_gpu, the parallel links of that kind one GPU's traffic spreads over (AWS p5:
/// 40 GB/s per GPU over 4 EFA NICs = 10 GB/s per NIC link; one NIC per GPU: the figure as is).
struct LinkCalibration {
  std::optional<double> bandwidth_GBps;  ///< achieved bandwidth per GPU and direction, 1e9 bytes/s, > 0
  std::optional<double> latency_ns;      ///< per-step latency (NCCL's Simple protocol), ns, >= 0
  std::optional<double> ll_latency_ns{};    ///< per-step latency of NCCL's LL protocol, ns, >= 0
  std::optional<double> ll128_latency_ns{}; ///< per-step latency of NCCL's LL128 protocol, ns, >= 0
  /// Network kinds: Tree all-reduce's share of the network bandwidth a ring gets, in (0, 1]
  /// (CollectiveParams::network_tree_bandwidth_fraction; EFA 0.5).
  std::optional<double> tree_bandwidth_fraction{};
  /// Whether it gives the link kind a rate or a step latency (any protocol): what replaces the kind's
  /// defaults for every collective step. A Tree fraction alone does not.
  bool sets_rate_or_latency() const { return bandwidth_GBps || latency_ns || ll_latency_ns || ll128_latency_ns; }
};

/// How many parallel links of `kind` one GPU's traffic of that kind spreads over in `topology`: the
/// divisor from a calibration's per-GPU bandwidth (LinkCalibration) to one link's. > 0.
///  - infiniband, ethernet: the links of that kind from a device with a host (a NIC) to a device
///    without one (the fabric), divided by the GPUs of the hosts that have such links. A GPU's network
///    bytes split evenly over its NICs (docs/topology.md, "Several NICs per GPU"), so with K
///    single-port NICs per GPU each carries 1/K: AWS p5 (aws_p5_options, imported p5 XML) 32 / 8 = 4,
///    DGX H100 8 / 8 = 1 (the figure as is). NICs shared by GPUs give a fraction (4 NICs for 8 GPUs:
///    0.5, one NIC link carries two GPUs' shares). 1 when the topology has no host-to-fabric link of
///    that kind (one node).
///  - nvlink, pcie: 1. Every topology epsim generates or imports gives a GPU ONE link of that kind
///    towards its peers (one aggregated GPU-NVSwitch link, NVLink count x per-link rate; one GPU-PCIe
///    switch link; DGX-1 mesh: one direct link per neighbour, and a one-node fit measures a
///    neighbour's), so the per-GPU figure is that link's, as before this rule existed.
double calibration_links_per_gpu(const Topology& topology, LinkKind kind);

/// One link's achieved bandwidth of kind `kind`, GB/s per direction, from a calibration's per-GPU
/// figure `per_gpu_GBps` (> 0): per_gpu_GBps / calibration_links_per_gpu(topology, kind). The one
/// place the per-GPU figure meets links: the collective model (comm/collectives.hpp, which caps it at
/// each link's bandwidth) and calibrated_kernel_params use it. Cost: one pass over the links.
double calibrated_link_bandwidth_GBps(double per_gpu_GBps, const Topology& topology, LinkKind kind);

/// The nominal bandwidth of the slowest link of kind `kind` with a GPU or a NIC at an end (what a p2p
/// transfer between two GPUs must cross, whatever the fabric behind aggregates), GB/s; infinity when the
/// topology has none. Cost: one pass over the links.
double nominal_edge_link_GBps(const Topology& topology, LinkKind kind);

/// One point of the GEMM efficiency curve: achieved / peak tensor throughput at M tokens per expert.
struct GemmEfficiencyPoint {
  double tokens_per_expert = 0;  ///< M (rows of the expert GEMM), > 0
  double efficiency = 0;         ///< in (0, 1]
};

/// One exchange kernel's parameters as fitted by `epsim calibrate`, and what they were fitted on.
struct KernelCalibration {
  ExchangeKernelParams params;  ///< complete (fields the file omits keep the kernel's defaults)
  std::string source;           ///< free text: the measured files and rows (may be empty)
};

/// Fixed costs of a collective by protocol, us: each replaces the CollectiveParams field of the same
/// name (NCCL tuning.cc baseLat[Ring][p]: Simple 8.4, also the hierarchical algorithm's (NVLS prices its
/// phase with nvls_latency_us); LL
/// 6.6; LL128 14; comm/collectives.hpp; NCCL's Tree keeps baseLat[Tree]). `epsim calibrate` fits LL's
/// and LL128's where a file's rows of that protocol take less than the model's base latency with every
/// step latency at 0 (comm/table_calibration.hpp); a user may write any of the three. Each in [0, 1e6]
/// us.
struct CollectiveBaseLatencies {
  std::optional<double> base_latency_us;
  std::optional<double> ll_base_latency_us;
  std::optional<double> ll128_base_latency_us;
};

/// The contents of calibration.json. Every member is optional except the schema.
struct Calibration {
  std::string gpu;     ///< canonical GPU name ("H200", model/gpu_spec.hpp); empty when absent
  std::string device;  ///< the name as the file writes it ("NVIDIA H200"); empty when absent
  std::map<LinkKind, LinkCalibration> links;            ///< keyed by link kind
  CollectiveBaseLatencies collectives;                  ///< "collectives": the base latencies
  std::vector<GemmEfficiencyPoint> gemm_efficiency;     ///< sorted by tokens_per_expert, strictly increasing
  std::optional<double> overlap_slowdown;               ///< >= 1: compute time factor under overlapped comm
  std::map<ExchangeKernelKind, KernelCalibration> exchange_kernels;  ///< fitted kernels, by kind
};

/// The schema string calibration_to_json writes; calibration_from_json reads it and kCalibrationSchemaV1.
inline constexpr const char* kCalibrationSchema = "epsim.calibration/2";
inline constexpr const char* kCalibrationSchemaV1 = "epsim.calibration/1";

/// The canonical GPU name (model/gpu_spec.hpp) of a device name: a name gpu_spec knows ("h200",
/// "H100-SXM"), or a string that holds one known name as a separate word, as CUDA reports devices
/// ("NVIDIA H200", "NVIDIA H100 80GB HBM3") or the shipped synthetic measurements say ("synthetic H200
/// (not measured)"). Throws InputError(where, pointer, ...) listing the known GPUs otherwise.
std::string canonical_gpu_name(const std::string& device, const std::string& where, const std::string& pointer);

/// Parse a calibration document:
/// {"schema":"epsim.calibration/2","gpu":"NVIDIA H200",
///  "links":{"nvlink":{"bandwidth_GBps":..,"latency_ns":..},"infiniband":{..},"pcie":{..},"ethernet":{..}},
///  "collectives":{"base_latency_us":..,"ll_base_latency_us":..,"ll128_base_latency_us":..},
///  "gemm_efficiency":[{"tokens_per_expert":M,"efficiency":e},..], "overlap_slowdown":x,
///  "exchange_kernels":{"deepep-ll":{"source":"..","sms":24,"notify_latency_us":..,"notify_per_log2_node_us":..,
///      "nvlink_for_same_node":true,"header_bytes_per_token":16,"dispatch":{<phase>},"combine":{<phase>}},..}}
/// <phase> holds any of KernelPhaseParams' fields by their C++ names (latency_us, ..., ll_bandwidth_GBps).
/// Throws InputError naming file + JSON pointer for: a missing or unknown schema, a non-object, an
/// unknown link kind, kernel name or field, a bandwidth <= 0, a latency < 0, a base latency above 1e6
/// us, a non-number (NaN is not JSON), an efficiency outside (0, 1], tokens_per_expert not strictly
/// increasing, an overlap_slowdown < 1, an unknown GPU name, or kernel parameters
/// validate_kernel_params rejects. "collectives" is a v2 member.
Calibration calibration_from_json(const Json& doc, const std::string& file);

/// Read and parse a calibration file (see calibration_from_json). Throws InputError.
Calibration load_calibration(const std::filesystem::path& path);

/// The document calibration_from_json reads back to an equal Calibration (schema /2; numbers rounded to
/// 12 significant digits; every kernel field written). Deterministic.
Json calibration_to_json(const Calibration& calibration);

/// The parameters a run uses for exchange kernel `kind`, and a one-line notice ("" when none).
struct CalibratedKernel {
  ExchangeKernelParams params;
  std::string notice;
};

/// One field of a kernel's calibration block that differs from that kernel's defaults (what a file sets;
/// a field equal to the default, as calibration_to_json echoes every field, is not "set").
struct CalibrationField {
  std::string pointer;  ///< JSON pointer below /exchange_kernels/<kernel>, e.g. "/nvlink_for_same_node"
  bool read = true;     ///< whether the reader kernel's cost reads it
};

/// The fields of `params` (a block of kernel params.kind) that differ from default_kernel_params(params.kind)
/// by more than 1e-9 relative, and whether kernel `reader` reads each: nvlink_for_same_node only
/// deepep-ll (same_node_over_nvlink), notify_latency_us / notify_per_log2_node_us only deepep-normal and hybrid-ep
/// (notify_time_us), a phase's channel_GBps, p2p_chunk_bytes, net_chunk_bytes, net_channels_per_peer,
/// ll_threshold_bytes, ll_per_log2_channel_us only when that phase's p2p_channels >= 1 (p2p_plan);
/// every other field is read by every kernel (phase_time, link_load). Order: kernel fields, then
/// dispatch, then combine, then one_node's dispatch and combine ("/one_node/dispatch/latency_us",
/// compared with the kernel's default one-node phases, or its phases for a kernel without them), each in
/// the file's field order.
std::vector<CalibrationField> set_kernel_fields(const ExchangeKernelParams& params, ExchangeKernelKind reader);

/// Kernel parameters under a calibration (null: the defaults, no notice):
///  1. the file's fitted parameters of `kind`; when it has none, the kernel's defaults;
///  2. the notice (one line, its parts joined by "; ", "" when none) says what of the file is not used:
///     - the file has a block for `kind`: the set fields of it (set_kernel_fields) that `kind` does
///       not read, "calibration <file>: /exchange_kernels/<kind>/nvlink_for_same_node is not read by
///       exchange kernel <kind>, the kernel this run uses". Other kernels' blocks are then normal (a
///       file fitted on several kernels' tables serves each) and are not named;
///     - the file has no block for `kind`: "calibration <file> has no parameters for exchange kernel
///       <kind>: its defaults are used", followed, when other kernels' blocks set fields those kernels
///       read, by ", and /exchange_kernels/deepep-ll/nvlink_for_same_node (set for another kernel) is
///       not read" (at most three pointers named, then "and N more");
///     - the topology has network links and every network figure of the file (links.infiniband /
///       links.ethernet with a bandwidth or latency, the set infiniband_efficiency / ethernet_efficiency
///       of the block for `kind`) is of a network kind the topology lacks: "calibration <file> has
///       network figures for ethernet only (/links/ethernet), the topology's network is infiniband:
///       those are not used (infiniband keeps its defaults), the file's other figures are";
///     - the topology has one host, the kernel has one-node phases (ExchangeKernelParams::one_node) and
///       the block sets fields of its other phases: "calibration <file>: /exchange_kernels/<kind>/
///       dispatch/sm_rate_GBps is for exchanges across nodes; this topology has one node, whose
///       exchanges read /exchange_kernels/<kind>/one_node ... and its defaults";
///  3. then, for every link kind the file gives an achieved bandwidth, each phase's (one_node's too) efficiency of that
///     kind becomes min(efficiency, per-link bandwidth / nominal), per-link bandwidth =
///     calibrated_link_bandwidth_GBps (the file's per-GPU figure / the GPU's parallel links of that
///     kind: AWS p5, 40 GB/s per GPU over 4 x 12.5 GB/s EFA: 10 / 12.5 = 0.8), nominal = the slowest link of that kind
///     with an end at a GPU or a NIC in `topology` (what a p2p measurement between two GPUs crosses;
///     fabric links behind it aggregate several NICs): a kernel cannot move data faster
///     than the calibrated link, as the collective model caps it (comm/collectives.hpp).
/// `file` names the calibration in the notice.
CalibratedKernel calibrated_kernel_params(ExchangeKernelKind kind, const Calibration* calibration,
                                          const std::string& file, const Topology& topology);

/// The notice of a calibration that leaves a collective on GPU ranks `gpus` of `topology` at its
/// defaults (the collectives read `calibration.links` and `calibration.collectives`), "" when a figure
/// applies:
///  - calibrated_kernel_params 2. on network figures alone: the topology has a network and every
///    network figure of the file is of a kind it lacks;
///  - else, when the file has no base latency and no link figure for the kinds the collective
///    crosses (NVLink, and `network_kind`, the collective model's, when the ranks span hosts):
///    "calibration <file> holds no link figures for the links this collective crosses (<kinds>): it is
///    priced with the defaults".
std::string calibration_collective_notice(const Calibration& calibration, const std::string& file,
                                          const Topology& topology, std::span<const int> gpus, LinkKind network_kind);

/// One-line warning when the calibration was made on another GPU than `scenario_gpu` (canonical
/// names differ): "calibration <file> was measured on <device> (<gpu>), the scenario runs <scenario_gpu>".
/// "" when they agree, the calibration names no GPU, or `scenario_gpu` is no GPU epsim knows
/// (canonical_gpu_name).
std::string calibration_gpu_warning(const Calibration& calibration, const std::string& file,
                                    const std::string& scenario_gpu);

}  // namespace epsim
