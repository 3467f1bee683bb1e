#pragma once
// Calibrated parameters of the simulator (calibration.json, schema "epsim.calibration/1"), produced by
// `epsim calibrate` from measurements and read by the compute and collective models.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comm/link_calibration.hpp"
#include "common/json_input.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// One point of the GEMM efficiency curve: achieved / peak tensor throughput at M tokens per expert.
struct GemmEfficiencyPoint {
  double tokens_per_expert = 0;  ///< M (rows of the expert GEMM), > 0
  double efficiency = 0;         ///< in (0, 1]
};

/// The contents of calibration.json. Every member is optional except the schema.
struct Calibration {
  std::string gpu;                                   ///< GPU name ("H200"); empty when absent
  std::map<LinkKind, LinkCalibration> links;         ///< keyed by link kind
  std::vector<GemmEfficiencyPoint> gemm_efficiency;  ///< sorted by tokens_per_expert, strictly increasing
  std::optional<double> overlap_slowdown;            ///< >= 1: compute time factor under overlapped comm
};

/// The schema string a calibration file must carry.
inline constexpr const char* kCalibrationSchema = "epsim.calibration/1";

/// Parse a calibration document:
/// {"schema":"epsim.calibration/1","gpu":"H200","links":{"nvlink":{"bandwidth_GBps":..,"latency_ns":..},
///  "infiniband":{..},"pcie":{..}},"gemm_efficiency":[{"tokens_per_expert":M,"efficiency":e},..],
///  "overlap_slowdown":x}.
/// Throws InputError naming file + JSON pointer for: a missing or different schema, a non-object, an
/// unknown link kind or field, a bandwidth <= 0, a latency < 0, a non-number (NaN is not JSON and is
/// rejected by the parser), an efficiency outside (0, 1], tokens_per_expert not strictly increasing, an
/// overlap_slowdown < 1, or an unknown GPU name.
Calibration calibration_from_json(const Json& doc, const std::string& file);

/// Read and parse a calibration file (see calibration_from_json). Throws InputError.
Calibration load_calibration(const std::filesystem::path& path);

}  // namespace epsim
