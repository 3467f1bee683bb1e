// DeepEP normal kernels (prefill, training): defaults of the closed form (docs/simulator.md,
// "deepep-normal"). Stages per GPU: notify (metadata all-to-all), then one RDMA copy per (token,
// destination node) to the rail peer, NVLink forwarding from the rail peer to the node's destination
// GPUs, all moved by the kernel's `sms` SMs (sender and forwarder warps share them).
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams deepep_normal_defaults() {
  ExchangeKernelParams k;
  k.kind = ExchangeKernelKind::deepep_normal;
  // DeepEP Buffer.num_sms default (deep_ep/buffer.py); DeepSeek's training profile runs DeepEP on 20 SMs.
  k.sms = 20;
  // Notify: an NVSHMEM/NCCL barrier plus a put of per-rank counts; assumption: one RDMA round trip
  // per tree level, 15 us + 10 us per doubling of the node count. Calibrated values: docs/validation.md.
  k.notify_latency_us = 15;
  k.notify_per_log2_node_us = 10;
  KernelPhaseParams p;
  // Assumption (no datasheet figure): a launch plus the tail-pointer handshakes of the pipeline,
  // 20 us + 10 us per doubling of the node count.
  p.latency_us = 20;
  p.latency_per_log2_node_us = 10;
  // NCCL's model of an SM90 NVLink 4 link: 20.6 of 25 GB/s (src/graph/topo.h SM90_NVLINK_BW).
  p.nvlink_efficiency = 20.6 / 25.0;
  p.pcie_efficiency = 48.0 / 64.0;  // NCCL topo.cc: Gen5 x16 = 48 GB/s of 64 nominal
  // RDMA payload at a 4 KiB MTU is ~0.98 of the wire; credits and completions take a few % more:
  // 0.95, an assumption shared with the collectives (comm/collectives.hpp network_efficiency).
  p.infiniband_efficiency = 0.95;
  p.ethernet_efficiency = 0.95;
  // Each byte the kernel moves through its SMs (sender copy into the RDMA buffer, forwarder copy into
  // the NVLink buffer) is read once and written once through HBM; an SM's share of HBM bandwidth is
  // 3.35 TB/s / 132 SMs (H100 SXM datasheet) / 2 = 12.7 GB/s.
  p.sm_rate_GBps = 3350.0 / 132.0 / 2.0;
  p.sm_exponent = 1.0;
  p.overlap_exponent = 1.0;
  k.dispatch = p;
  k.combine = p;
  // Combine also reduces the top-k copies (a read-modify-write per copy): assumption, same SM rate.
  //
  // One node: DeepEP runs its intranode kernels (csrc/kernels/intranode.cu: NVLink only, half the SMs
  // send and half receive, no RDMA or forwarding stage), another code path whose SM rate the internode
  // figures above do not give. No datasheet figure: the latency, SM rate, SM exponent and per-token SM
  // copies are fitted, these four fields together from the phases above, every other field (NVLink
  // efficiency included: NCCL's figure) kept, on AIConfigurator's SGLang 0.5.12 one-node H100 table
  // (tests/data/comm/aic_h100_deepep_normal_1node_0512.csv, all 2484 rows x 2 phases; the test
  // "deepep-normal's one-node defaults are the fit on the H100 one-node table" recomputes them).
  // Validated on other measurements, never fitted on them: the H200 0.5.12 table and DeepEP's H800
  // intranode row (docs/validation.md).
  KernelPhases one{k.dispatch, k.combine};
  one.dispatch.latency_us = 26.90;
  one.dispatch.sm_rate_GBps = 20.92;
  one.dispatch.sm_exponent = 0.922;
  one.dispatch.sm_copies_per_token = 0.061;
  one.combine.latency_us = 38.78;
  one.combine.sm_rate_GBps = 34.84;
  one.combine.sm_exponent = 0.880;
  one.combine.sm_copies_per_token = 1.719;
  k.one_node = one;
  return k;
}

}  // namespace epsim::kernels
