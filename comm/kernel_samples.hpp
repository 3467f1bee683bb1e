#pragma once
// Measured exchange-kernel rows as KernelSamples (comm/kernel_fit.hpp): what each published benchmark
// ran (GPUs, nodes, tokens, routing, bytes per token copy) and its measured time per direction. Tables
// that publish a bandwidth are turned into times with the benchmark's own byte count (stated per
// function). Used by `epsim calibrate` and docs/validation.md's tables.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "comm/kernel_fit.hpp"
#include "measurements/comm_tables.hpp"
#include "measurements/deepep_tables.hpp"

namespace epsim {

/// Bytes of one token copy: FP8 with one 4-byte scale per 128 values (DeepEP's dispatch: hidden +
/// hidden / 128 x 4), or BF16 (2 x hidden).
double fp8_token_bytes(int hidden);
double bf16_token_bytes(int hidden);

/// AIConfigurator DeepEP LL (deepep-ll): valid selections = dispatch GB/s x us x 1e3 / (FP8 bytes + 16),
/// FP8 dispatch / BF16 combine, plain top-k, 8 GPUs per node. group = nodes.
std::vector<KernelSample> deepep_ll_samples(const std::vector<DeepEpLlRow>& rows);
/// AIConfigurator DeepEP normal (deepep-normal): tokens x top-k selections, FP8 dispatch / BF16 combine,
/// DeepEP's test routing (grouped, top min(nodes, 4) groups by group maximum), the row's SMs. group = tokens.
std::vector<KernelSample> deepep_normal_samples(const std::vector<DeepEpNormalRow>& rows);
/// NCCL EP LL (deepep-ll): 128 tokens x top-8, 256 experts, BF16 both ways (hidden 7168); time =
/// 1024 selections x 14336 B / bandwidth (PROVENANCE.md: the DeepEP test convention). group = nodes.
std::vector<KernelSample> nccl_ep_samples(const std::vector<NcclEpRow>& rows);
/// DeepEP PR 521 LL (deepep-ll, NVLink off: same-node peers through the NIC, as its EP 8 rows show):
/// 128 tokens, top-8, 256 experts, FP8 dispatch / BF16 combine; selections = RDMA GB/s x us x 1e3 /
/// bytes. group = EP.
std::vector<KernelSample> deepep_pr521_ll_samples(const std::vector<DeepEpPr521LlRow>& rows);

/// The setting of a DeepEP-style normal-kernel bandwidth table.
struct DeepEpBandwidthSetting {
  int tokens = 4096;         ///< tokens per rank
  int hidden = 7168;
  int experts = 256;
  int topk = 8;
  bool grouped = true;       ///< DeepEP's test routing (top min(nodes, 4) node groups); false: plain top-k
  int sms = 24;              ///< SMs when the row states none (DeepEP tests/test_internode.py: 24; an assumption)
  double nvlink_GBps = 450;  ///< per GPU (H100 450, H800 200, B200 900)
  double nic_GBps = 50;
};
/// Normal-kernel rows given as DeepEP's bottleneck bandwidth (PR 521, V2, H800, Hybrid-EP through
/// hybrid_ep_rows): time = counted bytes / bandwidth, counted as DeepEP does: internode = (token,
/// destination node) pairs including the own node x bytes (RDMA), one node = (token, destination GPU)
/// pairs including the rank itself x bytes (NVLink); pairs from the routing of `setting`
/// (uniform_routing_statistics). group = nodes.
std::vector<KernelSample> deepep_bandwidth_samples(const std::vector<DeepEpBandwidthRow>& rows,
                                                   const DeepEpBandwidthSetting& setting);
/// Hybrid-EP kernel-only rows (FP8 dispatch, combine) as DeepEpBandwidthRows: 8 GPUs per node, the
/// row's SMs. Its setting: 4096 tokens, 8 experts per rank, plain top-8 (uniform router). The count is
/// the benchmark's own (hybrid-ep branch tests/test_hybrid_ep.py): rdma_send_bytes = (token, node)
/// pairs with the own node (utils.py count_rdma_send_from_routing_map keeps it "to align with DeepEP")
/// x hidden x 2, x (1 + 4/128) / 2 for FP8; the combine's the same pairs in BF16.
std::vector<DeepEpBandwidthRow> hybrid_ep_rows(const std::vector<HybridEpRow>& rows);
DeepEpBandwidthSetting hybrid_ep_setting(int ranks);

/// TensorRT-LLM one-sided NVLink (nvlink-one-sided): one NVLink domain of EP GB200 GPUs (900 GB/s),
/// batch x top-8 selections of 256 experts, plain top-k (the blog's uniform router), BF16 both ways.
/// group = EP.
std::vector<KernelSample> onesided_samples(const std::vector<OneSidedRow>& rows);
/// The same setting's dispatch at one batch with the row's payload (bytes_per_token: BF16, MXFP8 or
/// NVFP4 with their scales), dispatch samples only (the table has no combine). group = the row's index.
std::vector<KernelSample> onesided_payload_samples(const std::vector<OneSidedPayloadRow>& rows);

/// NCCL all-to-all (nccl kernel) from nccl_perf.csv alltoall rows on one node of `gpus` GPUs
/// (NVLink `nvlink_GBps`): S = size bytes per rank, S / gpus to every rank; duplicate (gpus, size)
/// rows (repeated sweeps) become one sample at their median time, as a dispatch and as a combine
/// sample (an all-to-all has no direction; both phases of the kernel are fitted). group = the size's
/// index among the file's sizes (so "odd sizes" are a leave-out).
std::vector<KernelSample> nccl_alltoall_samples(const std::vector<NcclPerfRow>& rows, double nvlink_GBps = 450);

/// Every kernel sample of one measured file, by the kernel it calibrates (detect_comm_table; tables
/// that are not kernel tables give none). Throws InputError from the readers.
std::map<ExchangeKernelKind, std::vector<KernelSample>> kernel_samples_from_file(const std::filesystem::path& path,
                                                                                CommTableKind kind);

/// The fields `epsim calibrate` fits for each kernel from its samples (docs/validation.md, "Calibrate").
std::vector<FitField> calibration_fields(ExchangeKernelKind kind);

}  // namespace epsim
