#pragma once
// Fitting the simulator's parameters to the harness's measurements (measurements.json): link latency
// and bandwidth, GEMM efficiency, overlap slowdown, into THE calibration struct (comm/calibration.hpp,
// which also reads and writes calibration.json). Host-only: no CUDA.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "cuda_validate/measurements.hpp"

namespace epsim::validate {

/// Latency and bandwidth of one link class, fitted to t = latency + bytes / bandwidth.
struct LinkFit {
  double bandwidth_GBps = 0;     ///< 1e9 bytes/s
  double latency_ns = 0;         ///< >= 0 (a negative intercept is clamped to 0)
  int samples = 0;
  double max_rel_error = 0;      ///< max over samples of |model - measured| / measured
};

/// What fit_calibration found: the calibration (gpu = the measured device name, links by kind, GEMM
/// efficiency per tokens per expert, overlap slowdown = median compute time overlapped / alone) and
/// the quality of each link fit.
struct CalibrationFit {
  Calibration calibration;
  std::map<LinkKind, LinkFit> link_fits;
};

struct CalibrationOptions {
  std::string gemm_dtype = "bf16";   ///< which GEMM samples give gemm_efficiency
};

/// Weighted least squares of t = latency + bytes / bandwidth with weights 1 / t^2 (every sample
/// counts by its relative error, so 1 KiB messages fix the latency and 256 MiB ones the bandwidth).
/// bytes, seconds: same size. Throws std::invalid_argument with fewer than two distinct sizes or a
/// fitted slope <= 0 (time not growing with size). Exact data t_i = L + x_i / B gives L and B back.
LinkFit fit_link(std::span<const double> bytes, std::span<const double> seconds);

/// Fit every link class with p2p samples (a class must be a link kind: nvlink, pcie, infiniband,
/// ethernet), the GEMM efficiency per tokens per expert (sum of FLOPs over sum of time x peak at each
/// M, for options.gemm_dtype) and the overlap slowdown. Throws InputError naming the measurement file
/// when a link class is unknown or cannot be fitted (see fit_link), the GPU name is unknown
/// (canonical_gpu_name), or the file has nothing to fit.
CalibrationFit fit_calibration(const Measurements& measurements, const CalibrationOptions& options = {});

}  // namespace epsim::validate
