// One-sided all-to-all inside one NVLink domain (TensorRT-LLM, NVL72 class): defaults of the closed
// form (docs/simulator.md, "nvlink-one-sided"). One copy per (token, destination GPU) written by SM
// loads/stores into the peer's receive buffer; launch latency overlaps the transfer (p > 1).
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams nvlink_one_sided_defaults() {
  ExchangeKernelParams k;
  k.kind = ExchangeKernelKind::nvlink_one_sided;
  k.sms = 32;  // assumption: TensorRT-LLM blog 18 does not state the kernel's grid
  KernelPhaseParams p;
  // Assumption: launch + one NVLink round trip for the completion flags, 16 us; 0.1 us per peer flag.
  p.latency_us = 16;
  p.per_peer_us = 0.1;
  p.nvlink_efficiency = 20.6 / 25.0;  // NCCL's NVLink 4 figure; Blackwell NVLink 5 has no NCCL constant of its own here
  p.pcie_efficiency = 48.0 / 64.0;
  p.infiniband_efficiency = 0.95;
  p.ethernet_efficiency = 0.95;
  p.overlap_exponent = 1.5;  // assumption: the flags of early peers overlap later peers' data
  k.dispatch = p;
  k.combine = p;
  return k;
}

}  // namespace epsim::kernels
