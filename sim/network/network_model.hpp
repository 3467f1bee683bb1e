#pragma once
// The one transport interface between the workload/schedule layer and the network models behind it
// (design section 5): "analytical" (closed form per exchange) and "flow" (max-min fair flows).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/engine/simulator.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// One point-to-point transfer: `bytes` (finite, >= 0) from GPU rank src_gpu to GPU rank dst_gpu.
struct Transfer {
  int src_gpu = 0;
  int dst_gpu = 0;
  double bytes = 0;
};

/// A network model, owned by (and not outliving) one Simulator; not thread-safe.
class NetworkModel {
 public:
  virtual ~NetworkModel() = default;
  /// Start all transfers now (sim.now()). on_transfer_done(i) is called (as a simulator event) when
  /// transfer i has fully arrived; on_done() right after the last one (in the same event; at now as
  /// its own event when `transfers` is empty). Transfers with src == dst or 0 bytes complete
  /// immediately (at now). Throws std::invalid_argument on a GPU rank out of range or bad bytes
  /// (nothing is started then). Either callback may be empty.
  virtual void start_exchange(std::vector<Transfer> transfers, std::function<void(std::size_t)> on_transfer_done,
                              std::function<void()> on_done) = 0;
  /// Model name ("analytical", "flow" or "flow-per-transfer").
  virtual std::string_view name() const = 0;
  /// Bytes carried so far by each link (size = topology.num_links()), for utilization reports.
  virtual const std::vector<double>& link_bytes() const = 0;
};

/// Build a model by name: "analytical", "flow" (one flow per source GPU and destination host) or
/// "flow-per-transfer" (one flow per transfer; sim/network/flow_network_model.hpp). The simulator, topology and routes must outlive it.
/// Throws std::invalid_argument on an unknown name or a topology/route table mismatch.
/// The network models make_network_model builds, by name: "analytical", "flow", "flow-per-transfer"
/// (the one list that parsers, help texts and docs use).
const std::vector<std::string>& network_model_names();

std::unique_ptr<NetworkModel> make_network_model(std::string_view name, Simulator& sim, const Topology& topology,
                                                 const RouteTable& routes);

namespace detail {
/// Shared bookkeeping of one exchange: the callbacks and how many transfers are still in flight.
struct ExchangeState {
  std::function<void(std::size_t)> on_transfer_done;
  std::function<void()> on_done;
  std::size_t outstanding = 0;
  /// Record transfer i as arrived: call on_transfer_done(i), then on_done() if it was the last.
  void arrived(std::size_t i) {
    if (on_transfer_done) on_transfer_done(i);
    if (--outstanding == 0 && on_done) on_done();
  }
};
/// Validate transfers against the route table (ranks in range, bytes finite and >= 0); throws
/// std::invalid_argument naming the transfer index. O(transfers).
void validate_transfers(const std::vector<Transfer>& transfers, const RouteTable& routes);
/// Common start of every model's start_exchange: validate the transfers, then either schedule
/// on_done at sim.now() and return nullptr (no transfers), or return the exchange's bookkeeping with
/// `outstanding` = number of transfers. Throws as validate_transfers.
std::shared_ptr<ExchangeState> begin_exchange(Simulator& sim, const std::vector<Transfer>& transfers,
                                              const RouteTable& routes,
                                              std::function<void(std::size_t)> on_transfer_done,
                                              std::function<void()> on_done);
/// Route latency as simulated time, rounded to the nearest ps.
inline Time route_latency(const RouteTable& routes, int src, int dst) {
  return Time::from_ps_rounded(routes.latency_ns(src, dst) * 1e3);
}
}  // namespace detail

}  // namespace epsim
