#include "sim/network/analytical_network.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace epsim {

AnalyticalNetwork::AnalyticalNetwork(Simulator& sim, const Topology& topology, const RouteTable& routes)
    : sim_(sim), routes_(routes), load_(topology) {
  link_bytes_.assign(load_.bandwidth_Bps().size(), 0.0);
}

void AnalyticalNetwork::start_exchange(std::vector<Transfer> transfers,
                                       std::function<void(std::size_t)> on_transfer_done,
                                       std::function<void()> on_done) {
  auto state = detail::begin_exchange(sim_, transfers, routes_, std::move(on_transfer_done), std::move(on_done));
  if (!state) return;
  const Time now = sim_.now();
  load_.add_transfers(routes_, transfers);  // B_l of this exchange
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    Time at = now;
    if (t.src_gpu != t.dst_gpu && t.bytes > 0)
      at = now + detail::route_latency(routes_, t.src_gpu, t.dst_gpu) +
           Time::from_ps_ceil(load_.worst_ps(routes_.route(t.src_gpu, t.dst_gpu)));
    sim_.schedule(at, Simulator::kDefaultPriority, [state, i] { state->arrived(i); });
  }
  load_.drain([&](int l, double b) { link_bytes_[static_cast<std::size_t>(l)] += b; });
}

}  // namespace epsim
