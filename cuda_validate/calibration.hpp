#pragma once
// Fitting the simulator's parameters to measurements: calibration.json, schema
// "epsim.calibration/1" (docs/formats-measurements.md), read by the simulator's calibration loader.
// Host-only: no CUDA.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "cuda_validate/measurements.hpp"

namespace epsim::validate {

inline constexpr const char* kCalibrationSchema = "epsim.calibration/1";

/// Latency and bandwidth of one link class, fitted to t = latency + bytes / bandwidth.
struct LinkCalibration {
  double bandwidth_GBps = 0;     ///< 1e9 bytes/s
  double latency_ns = 0;         ///< >= 0 (a negative intercept is clamped to 0)
  int samples = 0;
  double max_rel_error = 0;      ///< max over samples of |model - measured| / measured
};

/// Expert-GEMM efficiency at M tokens per expert: achieved / peak FLOP rate, in (0, 1].
struct GemmEfficiency {
  int tokens_per_expert = 0;
  double efficiency = 0;
};

struct Calibration {
  std::string gpu;
  std::map<std::string, LinkCalibration> links;   ///< by link class ("nvlink", "infiniband")
  std::vector<GemmEfficiency> gemm_efficiency;    ///< ascending tokens_per_expert
  /// Compute time overlapped with communication / compute time alone (median over overlap
  /// samples); 1 when the file has none (see has_overlap).
  double overlap_slowdown = 1.0;
  bool has_overlap = false;
};

struct CalibrationOptions {
  std::string gemm_dtype = "bf16";   ///< which GEMM samples give gemm_efficiency
};

/// Weighted least squares of t = latency + bytes / bandwidth with weights 1 / t^2 (every sample
/// counts by its relative error, so 1 KiB messages fix the latency and 256 MiB ones the bandwidth).
/// bytes, seconds: same size. Throws std::invalid_argument with fewer than two distinct sizes or a
/// fitted slope <= 0 (time not growing with size). Exact data t_i = L + x_i / B gives L and B back.
LinkCalibration fit_link(std::span<const double> bytes, std::span<const double> seconds);

/// Fit every link class with p2p samples, the GEMM efficiency per tokens per expert (sum of FLOPs
/// over sum of time x peak at each M, for options.gemm_dtype) and the overlap slowdown. Throws
/// InputError naming the measurement file when a link class cannot be fitted (see fit_link) or the
/// file has nothing to fit.
Calibration fit_calibration(const Measurements& measurements, const CalibrationOptions& options = {});

/// {"schema","gpu","links":{class:{"bandwidth_GBps","latency_ns"}},"gemm_efficiency":[...],
///  "overlap_slowdown"}; deterministic.
Json calibration_to_json(const Calibration& calibration);

}  // namespace epsim::validate
