#pragma once
// Fitting the collective model's network efficiency of one link kind to measured nccl-tests rows,
// with the model itself in the loop (every row predicted by CollectiveModel::cost on its own node
// count). Where `epsim calibrate`'s per-file line fit (comm/table_calibration.hpp fit_link) does not
// apply: rows of several node counts at once, several NICs per GPU (the fitted quantity is an
// efficiency of the nominal link, so it does not depend on how many NICs a GPU aggregates), and
// algorithms whose steps are partly NVLink. docs/validation.md, "AWS p5 (EFA)".
#include <vector>

#include "comm/collectives.hpp"
#include "topology/generators.hpp"

namespace epsim {

/// One measured collective: nccl-tests busbw of `kind` over all GPUs of `nodes` nodes.
struct CollectiveRow {
  CollectiveKind kind = CollectiveKind::all_reduce;
  int nodes = 1;                   ///< >= 1
  double bytes = 0;                ///< nccl-tests size, > 0
  double measured_busbw_GBps = 0;  ///< > 0
};

/// Predicted busbw of every row (CollectiveModel::cost, the cheapest algorithm, over all GPUs of
/// generate_dgx_cluster(cluster with .nodes = row.nodes)), GB/s. Throws InputError on a row with
/// nodes < 1 or bytes <= 0 and what generate_dgx_cluster / CollectiveModel throw.
std::vector<double> predict_busbw(const CollectiveParams& params, const DgxClusterOptions& cluster,
                                  const std::vector<CollectiveRow>& rows);

/// mean |predicted / measured - 1| over the rows (same order).
double collective_mean_abs_error(const std::vector<double>& predicted, const std::vector<CollectiveRow>& rows);

/// Result of fit_network_efficiency.
struct CollectiveFit {
  CollectiveParams params;   ///< `start` with the fitted efficiency (and step latencies)
  double efficiency = 0;     ///< the fitted value, in [0.05, 1]
  /// The fitted LL128 network step latency of the kind, us, in [0, kMaxFittedStepLatency_us]; the LL and
  /// Simple step latencies moved by the same amount. Without FitStepLatency::yes: start's LL128 value.
  double ll128_step_latency_us = 0;
  double mean_abs_error = 0; ///< on the fitted rows (a fit figure, not a validation)
};

/// Whether fit_network_efficiency also fits the kind's network step latency.
enum class FitStepLatency { no, yes };

/// Upper end of a fitted network step latency, us: above any per-step cost seen on a cluster network
/// (aws-ofi-nccl's own EFA model uses 75 us, src/tuner/nccl_ofi_model.c NCCL_OFI_TUNER_NETWORK_LATENCY).
inline constexpr double kMaxFittedStepLatency_us = 200.0;

/// Fit the efficiency of network kind `kind` (infiniband: network_efficiency, ethernet:
/// ethernet_efficiency) of `start` to the rows: Nelder-Mead (comm/kernel_fit.hpp) on the mean squared
/// log error of busbw, from start's value, clamped to [0.05, 1]. With FitStepLatency::yes it also fits
/// the kind's network step latency d (the per-step cost of a ring or Tree step that crosses the
/// network): the LL128 step latency becomes d, the LL and Simple ones move by d - start's LL128 value
/// (so Simple keeps its completion overhead above LL128), each clamped to >= 0; d in [0, 200] us.
/// Every other field stays as in `start`. Deterministic. Throws InputError when rows is empty, a row is
/// malformed (see predict_busbw, measured busbw <= 0) or `kind` is not a network kind.
CollectiveFit fit_network_efficiency(const CollectiveParams& start, LinkKind kind, const DgxClusterOptions& cluster,
                                     const std::vector<CollectiveRow>& rows,
                                     FitStepLatency fit_latency = FitStepLatency::no);

}  // namespace epsim
