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

void ClosedFormExchange::arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out,
                                         const void* shape, double scale) {
  if (shape == nullptr || !(scale > 0)) return arrival_offsets(transfers, out);
  auto it = std::find_if(shapes_.begin(), shapes_.end(),
                         [&](const Shape& s) { return s.key == shape && s.transfers == transfers.size(); });
  if (it == shapes_.end()) {
    detail::validate_transfers(transfers, routes_);
    Shape s;
    s.key = shape;
    s.scale = scale;
    s.transfers = transfers.size();
    for (const Transfer& t : transfers) {
      if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
      for (const RouteHop& h : routes_.route(t.src_gpu, t.dst_gpu)) {
        auto l = static_cast<std::size_t>(h.link);
        if (exchange_bytes_[l] == 0) touched_.push_back(h.link);
        exchange_bytes_[l] += t.bytes * static_cast<double>(h.fraction);
      }
    }
    s.worst_ps.assign(transfers.size(), 0.0);
    s.latency.assign(transfers.size(), Time());
    for (std::size_t i = 0; i < transfers.size(); ++i) {
      const Transfer& t = transfers[i];
      if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
      double worst_ps = 0;
      for (const RouteHop& h : routes_.route(t.src_gpu, t.dst_gpu)) {
        auto l = static_cast<std::size_t>(h.link);
        worst_ps = std::max(worst_ps, exchange_bytes_[l] * 1e12 / bandwidth_Bps_[l]);
      }
      s.worst_ps[i] = worst_ps;
      s.latency[i] = detail::route_latency(routes_, t.src_gpu, t.dst_gpu);
    }
    for (int l : touched_) {
      auto k = static_cast<std::size_t>(l);
      s.link_bytes.emplace_back(l, exchange_bytes_[k]);
      exchange_bytes_[k] = 0;
    }
    touched_.clear();
    if (shapes_.size() == 4) shapes_.erase(shapes_.begin());
    shapes_.push_back(std::move(s));
    it = shapes_.end() - 1;
  }
  const Shape& s = *it;
  const double ratio = scale / s.scale;
  out.assign(transfers.size(), Time());
  for (std::size_t i = 0; i < transfers.size(); ++i)
    if (s.worst_ps[i] > 0) out[i] = s.latency[i] + Time::from_ps_ceil(ratio == 1.0 ? s.worst_ps[i] : s.worst_ps[i] * ratio);
  for (const auto& [l, b] : s.link_bytes) link_bytes_[static_cast<std::size_t>(l)] += ratio == 1.0 ? b : b * ratio;
}

}  // namespace epsim
