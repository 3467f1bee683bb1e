// DeepEP low-latency kernels (decode): defaults of the closed form (docs/simulator.md, "deepep-ll").
// One IBGDA put per (token, expert) into the expert's receive buffer on the destination GPU (no
// de-duplication), same-node peers over NVLink, one count/flag message per expert; the send kernel
// returns once its puts are posted (no SMs held while the data is in flight).
#include "comm/kernels/kernel_defaults.hpp"

namespace epsim::kernels {

ExchangeKernelParams deepep_ll_defaults() {
  ExchangeKernelParams k;
  k.kind = ExchangeKernelKind::deepep_ll;
  // The send phase is issued by ceil(experts / warp groups) CTAs; 24 = the QPs per rank DeepEP's
  // low-latency test configures (num_qps_per_rank), an assumption for the SMs busy while issuing.
  k.sms = 24;
  k.nvlink_for_same_node = true;  // DeepEP Buffer(allow_nvlink_for_low_latency_mode=True) default
  // Each message carries the FP8 token, its 4-byte scales per 128 values and a 16-byte header
  // (deep_ep test_low_latency.py: hidden + hidden / 128 x 4 + 16); the scales are in the
  // dispatch bytes per element of the scenario, the header is added here.
  k.header_bytes_per_token = 16;
  // The GPU's SMs DeepEP spreads the experts over (Buffer's num_device_sms): 132 on H100 / H200 / H800
  // SXM (NVIDIA Hopper datasheet), the GPUs of every published deepep-ll table.
  k.device_sms = 132;
  KernelPhaseParams p;
  // A launch plus a one-way latency and the receiver's poll of the count flags. No datasheet figure:
  // fitted with the NVLink efficiency and the per-token round below (the block at the end).
  p.latency_us = 14;  // the former assumption; the fit's start
  // Assumption: one IBGDA write with immediate (a WQE posted by one warp, ~50 ns) per expert hosted
  // on another node (the per-expert count message).
  p.per_remote_expert_us = 0.05;
  p.nvlink_efficiency = 20.6 / 25.0;   // NCCL SM90_NVLINK_BW / nominal, as deepep-normal: the fit's start
  p.pcie_efficiency = 48.0 / 64.0;
  p.infiniband_efficiency = 0.95;      // as deepep-normal (assumption)
  p.ethernet_efficiency = 0.95;
  p.overlap_exponent = 1.0;
  k.dispatch = p;
  k.combine = p;
  // Each issuing CTA sends every num_sms-th token (csrc/kernels/internode_ll.cu), one token at a time:
  // cast, slot atomic, the top-k warps' copies, finish counter; the combine's reduce loop the same way.
  // Its value: the fit below.
  //
  // Latency, NVLink efficiency and per-token round: no datasheet figure for any of them. Fitted, these
  // three fields together from the former assumptions (latency 14 us, NVLink NCCL's 0.824, round 0),
  // every other default as above, on AIConfigurator's SGLang 0.5.12 one-node H100 table
  // (tests/data/comm/aic_h100_deepep_ll_1node_0512.csv, all 176 rows x 2 phases; the test "deepep-ll's
  // one-node defaults are the fit on the H100 one-node table" recomputes them). LL's warp copies reach
  // about half of NVLink's nominal rate there; one node's launch-to-flag latency is ~11.5 us. The round
  // binds only when few CTAs issue (few expert slots: 8 slots -> 8 CTAs). Validated on other
  // measurements, never fitted on them: the H200 0.5.12 table, AIConfigurator's 1-8-node tables, NCCL
  // EP, DeepEP PR 521 and the DeepEP README's H800 table (docs/validation.md).
  k.dispatch.latency_us = 11.56;
  k.combine.latency_us = 11.38;
  k.dispatch.nvlink_efficiency = 0.550;
  k.combine.nvlink_efficiency = 0.480;
  k.dispatch.per_token_round_us = 2.372;
  k.combine.per_token_round_us = 0.744;
  return k;
}

}  // namespace epsim::kernels
