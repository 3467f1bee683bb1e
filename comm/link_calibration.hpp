#pragma once
// Measured properties of one kind of link (calibration.json "links"), read by the collective model
// (comm/collectives.hpp). Here, below sim/, so that comm/ does not depend on the scenario layer.
#include <optional>

namespace epsim {

/// Measured properties of one kind of link. When present they replace the datasheet bandwidth times the
/// model's efficiency factor (bandwidth is the achieved one) and the model's per-step latency.
struct LinkCalibration {
  std::optional<double> bandwidth_GBps;  ///< achieved bandwidth per direction, 1e9 bytes/s, > 0
  std::optional<double> latency_ns;      ///< per-step latency, ns, >= 0
};

}  // namespace epsim
