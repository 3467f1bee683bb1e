#pragma once
// The "flow" network model: every transfer becomes one FlowNetwork flow on its route (link capacity
// = bandwidth_GBps * 1e9 bytes/s, first byte after the route latency), so concurrent transfers and
// concurrent exchanges share links max-min fairly.
#include <vector>

#include "sim/flow_network.hpp"
#include "sim/network_model.hpp"

namespace epsim {

/// NetworkModel over FlowNetwork. Cost per exchange: O(transfers) events plus one coalesced
/// re-solve per distinct arrival/completion instant (see sim/flow_network.hpp).
class FlowNetworkModel final : public NetworkModel {
 public:
  /// The simulator, topology and routes must outlive the model.
  FlowNetworkModel(Simulator& sim, const Topology& topology, const RouteTable& routes);
  void start_exchange(std::vector<Transfer> transfers, std::function<void(std::size_t)> on_transfer_done,
                      std::function<void()> on_done) override;
  std::string_view name() const override { return "flow"; }
  /// See FlowNetwork::link_bytes() (exact whenever no flow is mid-transfer).
  const std::vector<double>& link_bytes() const override { return network_.link_bytes(); }
  /// The underlying flow network (rates, counters).
  const FlowNetwork& network() const { return network_; }

 private:
  static std::vector<double> capacities(const Topology& topology);
  Simulator& sim_;
  const RouteTable& routes_;
  FlowNetwork network_;
};

}  // namespace epsim
