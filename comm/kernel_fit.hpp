#pragma once
// Fitting an exchange kernel's parameters to measured kernel times, and predicting measured rows with
// them: what `epsim calibrate` and docs/validation.md's exchange tables use. Each sample is one
// measured (dispatch or combine) time on a DGX-class cluster (generate_dgx_cluster: `gpus_per_node`
// GPUs per node on one NVSwitch at nvlink_GBps each, one nic_GBps NIC per GPU on its rail; defaults
// DGX H100: 8, 450 GB/s, 50 GB/s); its traffic comes from the routing of the benchmark that measured it.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "comm/exchange_kernel.hpp"
#include "topology/topology.hpp"

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
  int gpus_per_node = 8;     ///< GPUs of one node (one NVLink domain); EP = nodes x gpus_per_node
  double nvlink_GBps = 450;  ///< NVLink per GPU per direction (H100/H200 450, H800 200, B200/GB200 900)
  double nic_GBps = 50;      ///< the GPU's NIC (ConnectX-7 400 Gb/s = 50 GB/s)
  /// Kind of the NIC and fabric links of the cluster it ran on (DgxClusterOptions::network_kind):
  /// infiniband, or ethernet (RoCE, AWS EFA), whose efficiency a fit then sets.
  LinkKind network_kind = LinkKind::infiniband;
  /// deepep-ll: same-node peers over NVLink (true) or through the NIC (false: DeepEP PR 521's LL rows);
  /// unset: the kernel's nvlink_for_same_node.
  std::optional<bool> nvlink_same_node;
};

/// Predicted time of every sample with `params` (notify excluded: the tables time it apart), us.
std::vector<double> predict_samples(const ExchangeKernelParams& params, const std::vector<KernelSample>& samples);

/// Fields of one phase a fit may change. network_efficiency: the efficiency of the network kind the
/// samples' bytes cross (KernelSample::network_kind), i.e. infiniband_efficiency and ethernet_efficiency,
/// each fitted only when some sample of the phase carries bytes over links of that kind.
enum class FitField { latency_us, latency_per_log2_node_us, per_remote_expert_us, per_peer_us, nvlink_efficiency,
                      network_efficiency, sm_rate_GBps, sm_exponent, overlap_exponent, ramp_half_bytes,
                      ramp_exponent, ll_latency_us, ll_bandwidth_GBps, channel_GBps,
                      ll_per_log2_channel_us, infiniband_efficiency, ethernet_efficiency,
                      per_token_round_us, sm_copies_per_token };

/// Fit `fields` of the dispatch phase (samples with dispatch = true) and of the combine phase (the
/// others) from `start`, minimizing the mean squared log error (Nelder-Mead, bounds by clamping:
/// efficiencies in (0.05, 1], rates and latencies >= 0 and at most validate_kernel_params' ceilings
/// (comm/exchange_cost.hpp kKernelMax*), exponents in their validate_kernel_params ranges). A field that
/// no sample of a phase exercises (an efficiency of a link kind that carries none of the samples'
/// bytes, per-expert or per-peer costs without remote experts or peers, the per-node growth on one
/// node, NCCL's LL latency, bandwidth and channel growth without a sample that runs LL at `start`, the
/// ramp's half point and exponent without Simple samples across nodes over a network at 3 or more
/// per-peer message sizes, 2 or more node counts and more samples of the phase than fitted fields, the
/// NVLink efficiency without a sample where NVLink can bind: its time at full efficiency at least half
/// the busiest link's; the p2p channel rate likewise, its term at `start` against that time) keeps its
/// value from `start`. A ramp that starts off is searched from three
/// points (kernel_fit.cpp). A `start` with one-node phases (ExchangeKernelParams::one_node) fits those on
/// the one-node samples and its other phases on the multi-node ones; each keeps its start without
/// samples of its own. Deterministic.
ExchangeKernelParams fit_kernel(ExchangeKernelParams start, const std::vector<KernelSample>& samples,
                                const std::vector<FitField>& fields);

/// Minimize f over x from x0 by Nelder-Mead with a budget of 400 x dim iterations (first simplex: each
/// coordinate x 1.3, or 0.05 when 0), stopping early once the simplex has collapsed (vertices within
/// 1e-12 relative, values within 1e-14). Deterministic. The caller clamps x inside f.
std::vector<double> minimize_nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                                         std::vector<double> x0);

/// mean |predicted / measured - 1| over the samples.
double mean_abs_error(const std::vector<double>& predicted, const std::vector<KernelSample>& samples);

}  // namespace epsim
