// NCCL all-to-all(v) as grouped send/recv (ncclGroupStart; ncclSend/ncclRecv per peer; ncclGroupEnd):
// defaults of the closed form (docs/simulator.md, "nccl"). One message per peer per direction; LL
// protocol for small messages, Simple otherwise, with a bandwidth ramp as the per-peer message grows
// (NCCL spreads a peer's bytes over more channels); a GPU's own share is a local copy through the
// same channels.
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
  // Assumption: half bandwidth when a peer's message is one NCCL_P2P_NVL_CHUNKSIZE (512 KiB) chunk.
  p.ramp_half_bytes = 512.0 * 1024.0;
  p.ramp_exponent = 0.5;
  // NCCL tuning.cc: baseLat[Ring][LL] 6.8 us + hwLat[NVLINK][Ring][LL] 0.6 us; llMaxBws Hopper
  // single node 141 GB/s.
  p.ll_latency_us = 6.8 + 0.6;
  p.ll_bandwidth_GBps = 141.0;
  k.dispatch = p;
  k.combine = p;
  return k;
}

}  // namespace epsim::kernels
