#pragma once
// THE closed form of one exchange direction under an exchange kernel (comm/exchange_kernel.hpp). Every
// caller (the planner's objective, simulate's analytical and flow models, validate, calibrate, predict)
// reduces its traffic to an ExchangeLoadSummary and calls phase_time; no other file turns bytes into an
// exchange time.
//
//   latency = latency_us + latency_per_log2_node_us x log2(nodes) + per_remote_expert_us x remote_experts
//             + per_peer_us x peers
//   body    = max( link_s + self_bytes / self_copy_GBps,
//                  (sm_bytes + sm_copies_per_token x sm_token_bytes) / (sm_rate_GBps x sms^sm_exponent),
//                  issue_rounds x per_token_round_us ) / ramp(peer_message_bytes)
//   simple  = (latency^p + body^p)^(1/p)                               p = overlap_exponent >= 1
//   time    = min(simple, ll_latency_us + per_peer_us x peers + max(sent_bytes / ll_bandwidth_GBps, 2 link_s))
//             (LL when enabled; LL lines are half flags, so its links carry twice the data)
// link_s is max over links of bytes / (bandwidth x efficiency of the link's kind) (effective_bandwidth_Bps).
//
// p2p channels (nccl, hierarchical: p2p_channels > 0). NCCL runs a grouped send/recv as p2p operations,
// one per peer, each striped over a few channels (one CTA each). Its own rules (p2p_plan below) fix the
// protocol and the channels per peer from the per-peer message m, the ranks and the node count; then
//   simple = (latency^p + body^p)^(1/p),  body = max(link_s + self, sent / (concurrent x channel_GBps), sm)
//                                                + min(m / channels, step) / channel_GBps
//            (the channel ceiling, and the pipeline fill: a channel's first chunk crosses both copy
//            stages, the sender's and the receiver's, before they overlap); body / ramp(m) only when
//            the exchange spans several nodes (the network transport's per-message ramp; off by
//            default, fitted by `epsim calibrate` on multi-node alltoall_perf runs)
//   time   = LL form above when p2p_plan picks LL, simple otherwise (no min: NCCL does not time them).
#include <string_view>

#include "comm/exchange_kernel.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Bandwidth of `link` for this kernel's copies, bytes/s: bandwidth_GBps x 1e9 x the efficiency of the
/// link's kind (nvlink, pcie, infiniband, ethernet) for a nominal link; bandwidth_GBps x 1e9 as is for
/// a link whose bandwidth is already effective (Link::basis, e.g. NCCL XML's NVLink and PCIe).
double effective_bandwidth_Bps(const KernelPhaseParams& params, const Link& link);

/// What the closed form needs of one exchange direction at the GPU (or link) that finishes last.
struct ExchangeLoadSummary {
  double link_s = 0;              ///< max over links of bytes / effective bandwidth, seconds
  int bottleneck_link = -1;       ///< the link of link_s (-1: no byte on any link)
  double sm_bytes = 0;            ///< bytes the busiest GPU's kernel SMs move (deepep-normal, hybrid-ep, nvlink-one-sided)
  double sm_token_bytes = 0;      ///< one copy of each token a GPU originates, bytes (x sm_copies_per_token)
  double self_bytes = 0;          ///< bytes a GPU copies to itself through the kernel (nccl)
  double sent_bytes = 0;          ///< bytes the busiest GPU sends to its peers (nccl LL protocol)
  double peer_message_bytes = 0;  ///< bytes of one per-peer message (nccl ramp); 0: no ramp
  int peers = 0;                  ///< destination GPUs a GPU sends to (per_peer_us)
  int nodes = 1;                  ///< nodes of the EP group (latency_per_log2_node_us)
  double remote_experts = 0;      ///< experts hosted off the GPU's node (per_remote_expert_us)
  double issue_rounds = 0;        ///< deepep-ll: tokens one issuing SM sends in turn after its first (per_token_round_us)
};

/// What NCCL's p2p scheduler does with one per-peer message (NCCL 2.27 src/enqueue.cc addP2pToPlan and
/// scheduleP2pTasksToPlan, src/graph/paths.cc ncclTopoGetNchannels; docs/simulator.md "nccl"):
///   ranks = peers + 1; max = p2p_channels on one node (NVLink peers get 2 per NVLink, more than the 32
///   p2p channels of an H100), across nodes net_channels_per_peer halved while max x ranks > 4 x
///   p2p_channels; min = max halved while min x ranks > p2p_channels;
///   LL when ll_threshold_bytes > 0, ll_bandwidth_GBps > 0 and m <= max x ll_threshold_bytes;
///   step = 64 KiB for LL (NCCL's LL buffer / NCCL_STEPS), else p2p_chunk_bytes (one node) or
///   net_chunk_bytes (several); parts of at least step/8 (one node) or step/2 and at most 32 step or
///   step: channels = min(min, ceil(m / min part)), doubled while m / channels > max part and
///   channels <= max / 2; concurrent = min(p2p_channels, peers x channels) (a channel runs up to 8
///   peers' operations at once, NCCL_MAX_DEV_WORK_P2P_PER_BATCH, sharing its rate).
/// Requires p2p_channels >= 1, m >= 0, peers >= 0, nodes >= 1.
struct P2pPlan {
  bool ll = false;         ///< LL protocol (else Simple)
  int channels_per_peer = 1;
  int concurrent_channels = 0;
  double step_bytes = 0;   ///< the protocol's chunk (pipeline step)
};
P2pPlan p2p_plan(const KernelPhaseParams& params, double message_bytes, int peers, int nodes);

/// The closed form's answer, us. bottleneck: "latency", "link", "sm", "issue" (deepep-ll's issue rounds,
/// counted in sm_us), "channel", "ramp" (the ramp below 0.5: the per-message cost exceeds the steady
/// terms), "ll-protocol".
struct PhaseTime {
  double time_us = 0;
  double latency_us = 0;
  double per_message_us = 0;  ///< the part of latency_us paid per message: per_remote_expert_us and per_peer_us terms
  double link_us = 0;   ///< link_s + self copy, before the ramp
  double sm_us = 0;
  double ramp = 1;      ///< bandwidth fraction reached at this message size (1: none)
  double channel_us = 0;  ///< p2p channels: sent / (concurrent channels x channel_GBps), 0 otherwise
  double fill_us = 0;     ///< p2p channels: the pipeline fill of one chunk, 0 otherwise
  int channels_per_peer = 0;  ///< p2p channels: NCCL's channels per peer operation, 0 otherwise
  std::string_view bottleneck = "latency";
};

/// Evaluate the closed form (see the file comment). sms: SMs of the kernel (sm term). An exchange that
/// moves nothing (link_s, sm_bytes, self_bytes and sent_bytes all 0) costs 0. Throws
/// std::invalid_argument on a negative or non-finite input.
PhaseTime phase_time(const KernelPhaseParams& params, int sms, const ExchangeLoadSummary& load);

/// deepep-normal's notify phase (metadata all-to-all) or hybrid-ep's preprocessing before a dispatch, us:
/// notify_latency_us + notify_per_log2_node_us x log2(nodes); 0 for other kernels (has_notify_phase)
/// and on one node.
double notify_time_us(const ExchangeKernelParams& params, int nodes);

/// Physical ceilings of a kernel parameter (docs/limits.md): no kernel step takes a second, no link or
/// copy engine moves more than 1e6 GB/s, no message or ramp is larger than 1e12 bytes. Above them a
/// finite input could make an iteration overflow to inf. validate_kernel_params refuses more; a fit
/// (comm/kernel_fit.hpp) never returns more.
inline constexpr double kKernelMaxLatency_us = 1e6;
inline constexpr double kKernelMaxRate_GBps = 1e6;
inline constexpr double kKernelMaxBytes = 1e12;
/// sm_copies_per_token's ceiling (comm/exchange_kernel.hpp).
inline constexpr double kKernelMaxSmCopiesPerToken = 1000;

/// Check a kernel's parameters: efficiencies in (0, 1], latencies, rates and ramp >= 0, exponents
/// (sm > 0, overlap >= 1), sms >= 1. Throws InputError naming `where` and the field as the JSON
/// pointer `pointer_prefix` + "/dispatch/latency_us" (a kernel inside a document passes its pointer).
void validate_kernel_params(const ExchangeKernelParams& params, const std::string& where,
                            const std::string& pointer_prefix = "");

}  // namespace epsim
