#pragma once
// Readers of the published communication tables (../shared/data/measurements/, copied with their
// PROVENANCE into scenarios/measurements/comm/ and tests/data/comm/): AIConfigurator's nccl_perf.csv,
// NCCL EP, DeepEP PR 521 (NVSHMEM vs NCCL backends), DeepEP V2, Hybrid-EP, TensorRT-LLM's one-sided
// GB200 table and the DeepEP H800 normal-kernel csv; and which table a file is. The DeepEP
// AIConfigurator tables are measurements/deepep_tables.hpp, nccl-tests text measurements/nccl_tests_table.hpp.
// Units as published (stated per field). Every reader throws InputError naming the file, line and
// column of a missing column, a non-numeric field or a value out of its range.
#include <filesystem>
#include <string>
#include <vector>

namespace epsim {

/// What a measured communication file is (detect_comm_table).
enum class CommTableKind {
  unknown,
  measurements_json,    ///< a JSON document: the harness's measurements.json (schema epsim.measurements/1)
  nccl_tests_text,      ///< nccl-tests stdout (all_reduce_perf, all_gather_perf, alltoall_perf, ...)
  nccl_tests_aws_csv,   ///< AWS p5 nccl-tests csv (Nodes, GPUs, size(MB), ...)
  aic_nccl_perf,        ///< AIConfigurator comm/nccl/*/nccl_perf.csv
  aic_deepep_ll,        ///< AIConfigurator wideep_deepep_ll_perf.csv
  aic_deepep_normal,    ///< AIConfigurator wideep_deepep_normal_perf.csv
  nccl_ep_ll,           ///< NCCL EP low-latency bandwidth table
  deepep_pr521_ll,      ///< DeepEP PR 521 low-latency table
  deepep_pr521_normal,  ///< DeepEP PR 521 normal table
  deepep_v2_normal,     ///< DeepEP V2 README table
  hybrid_ep,            ///< Hybrid-EP table
  onesided_nvlink,      ///< TensorRT-LLM one-sided NVLink all-to-all (GB200 NVL72)
  deepep_h800_normal,   ///< DeepEP v1 legacy H800 normal-kernel bottleneck bandwidth
  onesided_payload,     ///< TensorRT-LLM one-sided NVLink dispatch at one batch, by payload (BF16, MXFP8, NVFP4)
};
std::string_view to_string(CommTableKind kind);

/// The kind of a file from its content: a JSON document (measurements_json: its reader checks it), an nccl-tests
/// data table, or a CSV whose header holds a known table's columns. unknown when none matches (the
/// caller names the file). Throws InputError naming the file when it cannot be read, is empty or
/// blank, holds only '#' comment lines, or is a known CSV table with its header but no data rows.
CommTableKind detect_comm_table(const std::filesystem::path& path);

// Every reader below throws InputError naming the file, line and column of a field out of its range:
// GPU counts (num_gpus, node_count, ep_size, ep, ranks, a V2 topo's GPUs) whole, at most 1024 (DeepEP
// and Hybrid-EP EP sizes: multiples of 8 from 8); SM counts whole in [1, 1024]; bandwidths (GB/s) in
// [1e-3, 1e5] (a link's range, common/limits.hpp); other measured values in [1e-9, 1e12].

/// One row of nccl_perf.csv: nccl-tests out-of-place time of one collective on `gpus` GPUs of ONE node.
struct NcclPerfRow {
  int line = 0;
  std::string op;         ///< all_gather, alltoall, reduce_scatter, all_reduce
  int gpus = 0;
  int element_bytes = 0;  ///< nccl_dtype: half 2, int8 1 (float 4, bfloat16 2)
  double elements = 0;    ///< message_size column (ELEMENTS, nccl-tests' count x ranks for gather ops)
  double bytes() const { return elements * element_bytes; }  ///< nccl-tests "size"
  double time_us = 0;     ///< latency column (ms) x 1000
};
std::vector<NcclPerfRow> read_aic_nccl_perf(const std::filesystem::path& path);

/// NCCL EP LL (num_gpus, node_count, dispatch_bw_GBps, combine_bw_GBps): bandwidth = valid selections
/// x hidden x 2 B / time, 128 tokens, top-8, hidden 7168 (PROVENANCE.md).
struct NcclEpRow {
  int line = 0;
  int gpus = 0, nodes = 0;
  double dispatch_GBps = 0, combine_GBps = 0;
};
std::vector<NcclEpRow> read_nccl_ep_table(const std::filesystem::path& path);

/// DeepEP PR 521 LL: backend, ep_size, dispatch_latency_us, dispatch_rdma_bw_GBps, combine_...
struct DeepEpPr521LlRow {
  int line = 0;
  std::string backend;
  int ep = 0;
  double dispatch_us = 0, dispatch_GBps = 0, combine_us = 0, combine_GBps = 0;
};
std::vector<DeepEpPr521LlRow> read_deepep_pr521_ll(const std::filesystem::path& path);

/// Bottleneck bandwidth of DeepEP normal kernels (PR 521, V2 and the H800 csv), GB/s in DeepEP's
/// count: internode = (token, destination node) pairs incl. the own node x bytes / time per rank.
struct DeepEpBandwidthRow {
  int line = 0;
  std::string label;        ///< backend (PR 521), arch + NIC (V2), scope (H800)
  int gpus_per_node = 8;
  int nodes = 0;            ///< EP / gpus_per_node
  int sms = 0;              ///< 0: not stated
  double dispatch_GBps = 0, combine_GBps = 0;
  std::string dispatch_link, combine_link;  ///< "RDMA" / "NVLink" as published
};
std::vector<DeepEpBandwidthRow> read_deepep_pr521_normal(const std::filesystem::path& path);
/// DeepEP V2 README: topo "EP 8 x 2" = 8 GPUs per node x 2 nodes, "EP 8" = one node.
std::vector<DeepEpBandwidthRow> read_deepep_v2_normal(const std::filesystem::path& path);
/// The H800 csv (ep, scope, phase, bottleneck_medium, bottleneck_GBps): one row per EP, both phases.
std::vector<DeepEpBandwidthRow> read_deepep_h800_normal(const std::filesystem::path& path);

/// Hybrid-EP (ranks, sm_count, torchapi_* and kernelonly_* GB/s): algorithm bandwidth over IB, 4096
/// tokens, hidden 7168, top-8, uniform router, 8 experts per rank.
struct HybridEpRow {
  int line = 0;
  int ranks = 0, sms = 0;
  double torch_dispatch_fp8_GBps = 0, torch_dispatch_bf16_GBps = 0, torch_combine_GBps = 0;
  double kernel_dispatch_fp8_GBps = 0, kernel_dispatch_bf16_GBps = 0, kernel_combine_GBps = 0;
};
std::vector<HybridEpRow> read_hybrid_ep_table(const std::filesystem::path& path);

/// TensorRT-LLM one-sided NVLink all-to-all: ep_size, batch_size (tokens per rank), latencies in us.
/// ep_size: GPUs of one NVLink domain, 2 to 576 (NVL576); InputError naming line and column otherwise.
struct OneSidedRow {
  int line = 0;
  int ep = 0, batch = 0;
  double dispatch_us = 0, combine_us = 0;
};
std::vector<OneSidedRow> read_onesided_table(const std::filesystem::path& path);

/// TensorRT-LLM one-sided NVLink dispatch of one batch with several payload recipes (the blog's
/// post-quantization table: BF16 14336, MXFP8 7392, NVFP4 4032 bytes per token): columns recipe,
/// bytes_per_token, dispatch_latency_us, batch_size and the EP as ep_size or, in the published table
/// whose EP is inferred, ep_size_inferred_from_bf16_row (one of them; EP 2 to 576 as above). Throws
/// InputError naming the file, line and column on a missing column or both EP columns, an empty recipe, a
/// repeated recipe, bytes_per_token outside
/// [1, limits::kMaxMeasuredValue], or a time outside the measured range.
struct OneSidedPayloadRow {
  int line = 0;
  std::string recipe;
  int ep = 0, batch = 0;
  double bytes_per_token = 0;
  double dispatch_us = 0;
};
std::vector<OneSidedPayloadRow> read_onesided_payload_table(const std::filesystem::path& path);

}  // namespace epsim
