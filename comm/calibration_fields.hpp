#pragma once
// The phase fields of a kernel block in calibration.json by their C++ names: one table for the reader,
// the writer (comm/calibration.cpp) and the notices on what a run reads (comm/calibration_use.cpp).
// Internal to comm/.
#include <utility>

#include "comm/exchange_kernel.hpp"

namespace epsim::calibration_detail {

using PhaseField = std::pair<const char*, double KernelPhaseParams::*>;
inline constexpr PhaseField kPhaseFields[] = {
    {"latency_us", &KernelPhaseParams::latency_us},
    {"latency_per_log2_node_us", &KernelPhaseParams::latency_per_log2_node_us},
    {"per_remote_expert_us", &KernelPhaseParams::per_remote_expert_us},
    {"per_peer_us", &KernelPhaseParams::per_peer_us},
    {"nvlink_efficiency", &KernelPhaseParams::nvlink_efficiency},
    {"pcie_efficiency", &KernelPhaseParams::pcie_efficiency},
    {"infiniband_efficiency", &KernelPhaseParams::infiniband_efficiency},
    {"ethernet_efficiency", &KernelPhaseParams::ethernet_efficiency},
    {"sm_rate_GBps", &KernelPhaseParams::sm_rate_GBps},
    {"sm_exponent", &KernelPhaseParams::sm_exponent},
    {"overlap_exponent", &KernelPhaseParams::overlap_exponent},
    {"self_copy_GBps", &KernelPhaseParams::self_copy_GBps},
    {"ramp_half_bytes", &KernelPhaseParams::ramp_half_bytes},
    {"ramp_exponent", &KernelPhaseParams::ramp_exponent},
    {"ll_latency_us", &KernelPhaseParams::ll_latency_us},
    {"ll_bandwidth_GBps", &KernelPhaseParams::ll_bandwidth_GBps},
    {"p2p_channels", &KernelPhaseParams::p2p_channels},
    {"channel_GBps", &KernelPhaseParams::channel_GBps},
    {"p2p_chunk_bytes", &KernelPhaseParams::p2p_chunk_bytes},
    {"net_chunk_bytes", &KernelPhaseParams::net_chunk_bytes},
    {"net_channels_per_peer", &KernelPhaseParams::net_channels_per_peer},
    {"ll_threshold_bytes", &KernelPhaseParams::ll_threshold_bytes},
    {"ll_per_log2_channel_us", &KernelPhaseParams::ll_per_log2_channel_us},
    {"per_token_round_us", &KernelPhaseParams::per_token_round_us},
    {"sm_copies_per_token", &KernelPhaseParams::sm_copies_per_token},
};

}  // namespace epsim::calibration_detail
