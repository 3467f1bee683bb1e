#pragma once
// Fitting the simulator's parameters to the harness's measurements (measurements.json): link latency
// and bandwidth, GEMM efficiency, overlap slowdown, into THE calibration struct (comm/calibration.hpp,
// which also reads and writes calibration.json). Host-only: no CUDA.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "comm/table_calibration.hpp"
#include "cuda_validate/measurements.hpp"

namespace epsim::validate {

// The link fit (t = latency + bytes / bandwidth) is comm's (comm/table_calibration.hpp), shared with
// the nccl-tests fits of `epsim calibrate`.
using epsim::fit_link;
using epsim::LinkFit;

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

/// Fit every link class with p2p samples (a class must be a link kind: nvlink, pcie, infiniband,
/// ethernet), the GEMM efficiency per tokens per expert (sum of FLOPs over sum of time x peak at each
/// M, for options.gemm_dtype) and the overlap slowdown. Throws InputError naming the measurement file
/// when a link class is unknown or cannot be fitted (see fit_link), the GPU name is unknown
/// (canonical_gpu_name), or the file has nothing to fit.
CalibrationFit fit_calibration(const Measurements& measurements, const CalibrationOptions& options = {});

}  // namespace epsim::validate
