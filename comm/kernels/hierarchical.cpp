// Hierarchical (two-phase) all-to-all: phase 1 over NVLink moves each copy to the GPU of its node on
// the destination's rail, phase 2 sends one rail message per destination node (docs/simulator.md,
// "hierarchical"). Alpha-beta per phase with NCCL's constants: fewer, larger network messages than
// the direct all-to-all at the price of an NVLink phase.
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams hierarchical_defaults() {
  ExchangeKernelParams k = nccl_defaults();
  k.kind = ExchangeKernelKind::hierarchical;
  // Each phase is one NCCL grouped send/recv: the nccl defaults apply per phase, without the LL
  // protocol (phase messages are aggregated, hence large).
  k.dispatch.ll_bandwidth_GBps = 0;
  k.combine.ll_bandwidth_GBps = 0;
  return k;
}

}  // namespace epsim::kernels
