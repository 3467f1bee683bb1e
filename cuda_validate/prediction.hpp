#pragma once
// Predicted vs measured: the nccl exchange kernel's closed form (comm/link_load.hpp,
// comm/exchange_cost.hpp) applied to what the harness measured.
// Host-only: no CUDA.
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "comm/exchange_kernel.hpp"
#include "cuda_validate/measurements.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim::validate {

/// One measured quantity beside its closed-form prediction.
struct Comparison {
  std::string what;          ///< e.g. "alltoallv dispatch layer 3", "p2p nvlink 0->1 1048576 B"
  double measured_us = 0;
  double predicted_us = 0;
  /// (predicted - measured) / measured; positive = the model is pessimistic.
  double error() const { return (predicted_us - measured_us) / measured_us; }
};

/// Closed-form predictions of the all-to-all-v and p2p samples on `topology` (GPU ranks
/// 0..num_gpus-1 of the measurement = GPU ranks of the topology):
///   all-to-all-v: exchange_cost(nccl kernel with `nccl`'s parameters,
///                 exchange_link_bytes(gpu_tokens, bytes_per_token)).time_s()
///   p2p:          point_to_point_time_s (comm/point_to_point.hpp), with the calibration's figures of the
///                 sample's link class when `calibration` has them.
/// `calibration` null: datasheet figures and default_kernel_params(nccl) (pass `nccl` from
/// calibrated_kernel_params for a calibrated run). Throws InputError if the topology has fewer GPUs
/// than the measurement.
std::vector<Comparison> compare_with_model(const Measurements& measurements, const Topology& topology,
                                           const RouteTable& routes,
                                           const ExchangeKernelParams& nccl = default_kernel_params(ExchangeKernelKind::nccl),
                                           const Calibration* calibration = nullptr);

}  // namespace epsim::validate
