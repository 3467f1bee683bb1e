// NCCL all-to-all(v) as grouped send/recv (ncclGroupStart; ncclSend/ncclRecv per peer; ncclGroupEnd):
// defaults of the closed form (docs/simulator.md, "nccl"). One message per peer per direction; NCCL's
// own p2p rules pick the protocol (LL up to NCCL_P2P_LL_THRESHOLD per channel, Simple above) and the
// channels each peer's message is striped over (comm/exchange_cost.hpp p2p_plan); a channel's copy rate
// caps the bandwidth of few, small messages and its first chunk fills the pipeline. A GPU's own share is
// a local copy. Constants from NCCL 2.27 (the version of the AIConfigurator table), file and name given.
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams nccl_defaults() {
  ExchangeKernelParams k;
  k.kind = ExchangeKernelKind::nccl;
  k.sms = 16;  // NCCL p2p channels on an H100 NVSwitch node (one CTA each); NCCL_MAX_NCHANNELS caps it
  KernelPhaseParams p;
  // NCCL tuning.cc: baseLat[Ring][Simple] 8.4 us + hwLat[NVLINK][Ring][Simple] 3.4 us.
  p.latency_us = 8.4 + 3.4;
  // Assumption: the proxy / kernel loop over peers costs 0.5 us per network peer (NCCL posts p2p
  // operations peer by peer; at 2047 peers this dominates a 1 MB all-to-all).
  p.per_peer_us = 0.5;
  p.nvlink_efficiency = 20.6 / 25.0;  // NCCL SM90_NVLINK_BW
  p.pcie_efficiency = 48.0 / 64.0;
  p.infiniband_efficiency = 0.95;
  p.ethernet_efficiency = 0.95;
  // A GPU's own share is copied through HBM (read + write): 3.35 TB/s / 2 (H100 SXM datasheet).
  p.self_copy_GBps = 3350.0 / 2.0;
  // p2p channels (comm/exchange_cost.hpp p2p_plan). NCCL p2pnChannels: the communicator's channels
  // (pow2Up of 24-32 ring channels on an H100 NVSwitch node, capped by MAXCHANNELS 32) -> 32; src/graph/
  // paths.cc ncclTopoComputeP2pChannels. NVLink peers get 2 channels per NVLink (ncclTopoGetNchannels:
  // 2 x 18), more than 32, so a one-node peer may use all 32.
  p.p2p_channels = 32;
  // Network peers: "start from 2 channels per NIC" (paths.cc ncclTopoGetNchannels, nNetChannels = 2).
  p.net_channels_per_peer = 2;
  // src/init.cc: NCCL_P2P_NVL_CHUNKSIZE 512 KiB (all-NVLink node), NCCL_P2P_NET_CHUNKSIZE 128 KiB (several
  // nodes): the Simple step.
  p.p2p_chunk_bytes = 512.0 * 1024.0;
  p.net_chunk_bytes = 128.0 * 1024.0;
  // src/enqueue.cc NCCL_P2P_LL_THRESHOLD 16384: LL while a peer's message <= channels per peer x 16 KiB.
  p.ll_threshold_bytes = 16384;
  // Simple copy rate of one channel per direction: NCCL tuning.cc perChMaxTreeBws[Hopper][1 node] 38.7 GB/s
  // per channel (the highest per-channel Simple rate NCCL's model grants Hopper), halved because a p2p
  // channel's warps are split between its send and its receive (ncclDevWorkP2p, nSendChannels and
  // nRecvChannels on the same CTA): an assumption on top of the NCCL constant.
  p.channel_GBps = 38.7 / 2;
  // The former ramp (half bandwidth at 512 KiB per peer, exponent 0.5, an assumption) is replaced on one
  // node by the channel ceiling and the pipeline fill. Across nodes the ramp stands for the network
  // transport's per-message cost: off here (no source gives its constants; InfiniBand and EFA differ),
  // fitted by `epsim calibrate` on a multi-node alltoall_perf run.
  p.ramp_half_bytes = 0;
  p.ramp_exponent = 1;
  // NCCL tuning.cc: baseLat[Ring][LL] 6.8 us + hwLat[NVLINK][Ring][LL] 0.6 us; llMaxBws Hopper
  // single node 141 GB/s. With p2p channels LL runs when p2p_plan says so (the threshold), not when faster.
  p.ll_latency_us = 6.8 + 0.6;
  p.ll_bandwidth_GBps = 141.0;
  k.dispatch = p;
  k.combine = p;
  return k;
}

}  // namespace epsim::kernels
