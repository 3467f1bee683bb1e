#pragma once
// Routes between GPU pairs: for each (source GPU, destination GPU) the links a byte crosses and the
// fraction of the pair's bytes on each (ECMP splits evenly at every hop among next hops on shortest
// paths). Computed once per topology; read-only and thread-safe afterwards.
#include <cstdint>
#include <span>
#include <vector>

#include "topology/topology.hpp"

namespace epsim {

/// One link on a route and the share of the pair's bytes it carries (0 < fraction <= 1).
struct RouteHop {
  std::int32_t link;
  float fraction;
};

/// How pairs on different hosts are routed.
enum class RoutingPolicy {
  shortest,  ///< all equal-hop shortest paths, even ECMP split per hop; GPUs do not forward
             ///< traffic unless no path avoids them (e.g. the DGX-1 NVLink mesh)
  pxn,       ///< NCCL PXN: hop over NVLink to the GPU on the source's host whose rail is the
             ///< destination's, then leave through that GPU's NIC
};

struct RoutingOptions {
  RoutingPolicy policy = RoutingPolicy::shortest;
};

/// All-pairs route table. Memory: one RouteHop (8 bytes) per (pair, link on its paths), stored in
/// one array (CSR). Build time O(G * (V + E) + G^2 * hops) for G GPUs, V devices, E links.
class RouteTable {
 public:
  RouteTable(const Topology& topology, RoutingOptions options = {});

  int num_gpus() const { return num_gpus_; }
  const RoutingOptions& options() const { return options_; }

  /// Links and fractions from GPU rank src to GPU rank dst; empty when src == dst.
  std::span<const RouteHop> route(int src_gpu, int dst_gpu) const {
    std::size_t p = pair_index(src_gpu, dst_gpu);
    return {hops_.data() + offsets_[p], hops_.data() + offsets_[p + 1]};
  }
  /// Latency of the slowest of the pair's paths (sum of link latencies), ns; 0 when src == dst.
  double latency_ns(int src_gpu, int dst_gpu) const { return latency_ns_[pair_index(src_gpu, dst_gpu)]; }
  /// Total number of stored hops (for memory accounting).
  std::size_t num_hops() const { return hops_.size(); }

 private:
  std::size_t pair_index(int s, int d) const {
    return static_cast<std::size_t>(s) * static_cast<std::size_t>(num_gpus_) + static_cast<std::size_t>(d);
  }
  int num_gpus_ = 0;
  RoutingOptions options_;
  std::vector<std::uint64_t> offsets_;
  std::vector<RouteHop> hops_;
  std::vector<float> latency_ns_;
};

}  // namespace epsim
