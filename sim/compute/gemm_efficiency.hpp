#pragma once
// GEMM tensor-core efficiency as a function of the rows per expert GEMM (M = tokens per expert),
// seeded from DeepGEMM's published FP8 measurements and replaceable by a calibration.
#include <filesystem>
#include <vector>

#include "comm/calibration.hpp"

namespace epsim {

/// A piecewise-linear curve efficiency(log M) through measured points; clamped to the first/last
/// point outside the table. Immutable once built; safe to share between threads.
class GemmEfficiencyTable {
 public:
  /// points: strictly increasing tokens_per_expert > 0, efficiency in (0, 1]. Throws
  /// std::invalid_argument when empty or not strictly increasing (loaders validate inputs first).
  explicit GemmEfficiencyTable(std::vector<GemmEfficiencyPoint> points);

  /// Efficiency at M tokens per expert (M > 0): linear interpolation in log(M) between the two
  /// neighbouring table points; the end values for M outside the table. M <= 0 returns the first value.
  double at(double tokens_per_expert) const;
  const std::vector<GemmEfficiencyPoint>& points() const { return points_; }

 private:
  std::vector<GemmEfficiencyPoint> points_;
};

/// Build the table from DeepGEMM's FP8 CSV (scenarios/measurements/deepgemm_grouped_fp8_h800.csv,
/// columns layout,groups,m_per_group,n,k,tflops,memory_GBps): efficiency(M) = mean over all rows with
/// m_per_group == M (dense, contiguous and masked layouts, every (n, k) shape) of tflops / peak_TFLOPs.
/// peak_TFLOPs is the dense FP8 peak of the measured GPU: 1979 for H800 (= H100 SXM). Throws InputError
/// on a malformed file or an efficiency > 1.
GemmEfficiencyTable load_deepgemm_efficiency(const std::filesystem::path& csv, double peak_TFLOPs = 1979.0);

}  // namespace epsim
