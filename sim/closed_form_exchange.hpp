#pragma once
// The analytical network's closed form (sim/analytical_network.hpp) evaluated directly, without one
// simulator event per transfer: the fast path of `epsim simulate --network analytical`, where an
// all-to-all of G GPUs has G (G - 1) transfers but the workload only needs each GPU's completion.
#include <vector>

#include "sim/network_model.hpp"
#include "sim/time.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Per exchange: B_l = sum over transfers t of bytes_t x fraction_{t,l}; transfer t arrives after
/// route_latency(t) + ceil(max_{l in route(t)} B_l / (bandwidth_l x 1e9)) (ps), exactly as
/// AnalyticalNetwork schedules it. Cost O(total route hops); no events. Not thread-safe (scratch).
class ClosedFormExchange {
 public:
  /// topology and routes must outlive the object.
  ClosedFormExchange(const Topology& topology, const RouteTable& routes);
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
  /// Bytes carried so far by each link.
  const std::vector<double>& link_bytes() const { return link_bytes_; }

 private:
  const RouteTable& routes_;
  std::vector<double> bandwidth_Bps_;
  std::vector<double> link_bytes_;
  std::vector<double> exchange_bytes_;  ///< scratch, zero between calls
  std::vector<int> touched_;
  struct Shape {
    const void* key = nullptr;
    double scale = 0;
    std::size_t transfers = 0;
    std::vector<double> worst_ps;   ///< per transfer, at `scale`
    std::vector<Time> latency;      ///< per transfer
    std::vector<std::pair<int, double>> link_bytes;  ///< at `scale`
  };
  std::vector<Shape> shapes_;  ///< most recent last
};

}  // namespace epsim
