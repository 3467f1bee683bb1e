#pragma once
// Prediction of the bandwidth DeepEP's normal-kernel benchmarks report (tests/test_intranode.py and
// tests/test_internode.py of github.com/deepseek-ai/DeepEP) with the deepep-normal exchange kernel that
// `epsim simulate` and `epsim plan` run: the benchmark's routing gives the de-duplication
// (ExchangeRouting) and the selections per rank, comm/link_load.hpp turns them into link bytes and
// comm/exchange_cost.hpp into a time. No cost formula of its own: the validated model is the one users
// run. Used by the validation in docs/validation.md against
// scenarios/measurements/deepep_normal_kernels_h800.csv.
#include <cstdint>
#include <string_view>

#include "comm/exchange_kernel.hpp"
#include "comm/link_load.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// The benchmark's workload. Defaults are those of DeepEP's tests (4096 tokens per rank, hidden 7168,
/// 256 experts, top-8, 24 SMs; internode: experts grouped by node, top-min(nodes, 4) groups by group
/// maximum; FP8 dispatch with one 4-byte scale per 128 values, BF16 combine).
struct DeepEpBenchmark {
  int tokens_per_gpu = 4096;
  int hidden = 7168;
  int experts = 256;
  int topk = 8;
  int topk_groups = 0;     ///< groups (= nodes) a token may use; 0 = min(nodes, 4) as DeepEP's test
  int sms = 24;            ///< SMs of the kernel: DeepEP tests/test_internode.py `num_sms = 24`
  std::uint64_t seed = 1;  ///< seed of the routing sample (comm/token_router.hpp)
};

/// What the model predicts for one EP size. Reported bandwidths follow DeepEP's tests:
/// intranode: received token copies of a rank (including those it sends to itself) x bytes / t;
/// internode ("RDMA"): the rank's (token, destination node) pairs, its own node included, x bytes / t.
struct DeepEpPrediction {
  double dispatch_GBps = 0;
  double combine_GBps = 0;
  double dispatch_time_us = 0;  ///< exchange_cost of the dispatch (notify included)
  double combine_time_us = 0;
  /// What sets the dispatch time: "link" (then bottleneck_kind is the busiest link's kind), "sm"
  /// (the kernel's SM copy rate) or "latency" (PhaseTime::bottleneck).
  std::string_view bottleneck = "link";
  LinkKind bottleneck_kind = LinkKind::nvlink;
  double nvlink_time_us = 0;   ///< dispatch: busiest NVLink link alone (bytes / effective bandwidth)
  double network_time_us = 0;  ///< dispatch: busiest InfiniBand/Ethernet link alone (0 on one node)
  double sm_time_us = 0;       ///< dispatch: the kernel's SM term (PhaseTime::sm_us)
  double latency_us = 0;       ///< dispatch: latency terms and notify
  double tokens_per_node_pair = 0;  ///< mean distinct destination nodes per token (internode count)
  ExchangeRouting routing;     ///< the de-duplication of the benchmark's routing
};

/// Predict DeepEP's reported bandwidth on `routes` (all GPUs are EP ranks, rank = expert block: GPU
/// g hosts experts [g E/G, (g+1) E/G)) with `kernel` (its sms replaced by bench.sms). Routing: the
/// benchmark's tokens_per_gpu x G tokens drawn by TokenRouter with groups = nodes and
/// GroupScore::max (DeepEP's test: i.i.d. scores, a group scores its best expert); every rank computes
/// tokens_per_gpu x topk selections. Time: exchange_cost (comm/link_load.hpp) of both directions.
/// Throws std::invalid_argument when experts is not a multiple of the GPU and node counts, topk
/// exceeds the experts of the allowed groups, tokens, hidden or topk < 1, or GPU ranks are not
/// numbered host by host with equal GPUs per host; InputError when the kernel's parameters are invalid.
DeepEpPrediction predict_deepep_normal(const RouteTable& routes, const DeepEpBenchmark& bench,
                                       ExchangeKernelParams kernel = default_kernel_params(ExchangeKernelKind::deepep_normal));

}  // namespace epsim
