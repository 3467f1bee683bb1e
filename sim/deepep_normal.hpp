#pragma once
// Prediction of the bottleneck bandwidth that DeepEP's normal-kernel benchmarks report
// (tests/test_intranode.py and tests/test_internode.py of github.com/deepseek-ai/DeepEP), built from
// epsim's own pieces: the topology's links and routes, DeepEP node forwarding
// (comm/node_forwarding.hpp) and the link efficiencies of CollectiveParams. Used by the
// validation in docs/validation.md against scenarios/measurements/deepep_normal_kernels_h800.csv.
#include <cstdint>
#include <string>

#include "sim/collectives.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// The benchmark's workload. Defaults are those of DeepEP's tests (4096 tokens per rank, hidden 7168,
/// 256 experts, top-8; internode: experts grouped by node, top-min(nodes, 4) groups; FP8 dispatch
/// with one 4-byte scale per 128 values, BF16 combine).
struct DeepEpBenchmark {
  int tokens_per_gpu = 4096;
  int hidden = 7168;
  int experts = 256;
  int topk = 8;
  int topk_groups = 0;  ///< groups (= nodes) a token may use; 0 = min(nodes, 4) as DeepEP's test
  std::uint64_t seed = 1;  ///< seed of the routing scores (std::mt19937_64 per source GPU)
  /// Ceiling of DeepEP's NVLink-stage copies per GPU and direction, GB/s (1e9 B/s), counting every
  /// token copy a GPU issues (or receives) in that stage, its own included: the kernels move a rank's
  /// own tokens through the same buffers and warps as its peers' (intranode: sender to every rank;
  /// internode: forwarder to every GPU of its node). 160 GB/s is DeepSeek's measured unidirectional
  /// H800 NVLink bandwidth (DeepSeek-V3 technical report, section 3.2.2: "NVLink offers a bandwidth of
  /// 160 GB/s"; the DeepEP maintainers quote the same achievable peak in deepseek-ai/DeepEP issue #16).
  /// 0 = no copy ceiling (link bandwidths only).
  double nvl_copy_GBps = 160.0;
};

/// What the model predicts for one EP size. Reported bandwidths follow DeepEP's tests:
/// intranode: received token copies of a rank (including those it sends to itself) x bytes / t;
/// internode ("RDMA"): the rank's (token, destination node) pairs, its own node included, x bytes / t.
/// Both are averaged over ranks (DeepEP prints rank 0's; the mean removes the sampling noise).
struct DeepEpPrediction {
  double dispatch_GBps = 0;
  double combine_GBps = 0;
  double dispatch_time_us = 0;  ///< max over links of bytes / effective bandwidth
  double combine_time_us = 0;
  LinkKind bottleneck = LinkKind::nvlink;  ///< kind of the link that sets dispatch_time_us
  double nvlink_time_us = 0;   ///< dispatch: NVLink stage alone (slowest NVLink link or copy ceiling)
  double nvl_copy_time_us = 0; ///< dispatch: busiest GPU's NVLink-stage copies at nvl_copy_GBps
  double network_time_us = 0;  ///< dispatch: slowest InfiniBand/Ethernet link alone (0 on one node)
  double tokens_per_node_pair = 0;  ///< mean distinct destination nodes per token (internode count)
};

/// Predict DeepEP's reported bandwidth on `routes` (all GPUs are EP ranks, rank = expert block: GPU
/// g hosts experts [g E/G, (g+1) E/G)). Routing scores are i.i.d. (only their order matters, so
/// uniform 64-bit integers stand in for DeepEP's |randn| + 1). Dispatch link bytes come from
/// add_token_link_bytes with node forwarding; combine is its mirror (every link's reverse carries
/// the dispatch tokens at BF16 size, as DeepEP's combine reduces at the forwarder and returns one
/// copy per node). Link bandwidth = nominal x the CollectiveParams efficiency of its kind. The time is
/// the larger of the busiest link's and the busiest GPU's NVLink-stage copies at nvl_copy_GBps.
/// Throws std::invalid_argument when experts is not a multiple of the GPU count, topk exceeds the
/// experts of the allowed groups, a GPU has no host, or a link has no reverse link.
DeepEpPrediction predict_deepep_normal(const RouteTable& routes, const DeepEpBenchmark& bench,
                                       const CollectiveParams& params = {});

}  // namespace epsim
