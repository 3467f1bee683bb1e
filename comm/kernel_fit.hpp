#pragma once
// Fitting an exchange kernel's parameters to measured kernel times, and predicting measured rows with
// them: what `epsim calibrate` and docs/validation.md's exchange tables use. Each sample is one
// measured (dispatch or combine) time on a DGX H100-class cluster (generate_dgx_cluster: NVLink
// 450 GB/s per GPU, one 50 GB/s NIC per GPU on its rail, 8 GPUs per node); its traffic comes from
// the routing of the benchmark that measured it.
#include <string>
#include <vector>

#include "comm/exchange_kernel.hpp"

namespace epsim {

/// One measured exchange time.
struct KernelSample {
  int nodes = 1;
  int experts = 256;
  int topk = 8;
  double selections = 0;    ///< (token, expert) selections per rank
  int sms = 0;              ///< SMs the run used (0: the kernel's parameter)
  bool dispatch = true;
  double bytes_per_token = 0;  ///< data bytes of one token copy (the kernel's header is added)
  /// Routing de-duplication: DeepEP's test routing (experts grouped by node, top min(nodes, 4) groups
  /// by group maximum) when true; plain top-k otherwise. Only node_forwarding / per_gpu kernels use it.
  bool grouped_routing = false;
  double measured_us = 0;
  int group = 0;             ///< leave-out key (e.g. the node count or a size index)
  std::string label;
};

/// Predicted time of every sample with `params` (notify excluded: the tables time it apart), us.
std::vector<double> predict_samples(const ExchangeKernelParams& params, const std::vector<KernelSample>& samples);

/// Fields of one phase a fit may change.
enum class FitField { latency_us, latency_per_log2_node_us, per_remote_expert_us, per_peer_us, nvlink_efficiency,
                      network_efficiency, sm_rate_GBps, sm_exponent, overlap_exponent };

/// Fit `fields` of the dispatch phase (samples with dispatch = true) and of the combine phase (the
/// others) from `start`, minimizing the mean squared log error (Nelder-Mead, bounds by clamping:
/// efficiencies in (0.05, 1], rates and latencies >= 0, exponents in their validate_kernel_params
/// ranges). Deterministic.
ExchangeKernelParams fit_kernel(ExchangeKernelParams start, const std::vector<KernelSample>& samples,
                                const std::vector<FitField>& fields);

/// mean |predicted / measured - 1| over the samples.
double mean_abs_error(const std::vector<double>& predicted, const std::vector<KernelSample>& samples);

}  // namespace epsim
