#include "sim/closed_form_exchange.hpp"

#include <algorithm>

namespace epsim {

ClosedFormExchange::ClosedFormExchange(const Topology& topology, const RouteTable& routes) : routes_(routes) {
  for (const Link& l : topology.links()) bandwidth_Bps_.push_back(l.bandwidth_GBps * 1e9);
  link_bytes_.assign(bandwidth_Bps_.size(), 0.0);
  exchange_bytes_.assign(bandwidth_Bps_.size(), 0.0);
}

void ClosedFormExchange::arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out) {
  detail::validate_transfers(transfers, routes_);
  out.assign(transfers.size(), Time());
  for (const Transfer& t : transfers) {
    if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
    for (const RouteHop& h : routes_.route(t.src_gpu, t.dst_gpu)) {
      auto l = static_cast<std::size_t>(h.link);
      if (exchange_bytes_[l] == 0) touched_.push_back(h.link);
      exchange_bytes_[l] += t.bytes * static_cast<double>(h.fraction);
    }
  }
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
    double worst_ps = 0;
    for (const RouteHop& h : routes_.route(t.src_gpu, t.dst_gpu)) {
      auto l = static_cast<std::size_t>(h.link);
      worst_ps = std::max(worst_ps, exchange_bytes_[l] * 1e12 / bandwidth_Bps_[l]);
    }
    out[i] = detail::route_latency(routes_, t.src_gpu, t.dst_gpu) + Time::from_ps_ceil(worst_ps);
  }
  for (int l : touched_) {
    auto k = static_cast<std::size_t>(l);
    link_bytes_[k] += exchange_bytes_[k];
    exchange_bytes_[k] = 0;
  }
  touched_.clear();
}

}  // namespace epsim
