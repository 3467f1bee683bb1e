#pragma once
// Closed-form network model: each exchange is costed on its own, as bottleneck bytes / bandwidth plus
// route latency. Exchanges do NOT interact (two concurrent exchanges each see the whole bandwidth);
// use the "flow" model for contention between exchanges.
#include <vector>

#include "sim/exchange_link_load.hpp"
#include "sim/network/network_model.hpp"

namespace epsim {

/// Per exchange: B_l = sum over its transfers t of bytes_t * fraction_{t,l} on each link l of t's
/// route; transfer t completes at now + max_{l in route(t)} B_l / (bandwidth_l * 1e9) + latency(t),
/// rounded up to the ps (latency rounded to the nearest ps).
/// Cost O(total route hops of the exchange) plus one event per transfer. link_bytes() credits a
/// whole exchange when it starts.
class AnalyticalNetwork final : public NetworkModel {
 public:
  /// The simulator, topology and routes must outlive the model.
  AnalyticalNetwork(Simulator& sim, const Topology& topology, const RouteTable& routes);
  void start_exchange(std::vector<Transfer> transfers, std::function<void(std::size_t)> on_transfer_done,
                      std::function<void()> on_done) override;
  std::string_view name() const override { return "analytical"; }
  const std::vector<double>& link_bytes() const override { return link_bytes_; }

 private:
  Simulator& sim_;
  const RouteTable& routes_;
  ExchangeLinkLoad load_;  ///< scratch B_l of the exchange being started (shared closed form)
  std::vector<double> link_bytes_;
};

}  // namespace epsim
