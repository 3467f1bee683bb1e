#pragma once
// The analytical network's closed form (sim/network/analytical_network.hpp) evaluated directly, without one
// simulator event per transfer: the fast path of `epsim simulate --network analytical`, where an
// all-to-all of G GPUs has G (G - 1) transfers but the workload only needs each GPU's completion.
#include <memory>
#include <vector>

#include "comm/link_load.hpp"
#include "sim/exchange_link_load.hpp"
#include "sim/network/network_model.hpp"
#include "sim/engine/time.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Per exchange: B_l = sum over transfers t of bytes_t x fraction_{t,l}; transfer t arrives after
/// route_latency(t) + ceil(max_{l in route(t)} B_l / (bandwidth_l x 1e9)) (ps), exactly as
/// AnalyticalNetwork schedules it. Cost O(total route hops); no events. Not thread-safe (scratch).
class ClosedFormExchange {
 public:
  /// topology and routes must outlive the object. kernel: the EP exchange kernel of all_to_all.
  ClosedFormExchange(const Topology& topology, const RouteTable& routes,
                     ExchangeKernelParams kernel = default_kernel_params(ExchangeKernelKind::deepep_normal));
  /// out[i] = arrival offset of transfers[i] from the exchange start (0 for src == dst or 0 bytes).
  /// Adds the exchange's bytes to link_bytes(). Throws std::invalid_argument like
  /// NetworkModel::start_exchange on a rank out of range or bad bytes.
  void arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out);
  /// The same for an exchange whose transfers are `scale` x those of a shape named `shape` (a non-null
  /// key, same transfer order, e.g. the micro-batches and chunks of one layer's dispatch): the route
  /// scan is done once per shape (the last 4 shapes are kept) and later instances cost O(transfers):
  /// B_l and every max_l B_l / bandwidth_l scale linearly. Identical to arrival_offsets when the
  /// scales are equal.
  void arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out, const void* shape, double scale);
  /// An EP all-to-all among GPU ranks base..base+n-1 under the exchange kernel: tokens[b] x fraction
  /// selections computed by rank b, each of bytes_per_token, with the routing's de-duplication
  /// (comm/link_load.hpp rows, comm/exchange_cost.hpp closed form: the same function the planner
  /// minimizes). Writes done[i] = offset at which rank base+i has sent and received its part (its
  /// row's links, its own SM work; plus deepep-normal's notify phase before a dispatch) and
  /// received[i] = bytes it received (over links). Returns false (and does nothing) on a bad input
  /// (group out of range, non-positive or non-finite bytes or fraction, a negative token count).
  bool all_to_all(const std::vector<double>& tokens, double bytes_per_token, double fraction, bool dispatch, int base,
                  const ExchangeRouting& routing, std::vector<Time>& done, std::vector<double>& received);
  /// Bytes carried so far by each link.
  const std::vector<double>& link_bytes() const { return link_bytes_; }

 private:
  const RouteTable& routes_;
  ExchangeLinkLoad load_;  ///< scratch B_l of the exchange being costed
  std::vector<double> link_bytes_;
  struct Shape {
    const void* key = nullptr;
    double scale = 0;
    std::size_t transfers = 0;
    std::vector<double> worst_ps;   ///< per transfer, at `scale`
    std::vector<Time> latency;      ///< per transfer
    std::vector<std::pair<int, double>> link_bytes;  ///< at `scale`
  };
  std::vector<Shape> shapes_;  ///< most recent last
  const EpLinkModel& link_model(int base, int n, const ExchangeRouting& routing);
  struct A2aResult {  ///< a recent all_to_all (the micro-batches of a layer repeat it exactly)
    const std::vector<double>* tokens = nullptr;
    double bytes_per_token = 0, fraction = 0;
    bool dispatch = true;
    int base = 0;
    ExchangeRouting routing;
    std::vector<Time> done;
    std::vector<double> received;
    std::vector<std::pair<int, double>> link_bytes;
  };
  std::vector<A2aResult> recent_;  ///< at most 4, most recent last
  const Topology& topology_;
  ExchangeKernelParams kernel_;
  /// EP groups' rows by base and size (routes expanded once) and their recombinations for the most
  /// recent routings (at most 8 kept).
  std::vector<std::unique_ptr<EpLinkModel>> groups_;
  std::vector<std::unique_ptr<EpLinkModel>> routed_;
  std::vector<double> scaled_;  ///< scratch: tokens x fraction
};

}  // namespace epsim
