#include "sim/flow_network_model.hpp"

#include <memory>
#include <utility>

namespace epsim {

std::vector<double> FlowNetworkModel::capacities(const Topology& topology) {
  std::vector<double> c;
  c.reserve(topology.links().size());
  for (const Link& link : topology.links()) c.push_back(link.bandwidth_GBps * 1e9);
  return c;
}

FlowNetworkModel::FlowNetworkModel(Simulator& sim, const Topology& topology, const RouteTable& routes)
    : sim_(sim), routes_(routes), network_(sim, capacities(topology)) {}

void FlowNetworkModel::start_exchange(std::vector<Transfer> transfers,
                                      std::function<void(std::size_t)> on_transfer_done,
                                      std::function<void()> on_done) {
  auto state = detail::begin_exchange(sim_, transfers, routes_, std::move(on_transfer_done), std::move(on_done));
  if (!state) return;
  const Time now = sim_.now();
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    if (t.src_gpu == t.dst_gpu || t.bytes == 0) {
      sim_.schedule(now, Simulator::kDefaultPriority, [state, i] { state->arrived(i); });
      continue;
    }
    network_.start_flow(routes_.route(t.src_gpu, t.dst_gpu), t.bytes,
                        detail::route_latency(routes_, t.src_gpu, t.dst_gpu), [state, i] { state->arrived(i); });
  }
}

}  // namespace epsim
