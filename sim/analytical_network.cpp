#include "sim/analytical_network.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace epsim {

AnalyticalNetwork::AnalyticalNetwork(Simulator& sim, const Topology& topology, const RouteTable& routes)
    : sim_(sim), routes_(routes) {
  for (const Link& link : topology.links()) bandwidth_Bps_.push_back(link.bandwidth_GBps * 1e9);
  link_bytes_.assign(bandwidth_Bps_.size(), 0.0);
  exchange_bytes_.assign(bandwidth_Bps_.size(), 0.0);
}

void AnalyticalNetwork::start_exchange(std::vector<Transfer> transfers,
                                       std::function<void(std::size_t)> on_transfer_done,
                                       std::function<void()> on_done) {
  auto state = detail::begin_exchange(sim_, transfers, routes_, std::move(on_transfer_done), std::move(on_done));
  if (!state) return;
  const Time now = sim_.now();

  // Bytes of this exchange on every link.
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
    Time at = now;
    if (t.src_gpu != t.dst_gpu && t.bytes > 0) {
      double worst_ps = 0;  // max over route links of B_l / bandwidth_l, in ps
      for (const RouteHop& h : routes_.route(t.src_gpu, t.dst_gpu)) {
        auto l = static_cast<std::size_t>(h.link);
        worst_ps = std::max(worst_ps, exchange_bytes_[l] * 1e12 / bandwidth_Bps_[l]);
      }
      at = now + detail::route_latency(routes_, t.src_gpu, t.dst_gpu) + Time::from_ps_ceil(worst_ps);
    }
    sim_.schedule(at, Simulator::kDefaultPriority, [state, i] { state->arrived(i); });
  }

  for (int l : touched_) {
    auto k = static_cast<std::size_t>(l);
    link_bytes_[k] += exchange_bytes_[k];
    exchange_bytes_[k] = 0;
  }
  touched_.clear();
}

}  // namespace epsim
