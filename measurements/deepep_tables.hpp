#pragma once
// Readers of the DeepEP kernel tables AIConfigurator publishes (wideep_deepep_{ll,normal}_perf.csv,
// ../shared/data/measurements/aiconfigurator/*/comm/sglang/*/): one row per (nodes, shape, tokens[, SMs]).
// Units as published: times in us, bandwidth in GB/s (DeepEP's logical-bytes convention).
#include <filesystem>
#include <string>
#include <vector>

namespace epsim {

/// GPUs of one node in both tables: AIConfigurator's collector runs DeepEP's tests on 8-GPU nodes (H100
/// / H200 SXM), so a row's ranks are node_num x 8. The readers cap node_num at
/// limits::kMaxMeasuredTableGpus / 8; kernel_samples.cpp builds each row's samples on nodes of this size.
inline constexpr int kAicDeepEpGpusPerNode = 8;

/// One row of wideep_deepep_ll_perf.csv (DeepEP low-latency kernels, kAicDeepEpGpusPerNode GPUs per node).
struct DeepEpLlRow {
  int line = 0;  ///< 1-based line in the file
  int nodes = 0, hidden = 0, tokens = 0, topk = 0, experts = 0;
  double dispatch_us = 0, combine_us = 0;
  double dispatch_GBps = 0, combine_GBps = 0;
  /// Valid (token, expert) selections per rank: dispatch_GBps x dispatch_us x 1e3 / (hidden + hidden /
  /// 128 x 4 + 16) (the test masks 10 random slots per rank, so fewer than tokens x topk).
  double selections() const;
};

/// One row of wideep_deepep_normal_perf.csv (DeepEP normal kernels: transmit and notify kernel times).
struct DeepEpNormalRow {
  int line = 0;
  int nodes = 0, hidden = 0, tokens = 0, topk = 0, experts = 0, sms = 0;
  int combine_sms = 0;  ///< combine_sms column (the collector sets it equal to dispatch_sms)
  double dispatch_us = 0, dispatch_notify_us = 0, combine_us = 0, combine_notify_us = 0;
};

/// Read the tables. Throws InputError naming the file, line and column on a missing column, a
/// non-numeric or non-positive size, a non-positive time (notify may be 0), or a row the routing of its
/// samples cannot run: node_num x 8 GPUs above limits::kMaxMeasuredTableGpus, num_experts above
/// limits::kMaxExperts, num_topk above num_experts; in the normal table also num_experts not a multiple
/// of the GPUs (DeepEP's tests/test_internode.py places num_experts / num_ranks experts on each rank, and
/// its grouped routing needs equal node groups) and num_topk above the experts of the min(node_num, 4)
/// node groups that routing draws from (comm/kernel_samples.hpp deepep_normal_samples).
std::vector<DeepEpLlRow> read_deepep_ll_table(const std::filesystem::path& path);
std::vector<DeepEpNormalRow> read_deepep_normal_table(const std::filesystem::path& path);

}  // namespace epsim
