#include "comm/point_to_point.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace epsim {

double point_to_point_time_s(const RouteTable& routes, int src, int dst, double bytes, const LinkCalibration* calibration,
                             LinkKind calibrated_kind) {
  const Topology& topo = routes.topology();
  if (!(bytes >= 0) || !std::isfinite(bytes)) throw std::invalid_argument("point_to_point_time_s: bytes must be finite and >= 0");
  if (src < 0 || dst < 0 || src >= topo.num_gpus() || dst >= topo.num_gpus())
    throw std::invalid_argument("point_to_point_time_s: GPU rank out of range");
  if (src == dst) return 0;
  double bottleneck_s = 0;
  for (const RouteHop& h : routes.route(src, dst)) {
    const Link& link = topo.link(h.link);
    double bw_GBps = link.bandwidth_GBps;
    if (calibration && calibration->bandwidth_GBps && link.kind == calibrated_kind)
      bw_GBps = std::min(bw_GBps, *calibration->bandwidth_GBps);
    bottleneck_s = std::max(bottleneck_s, h.fraction * bytes / (bw_GBps * 1e9));
  }
  const double latency_ns = calibration && calibration->latency_ns ? *calibration->latency_ns : routes.latency_ns(src, dst);
  return bottleneck_s + latency_ns * 1e-9;
}

}  // namespace epsim
