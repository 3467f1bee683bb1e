#include "sim/network/network_model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/network/analytical_network.hpp"
#include "sim/network/flow_network_model.hpp"

namespace epsim {

const std::vector<std::string>& network_model_names() {
  static const std::vector<std::string> names = {"analytical", "flow", "flow-per-transfer"};
  return names;
}

std::unique_ptr<NetworkModel> make_network_model(std::string_view name, Simulator& sim, const Topology& topology,
                                                 const RouteTable& routes) {
  if (routes.num_gpus() != topology.num_gpus())
    throw std::invalid_argument("make_network_model: route table has " + std::to_string(routes.num_gpus()) +
                                " GPUs, topology has " + std::to_string(topology.num_gpus()));
  if (name == "analytical") return std::make_unique<AnalyticalNetwork>(sim, topology, routes);
  if (name == "flow") return std::make_unique<FlowNetworkModel>(sim, topology, routes);
  if (name == "flow-per-transfer")
    return std::make_unique<FlowNetworkModel>(sim, topology, routes, FlowGranularity::per_transfer);
  throw std::invalid_argument("make_network_model: unknown network model '" + std::string(name) +
                              "' (expected \"analytical\", \"flow\" or \"flow-per-transfer\")");
}

namespace detail {
std::shared_ptr<ExchangeState> begin_exchange(Simulator& sim, const std::vector<Transfer>& transfers,
                                              const RouteTable& routes,
                                              std::function<void(std::size_t)> on_transfer_done,
                                              std::function<void()> on_done) {
  validate_transfers(transfers, routes);
  auto state = std::make_shared<ExchangeState>();
  state->on_transfer_done = std::move(on_transfer_done);
  state->on_done = std::move(on_done);
  state->outstanding = transfers.size();
  if (transfers.empty()) {
    sim.schedule(sim.now(), Simulator::kDefaultPriority, [state] {
      if (state->on_done) state->on_done();
    });
    return nullptr;
  }
  return state;
}

void validate_transfers(const std::vector<Transfer>& transfers, const RouteTable& routes) {
  const int g = routes.num_gpus();
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    if (t.src_gpu < 0 || t.src_gpu >= g || t.dst_gpu < 0 || t.dst_gpu >= g)
      throw std::invalid_argument("transfer " + std::to_string(i) + ": GPU rank out of range [0, " +
                                  std::to_string(g) + "): " + std::to_string(t.src_gpu) + " -> " +
                                  std::to_string(t.dst_gpu));
    if (!std::isfinite(t.bytes) || t.bytes < 0)
      throw std::invalid_argument("transfer " + std::to_string(i) + ": bytes must be finite and >= 0, got " +
                                  std::to_string(t.bytes));
  }
}
}  // namespace detail

}  // namespace epsim
