// NVIDIA's Hybrid-EP (DeepEP's hybrid-ep branch, docs/Hybrid-EP_Implementation.md section 8): defaults of
// the closed form (docs/simulator.md, "hybrid-ep"). The legs are deepep-normal's: one RDMA copy per
// (token, destination node) to the rail peer ("peers": the same local rank on each node), then NVLink
// to the node's destination GPUs. What differs is the SM work: a persistent block's G2S warp group
// loads each token it distributes once into shared memory, and its S2G warp group writes that one copy
// to every destination GPU of the node with TMA stores, which the NVLink, not the SM, bounds. So the SM
// work is one copy per (token, node) pair the GPU distributes (comm/link_load.cpp), against DeepEP V1's
// sender copy plus one forwarder copy per (token, destination GPU).
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams hybrid_ep_defaults() {
  // The links, efficiencies, launch latency and notify are deepep-normal's, with their sources there:
  // the same RDMA and NVLink hardware, and no Hybrid-EP figure for them. The notify stands for
  // Hybrid-EP's metadata preprocessing (the routing-map all-gather before each dispatch); assumption.
  ExchangeKernelParams k = deepep_normal_defaults();
  k.kind = ExchangeKernelKind::hybrid_ep;
  // Not deepep-normal's one-node phases: they are DeepEP's intranode kernel's, fitted on its tables;
  // Hybrid-EP runs its own kernels on one NVLink domain too.
  k.one_node.reset();
  // HybridEPBuffer(num_sms_dispatch_api=32, num_sms_combine_api=32): the hybrid-ep branch's
  // deep_ep/hybrid_ep_buffer.py defaults.
  k.sms = 32;
  // sm_rate_GBps stays deepep-normal's 12.7 GB/s per SM: each byte of the one copy is read once (G2S)
  // and written once (S2G), through HBM at the SM's share, 3.35 TB/s / 132 SMs / 2 (H100 SXM).
  return k;
}

}  // namespace epsim::kernels
