#include "comm/point_to_point.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace epsim {

double point_to_point_time_s(const RouteTable& routes, int src, int dst, double bytes) {
  const Topology& topo = routes.topology();
  if (!(bytes >= 0) || !std::isfinite(bytes)) throw std::invalid_argument("point_to_point_time_s: bytes must be finite and >= 0");
  if (src < 0 || dst < 0 || src >= topo.num_gpus() || dst >= topo.num_gpus())
    throw std::invalid_argument("point_to_point_time_s: GPU rank out of range");
  if (src == dst) return 0;
  double bottleneck_s = 0;
  for (const RouteHop& h : routes.route(src, dst))
    bottleneck_s = std::max(bottleneck_s, h.fraction * bytes / (topo.link(h.link).bandwidth_GBps * 1e9));
  return bottleneck_s + routes.latency_ns(src, dst) * 1e-9;
}

}  // namespace epsim
