#pragma once
// A kernel with round numbers for the hand-computed link-load tests (test_link_load.cpp,
// test_hybrid_ep.cpp): efficiencies 0.5 (NVLink, PCIe) and 0.8 (network), latency 10 us, 10 SMs, no
// header bytes (tokens of exactly B bytes), no notify phase (tested apart), every other term off.
#include "comm/exchange_kernel.hpp"

namespace epsim::test {

inline ExchangeKernelParams round_kernel(ExchangeKernelKind kind) {
  ExchangeKernelParams k = default_kernel_params(kind);
  for (KernelPhaseParams* p : {&k.dispatch, &k.combine}) {
    *p = KernelPhaseParams{};
    p->latency_us = 10;
    p->nvlink_efficiency = 0.5;
    p->pcie_efficiency = 0.5;
    p->infiniband_efficiency = 0.8;
    p->ethernet_efficiency = 0.8;
  }
  k.sms = 10;
  k.header_bytes_per_token = 0;
  k.notify_latency_us = 0;
  k.notify_per_log2_node_us = 0;
  return k;
}

}  // namespace epsim::test
