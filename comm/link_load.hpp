#pragma once
// Link loads of one layer's all-to-all under data-parallel attention: every EP rank originates the
// same share of every expert's tokens, so the bytes from rank s to rank d are
//   bytes(s, d) = tokens(d) / EP x bytes_per_token      (s != d; tokens on s itself cost nothing)
// and the bytes on a link are linear in the per-rank token loads:
//   dispatch_bytes(l) = bytes_per_token / EP x sum_d tokens(d) x in(d, l),  in(d, l)  = sum_{s != d} share of route(s -> d) on l
//   combine_bytes(l)  = bytes_per_token / EP x sum_d tokens(d) x out(d, l), out(d, l) = sum_{s != d} share of route(d -> s) on l
// EpLinkModel precomputes in() and out() once per (topology, routing, EP) so that evaluating a
// placement costs O(EP x links touched per rank), and a move that changes two ranks' loads only
// touches those ranks' rows.
#include <utility>
#include <vector>

#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Sparse row: (link index, coefficient).
using LinkRow = std::vector<std::pair<int, double>>;

/// Per-rank aggregated routes over EP ranks 0..ep-1 (= GPU ranks 0..ep-1 of the topology).
class EpLinkModel {
 public:
  /// Throws InputError if ep < 1 or ep exceeds the topology's GPUs.
  EpLinkModel(const Topology& topology, const RouteTable& routes, int ep);

  int ep() const { return ep_; }
  int num_links() const { return static_cast<int>(bandwidth_Bps_.size()); }
  /// in(d, .): link shares of the routes from all other EP ranks into rank d.
  const LinkRow& into(int rank) const { return into_[static_cast<std::size_t>(rank)]; }
  /// out(d, .): link shares of the routes from rank d to all other EP ranks.
  const LinkRow& out_of(int rank) const { return out_of_[static_cast<std::size_t>(rank)]; }
  /// Slowest route latency into / out of a rank from / to the other EP ranks, seconds.
  double latency_into_s(int rank) const { return latency_into_s_[static_cast<std::size_t>(rank)]; }
  double latency_out_of_s(int rank) const { return latency_out_s_[static_cast<std::size_t>(rank)]; }
  /// Link bandwidth in bytes/s (bandwidth_GBps x 1e9).
  double bandwidth_Bps(int link) const { return bandwidth_Bps_[static_cast<std::size_t>(link)]; }
  const Topology& topology() const { return *topology_; }

 private:
  const Topology* topology_;
  int ep_;
  std::vector<LinkRow> into_;
  std::vector<LinkRow> out_of_;
  std::vector<double> latency_into_s_;
  std::vector<double> latency_out_s_;
  std::vector<double> bandwidth_Bps_;
};

/// Direction of an all-to-all: dispatch sends tokens to the ranks that compute them, combine sends
/// the results back.
enum class Exchange { dispatch, combine };

/// Bytes on every link (size num_links) for one all-to-all. gpu_tokens: tokens computed by each EP
/// rank (size ep); bytes_per_token: bytes of one token on the wire.
std::vector<double> exchange_link_bytes(const EpLinkModel& model, const std::vector<double>& gpu_tokens,
                                        double bytes_per_token, Exchange direction);

/// Cost of one all-to-all in the closed-form model: the busiest link drains at full bandwidth,
/// time = max_l bytes(l) / bandwidth(l) + latency of the slowest route that carries bytes.
struct ExchangeCost {
  int busiest_link = -1;         ///< -1 when no byte crosses any link
  double busiest_link_bytes = 0;
  double bottleneck_s = 0;       ///< busiest_link_bytes / its bandwidth
  double latency_s = 0;
  double time_s() const { return bottleneck_s + latency_s; }
};

/// Evaluate an all-to-all (bytes from exchange_link_bytes with the same gpu_tokens).
ExchangeCost exchange_cost(const EpLinkModel& model, const std::vector<double>& link_bytes,
                           const std::vector<double>& gpu_tokens, Exchange direction);

}  // namespace epsim
