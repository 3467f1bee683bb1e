#pragma once
// The EP exchange kernels epsim models (docs/simulator.md, "Exchange kernels"), chosen by name, and the
// parameters of their closed form (comm/exchange_cost.hpp). Each kernel's defaults and their sources
// live in comm/kernels/<kernel>.cpp; `epsim calibrate` refits them (comm/calibration.hpp).
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace epsim {

enum class ExchangeKernelKind {
  nccl,              ///< NCCL all-to-all(v): grouped send/recv, one message per (token, expert) copy
  deepep_normal,     ///< DeepEP normal kernels: node de-duplication, RDMA to the rail peer, NVLink forwarding
  deepep_ll,         ///< DeepEP low-latency kernels: one put per (token, expert), no de-duplication
  nvlink_one_sided,  ///< one-sided all-to-all inside one NVLink domain (TensorRT-LLM), one copy per (token, GPU)
  hierarchical,      ///< two-phase all-to-all: NVLink inside the node, then one rail message per node
  hybrid_ep,         ///< NVIDIA's Hybrid-EP (DeepEP hybrid-ep branch): deepep-normal's legs, TMA forwarding
};

/// Names in the order of the enum: "nccl", "deepep-normal", "deepep-ll", "nvlink-one-sided", "hierarchical",
/// "hybrid-ep".
std::span<const std::string_view> exchange_kernel_names();
/// The same names as strings (the scenario parameter table's choice list).
const std::vector<std::string>& exchange_kernel_name_list();

/// The chosen exchange kernel cannot run as the inputs configure it. what() says why, naming the kernel,
/// the GPUs and the link or setting at fault, but no file, JSON pointer or flag it came from: the caller
/// that knows where the kernel, the topology and the calibration were given (cli/) rethrows it with them.
class ExchangeKernelRefusal : public InputError {
 public:
  enum class Cause {
    outside_nvlink_domain,  ///< nvlink-one-sided over a link that is not NVLink (EpLinkModel)
    flow_network,           ///< a flow network model with a kernel setting only the analytical one models
  };
  ExchangeKernelRefusal(Cause cause, const std::string& message) : InputError(message), cause_(cause) {}
  Cause cause() const { return cause_; }

 private:
  Cause cause_;
};
std::string_view to_string(ExchangeKernelKind kind);
/// Parse a kernel name; throws UsageError listing the valid names.
ExchangeKernelKind parse_exchange_kernel(std::string_view name);
/// What SGLang and DeepSeek run: deepep-ll for decode, deepep-normal for prefill and training.
ExchangeKernelKind default_exchange_kernel(bool decode);

/// Wire bytes per hidden element of an FP8 dispatch: one e4m3 byte plus one FP32 scale per 128 values
/// (DeepEP's and SGLang's FP8 dispatch send x and its per-128 scales: 7168 + 224 B per DeepSeek-V3 token).
inline constexpr double kFp8DispatchBytesPerElement = 1.0 + 4.0 / 128;
/// BF16 dispatch and combine: 2 bytes per element.
inline constexpr double kBf16BytesPerElement = 2.0;
/// The most wire bytes per hidden element a dispatch or combine may be given (scenario, plan, predict
/// exchange): FP64 with room for metadata is 8; 64 keeps every product with token and hidden counts
/// finite while refusing a typo such as 1e300, which overflowed the link loads ("internal error").
inline constexpr double kMaxWireBytesPerElement = 64.0;

/// Closed-form parameters of one direction (dispatch or combine) of a kernel. Times in us.
/// Without p2p channels (p2p_channels = 0):
/// t = min( LL protocol, ((latency)^p + (body / ramp)^p)^(1/p) ) with
///   latency = latency_us + latency_per_log2_node_us x log2(nodes) + per_remote_expert_us x experts off
///             the GPU's node + per_peer_us x peers,
///   body    = max( max over links of bytes / (bandwidth x efficiency of its kind) + self-copy time,
///                  (SM work bytes + sm_copies_per_token x one copy of each own token)
///                  / (sm_rate_GBps x 1e9 x sms^sm_exponent) ),
///   ramp    = 1 / (1 + (ramp_half_bytes / message bytes per peer)^ramp_exponent)   (1 when half = 0),
///   LL      = ll_latency_us + per_peer_us x peers + max(bytes sent per GPU / (ll_bandwidth_GBps x 1e9),
///             2 x the link time: LL lines are half flags)  (off when ll_bandwidth_GBps = 0).
/// With p2p channels (nccl, hierarchical): NCCL's own rule picks the protocol and the channels per peer,
/// and the Simple body gains a channel ceiling and a pipeline fill (comm/exchange_cost.hpp); the ramp
/// then applies across nodes only (the network transport's per-message cost).
struct KernelPhaseParams {
  double latency_us = 0;                ///< fixed cost of one launch (issue, completion signalling)
  double latency_per_log2_node_us = 0;  ///< growth of that cost with the node count (barriers, fan-in)
  double per_remote_expert_us = 0;      ///< one count/flag message per expert hosted on another node (deepep-ll)
  double per_peer_us = 0;               ///< per destination GPU (message set-up, NCCL peer loop)
  double nvlink_efficiency = 1;         ///< achieved / nominal NVLink bandwidth for this kernel's copies, (0, 1]
  double pcie_efficiency = 1;           ///< ... PCIe
  double infiniband_efficiency = 1;     ///< ... InfiniBand (RDMA)
  double ethernet_efficiency = 1;       ///< ... Ethernet (RoCE, EFA): calibrated apart from InfiniBand
  double sm_rate_GBps = 0;              ///< bytes the kernel's SMs move per unit of sms^sm_exponent; 0: no SM limit
  double sm_exponent = 1;               ///< how the SM rate scales with the SM count
  double overlap_exponent = 1;          ///< p >= 1: 1 = latency then transfer, large = they overlap fully
  double self_copy_GBps = 0;            ///< local copy of a GPU's own share (nccl); 0: free
  double ramp_half_bytes = 0;           ///< per-peer message size at half bandwidth (nccl; across nodes with p2p channels); 0: no ramp
  double ramp_exponent = 1;
  double ll_latency_us = 0;             ///< NCCL LL protocol (small messages); used when ll_bandwidth_GBps > 0
  double ll_bandwidth_GBps = 0;
  // NCCL point-to-point channels (nccl, hierarchical; comm/exchange_cost.hpp "p2p channels"). Off when
  // p2p_channels = 0: then the protocol is the faster of LL and Simple (the form before these fields).
  double p2p_channels = 0;           ///< channels of the communicator's p2p operations (NCCL p2pnChannels)
  double channel_GBps = 0;           ///< bytes one channel (one CTA) moves per direction, Simple protocol; 0: no cap
  double p2p_chunk_bytes = 0;        ///< Simple step on one node (NCCL_P2P_NVL_CHUNKSIZE)
  double net_chunk_bytes = 0;        ///< Simple step across nodes (NCCL_P2P_NET_CHUNKSIZE)
  double net_channels_per_peer = 0;  ///< channels per network peer before NCCL's scale-down (ncclTopoGetNchannels)
  double ll_threshold_bytes = 0;     ///< LL when a peer's message <= this x its channels (NCCL_P2P_LL_THRESHOLD)
  double ll_per_log2_channel_us = 0; ///< LL latency growth per doubling of the channels per peer (fitted)
  /// deepep-ll: one issuing SM's serial time per token it sends (FP8 cast, slot atomic, the top-k warps'
  /// copies, finish counter), us; x the tokens each issuing SM handles in turn after its first
  /// (ExchangeLoadSummary::issue_rounds). 0: no such bound.
  double per_token_round_us = 0;
  /// deepep-normal: SM work per token the GPU originates, in copies of the token beyond the ones the
  /// routing counts (the sender's one copy per destination node, the receiver's one per copy received),
  /// in [0, 1000]. 0 by default: DeepEP's kernels give no source for more. `epsim calibrate` fits it
  /// where the SM bound binds (one node, large token counts: the combine's per-token reduce).
  double sm_copies_per_token = 0;
};

/// A kernel's two directions.
struct KernelPhases {
  KernelPhaseParams dispatch;
  KernelPhaseParams combine;
};

/// Parameters of one kernel. Sources of every default: comm/kernels/<kernel>.cpp and docs/simulator.md.
struct ExchangeKernelParams {
  ExchangeKernelKind kind = ExchangeKernelKind::deepep_normal;
  KernelPhaseParams dispatch;  ///< across nodes, and on one node when one_node is unset
  KernelPhaseParams combine;
  /// The phases of an exchange whose EP ranks share one node, where the kernel runs another code path
  /// (DeepEP: csrc/kernels/intranode.cu instead of internode.cu when there is one RDMA rank). Unset: the
  /// phases above serve one node too. kernel_for_nodes picks; `epsim calibrate` fits it from one-node
  /// rows and the phases above from multi-node rows.
  std::optional<KernelPhases> one_node;
  int sms = 0;                      ///< SMs (normal) / channels (nccl) the kernel runs on
  double notify_latency_us = 0;     ///< deepep-normal, hybrid-ep: metadata exchange before each dispatch
  double notify_per_log2_node_us = 0;
  bool nvlink_for_same_node = true; ///< deepep-ll: same-node peers over NVLink (false: through the NIC)
  /// Bytes per token on the wire = hidden x bytes per element + this (deepep-ll: 16-byte header per message).
  double header_bytes_per_token = 0;
  /// deepep-ll: the GPU's SMs DeepEP spreads the experts over (Buffer's num_device_sms): the kernel runs
  /// ceil(E / ceil(E / device_sms)) CTAs for E expert slots. 0: not used.
  int device_sms = 0;
};

/// Whether the kernel reaches a peer on its own node over NVLink: every kernel but deepep-ll with
/// nvlink_for_same_node false (DeepEP allow_nvlink_for_low_latency_mode=False), whose same-node peers go
/// through the NICs (comm/link_load.cpp) and count as remote experts.
inline bool same_node_over_nvlink(const ExchangeKernelParams& kernel) {
  return kernel.kind != ExchangeKernelKind::deepep_ll || kernel.nvlink_for_same_node;
}

/// Whether the kernel runs a metadata phase before each dispatch across nodes (notify_time_us):
/// deepep-normal's notify and Hybrid-EP's preprocessing.
inline bool has_notify_phase(ExchangeKernelKind kind) {
  return kind == ExchangeKernelKind::deepep_normal || kind == ExchangeKernelKind::hybrid_ep;
}

/// Default parameters of a kernel (datasheet / source-code constants; comm/kernels/*.cpp).
ExchangeKernelParams default_kernel_params(ExchangeKernelKind kind);

/// The kernel as it runs over `nodes` hosts: on one node with one_node set, its phases replace dispatch
/// and combine; one_node is cleared either way. Every cost (EpLinkModel, kernel_latency_us, kernel_fit)
/// takes its phases from here.
ExchangeKernelParams kernel_for_nodes(ExchangeKernelParams kernel, int nodes);
/// The phase kernel_for_nodes would give, without the copy.
inline const KernelPhaseParams& phase_for_nodes(const ExchangeKernelParams& kernel, bool dispatch, int nodes) {
  const KernelPhases* one = nodes == 1 && kernel.one_node ? &*kernel.one_node : nullptr;
  return dispatch ? (one ? one->dispatch : kernel.dispatch) : (one ? one->combine : kernel.combine);
}

/// How the kernel's copies reach the destination GPUs (comm/link_load.hpp builds the link rows from it).
enum class KernelDelivery {
  per_expert,       ///< one copy per (token, expert) along route(src, dst) (nccl, deepep-ll)
  per_gpu,          ///< one copy per (token, destination GPU) (nvlink-one-sided)
  node_forwarding,  ///< one copy per (token, destination node) to the rail peer, then NVLink (deepep-normal, hybrid-ep)
  two_phase,        ///< NVLink to the rail GPU of the destination node, then one rail message (hierarchical)
};
KernelDelivery kernel_delivery(ExchangeKernelKind kind);

/// SMs an exchange kernel holds on each GPU (read by the compute/overlap model).
struct KernelSmUsage {
  int sms_running = 0;    ///< SMs its CTAs occupy from launch until the kernel returns
  int sms_in_flight = 0;  ///< SMs held while data is in flight (0: deepep-ll, the send kernel returns)
};
/// deepep-normal: params.sms both; nccl / hierarchical: params.sms channels (one CTA each) both;
/// deepep-ll: params.sms while issuing, 0 in flight; nvlink-one-sided, hybrid-ep: params.sms both.
KernelSmUsage kernel_sm_usage(const ExchangeKernelParams& params);

}  // namespace epsim
