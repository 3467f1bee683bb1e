#pragma once
// One MoE layer's dispatch and combine under an exchange kernel, as `epsim simulate --network
// analytical` costs them (sim/closed_form_exchange.cpp): the link bytes of comm/link_load.hpp, then
// every EP rank's closed form (comm/exchange_cost.hpp) over its own row; the exchange ends when the
// last rank has sent and received its part. What `epsim predict exchange` prints; no formula of its own.
#include <string>
#include <vector>

#include "comm/exchange_cost.hpp"
#include "comm/link_load.hpp"

namespace epsim {

/// One direction of the exchange.
struct ExchangeDirectionPrediction {
  double time_us = 0;       ///< the last rank's time, the notify included (dispatch; has_notify_phase)
  int last_rank = -1;       ///< that EP rank (-1: nothing moves)
  PhaseTime phase;          ///< its closed form (time_us, latency_us and per_message_us include the notify's share)
  double notify_us = 0;     ///< deepep-normal's notify, hybrid-ep's preprocessing (dispatch, more than one node), in time_us
  /// "link", "sm", "channel" (nccl p2p channels), "latency" (fixed latency), "per-message" (the per-peer and per-remote-expert terms
  /// are at least half of a latency that bounds the time), "ll-protocol" (nccl LL), or "none".
  std::string bottleneck = "none";
  int busiest_link = -1;          ///< over all links (-1: no byte on a link)
  double busiest_link_bytes = 0;  ///< its bytes
  double busiest_link_us = 0;     ///< its bytes / its effective bandwidth
  /// Bytes on the links that leave (sent) or enter (received) each EP rank's GPU (its NVLink and
  /// PCIe ports): what the GPU injects and absorbs, forwarded copies included.
  double gpu_sent_bytes_max = 0, gpu_sent_bytes_mean = 0;
  double gpu_received_bytes_max = 0, gpu_received_bytes_mean = 0;
};

struct ExchangePrediction {
  ExchangeDirectionPrediction dispatch, combine;
  double rank_selections_max = 0;   ///< (token, expert) selections the busiest EP rank computes
  double rank_selections_mean = 0;
};

/// Predict both directions. gpu_tokens: selections computed by each EP rank (size links.ep(), finite,
/// >= 0); bytes per token of the dispatch and the combine (> 0; the kernel's header is added). The
/// routing (de-duplication) is the link model's (EpLinkModel::routing). Throws std::invalid_argument
/// on a size mismatch or a negative, non-finite or non-positive value.
ExchangePrediction predict_exchange(const EpLinkModel& links, const std::vector<double>& gpu_tokens,
                                    double dispatch_bytes_per_token, double combine_bytes_per_token);

/// nccl-tests alltoall_perf under an exchange kernel (the nccl kernel for NCCL's grouped send/recv):
/// `bytes_per_rank` (nccl-tests' size, > 0) split evenly over GPUs 0..ranks-1 of the link model's
/// topology (links.ep() == ranks, one "expert" per GPU, one copy per destination), a rank's own share
/// included; algbw = size / time, busbw = algbw (n - 1) / n (nccl-tests doc/PERFORMANCE.md). What
/// `epsim predict collective --op alltoall` prints. Throws std::invalid_argument for ranks < 2 or a
/// size that is not positive and finite.
struct AlltoallPrediction {
  ExchangeCost cost;       ///< the closed form (time: cost.phase.time_us, bottleneck) and the busiest link
  double algbw_GBps = 0;
  double busbw_GBps = 0;
};
AlltoallPrediction predict_alltoall(const EpLinkModel& links, double bytes_per_rank);

}  // namespace epsim
