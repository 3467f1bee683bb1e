#pragma once
// The analytical closed form of one exchange, shared by AnalyticalNetwork (one event per transfer) and
// ClosedFormExchange (no events): B_l = sum over transfers t of bytes_t x fraction_{t,l} on every link
// l of t's route, and the bottleneck time of t = max over l in route(t) of B_l / bandwidth_l.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "sim/network/network_model.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Per-link bytes of one exchange (scratch, reused across exchanges). Not thread-safe.
class ExchangeLinkLoad {
 public:
  /// Bandwidths from the topology's links (bandwidth_GBps x 1e9 bytes/s).
  explicit ExchangeLinkLoad(const Topology& topology) {
    for (const Link& l : topology.links()) bandwidth_Bps_.push_back(l.bandwidth_GBps * 1e9);
    bytes_.assign(bandwidth_Bps_.size(), 0.0);
  }
  /// Add `bytes` x fraction to every link of `route`.
  void add_route(const std::vector<RouteHop>& route, double bytes) {
    for (const RouteHop& h : route) add(h.link, bytes * static_cast<double>(h.fraction));
  }
  /// Add bytes to one link (link index in range).
  void add(int link, double bytes) {
    auto l = static_cast<std::size_t>(link);
    if (bytes_[l] == 0) touched_.push_back(link);
    bytes_[l] += bytes;
  }
  /// Add every transfer of an exchange (src == dst and 0-byte transfers cost nothing).
  void add_transfers(const RouteTable& routes, const std::vector<Transfer>& transfers) {
    for (const Transfer& t : transfers)
      if (t.src_gpu != t.dst_gpu && t.bytes != 0) add_route(routes.route(t.src_gpu, t.dst_gpu), t.bytes);
  }
  /// max over the route's links of B_l x 1e12 / bandwidth_l: the bottleneck time, ps (unrounded).
  double worst_ps(const std::vector<RouteHop>& route) const {
    double worst = 0;
    for (const RouteHop& h : route) worst = std::max(worst, link_ps(h.link));
    return worst;
  }
  /// B_l x 1e12 / bandwidth_l of one link, ps.
  double link_ps(int link) const {
    auto l = static_cast<std::size_t>(link);
    return bytes_[l] * 1e12 / bandwidth_Bps_[l];
  }
  /// Bytes of one link so far in this exchange.
  double bytes(int link) const { return bytes_[static_cast<std::size_t>(link)]; }
  /// Links with non-zero bytes, in order of first use.
  const std::vector<int>& touched() const { return touched_; }
  /// Call per_link(link, bytes) for every touched link, then zero them for the next exchange.
  template <class F>
  void drain(F&& per_link) {
    for (int l : touched_) {
      per_link(l, bytes_[static_cast<std::size_t>(l)]);
      bytes_[static_cast<std::size_t>(l)] = 0;
    }
    touched_.clear();
  }
  /// Link bandwidths, bytes/s.
  const std::vector<double>& bandwidth_Bps() const { return bandwidth_Bps_; }

 private:
  std::vector<double> bandwidth_Bps_;
  std::vector<double> bytes_;  ///< zero between exchanges
  std::vector<int> touched_;
};

}  // namespace epsim
