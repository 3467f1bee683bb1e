#pragma once
// Time of one point-to-point transfer alone on an idle fabric (what `epsim validate` compares with the
// harness's p2p samples): the busiest hop of the route at the link's bandwidth plus the route latency,
//   t = max over hops h of route(src, dst) (fraction_h x bytes / (bandwidth_GBps_h x 1e9)) + latency(src, dst).
// Bandwidths as the topology states them (no kernel efficiency: a copy engine or p2p put, not an
// exchange kernel); the same B / bandwidth + latency the analytical network charges one transfer.
#include "comm/calibration.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// Seconds for `bytes` (>= 0) from GPU rank src to GPU rank dst (ranks of routes.topology()).
/// `calibration` (optional) is the measured figure of links of kind `calibrated_kind` (what `epsim
/// calibrate` fitted t = latency + bytes / bandwidth to): those links run at min(their bandwidth, the
/// calibrated one), and a calibrated latency replaces the route's.
/// Throws std::invalid_argument on negative or non-finite bytes or a rank out of range.
double point_to_point_time_s(const RouteTable& routes, int src, int dst, double bytes,
                             const LinkCalibration* calibration = nullptr, LinkKind calibrated_kind = LinkKind::nvlink);

}  // namespace epsim
