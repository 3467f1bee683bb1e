#pragma once
// Routes between GPU pairs: for each (source GPU, destination GPU) the links a byte crosses and the
// fraction of the pair's bytes on each (ECMP splits evenly at every hop among next hops on shortest
// paths; a hop into a CPU costs 17, so routes avoid the host bridge where they can). Compact: the
// table stores path costs per destination GPU over the destination's own
// host and the fabric only; a pair's route is expanded on demand. Read-only and thread-safe after
// construction (each thread brings its own RouteScratch).
//
// Growth (G GPUs, H hosts, n devices per host, F fabric devices = devices without a host, E_F links
// among fabric devices and between fabric and hosts):
//   memory  = G x (n + F) x 2 bytes of distances + O(V + E) indices
//             (1024 DGX nodes: 8192 x (25 + 264) x 2 B = 4.7 MB, against 8192^2 pairs x ~20 hops x 8 B
//              = 10 GB for an all-pairs hop table);
//   build   = G x O((n + F + E_F) log(n + F)) (one Dijkstra per destination over its host and the fabric);
//   route(s, d) = O(hops on the route + n x passes) for the source host's distances, which a
//             RouteScratch caches for consecutive sources on the same host and the same destination;
//             the next hops of switches are cached per destination in the RouteScratch, so a
//             destination-major loop scans each switch's ports once per destination
//             (O(E_F) per destination amortized over its sources).
// Assumption (true of every generator and of real clusters): a shortest path never transits a third
// host; a host's devices only forward traffic that leaves or enters that host.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <string>
#include <string_view>
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
  shortest,  ///< all equal-cost shortest paths (a hop costs 1, 17 into a CPU), even ECMP split per hop;
             ///< GPUs do not forward traffic unless no path avoids them (e.g. the DGX-1 NVLink mesh)
  pxn,       ///< NCCL PXN: hop over NVLink to the GPU on the source's host whose rail is the
             ///< destination's, then leave through that GPU's NIC
};

/// Names of the routing policies ("shortest", "pxn"), in enum order; the one list parsers and docs use.
const std::vector<std::string>& routing_policy_names();
/// The policy named `name`; throws std::invalid_argument naming the valid ones.
RoutingPolicy parse_routing_policy(std::string_view name);
std::string_view to_string(RoutingPolicy policy);

/// How a route uses equal-cost next hops.
enum class EcmpMode {
  split,  ///< every flow spread evenly over all equal-cost next hops (ideal, no collisions)
  hash,   ///< every (source, destination) flow on one next hop per switch, chosen by a seeded hash of the
          ///< pair and the switch (static ECMP hashing: flows can collide on one link while others idle)
};
/// "split", "hash" in enum order.
const std::vector<std::string>& ecmp_mode_names();
EcmpMode parse_ecmp_mode(std::string_view name);  ///< throws std::invalid_argument naming the valid ones
std::string_view to_string(EcmpMode mode);

/// Options of a RouteTable.
struct RoutingOptions {
  RoutingPolicy policy = RoutingPolicy::shortest;
  EcmpMode ecmp = EcmpMode::split;
  std::uint64_t ecmp_seed = 1;  ///< the switches' hash seed (EcmpMode::hash)
};

class RouteTable;

/// Per-thread working memory for route expansion (O(devices) doubles, allocated on first use).
/// Caches the source host's distances for the last (source host, destination) pair, and keeps the
/// ones computed before (at most kMemoDistances of them, 8 MiB) so that a caller that alternates
/// destinations (source-major loops) relaxes each (source host, destination) pair once. Beyond that,
/// a host's distances are kept per class of destination (the same distances on the host's boundary
/// give the same relaxation): on a fat tree a few classes serve every destination.
class RouteScratch {
 public:
  /// Empty; sized to the topology on first use by RouteTable::append_route.
  RouteScratch() = default;

 private:
  friend class RouteTable;
  std::vector<double> fraction_;
  std::vector<double> latency_;
  std::vector<int> touched_;
  std::vector<int> current_, next_, candidates_;
  std::vector<std::uint16_t> source_dist_;  ///< indexed by slot within the source group
  static constexpr std::size_t kMemoDistances = std::size_t{1} << 22;
  std::unordered_map<std::uint64_t, std::size_t> memo_;  ///< (group << 32 | dst) -> offset in memo_dist_
  std::vector<std::uint16_t> memo_dist_;
  // A source group's distances depend only on its boundary's distances to the destination (the
  // devices outside it that its links reach): one relaxation per distinct boundary, whatever the
  // destination. hash(group, boundary distances) -> the (group, boundary, distances) found there.
  struct BoundaryClass {
    int group = -1;
    std::vector<std::uint16_t> boundary, dist;
  };
  std::unordered_map<std::uint64_t, std::vector<BoundaryClass>> boundary_memo_;
  std::size_t boundary_memo_entries_ = 0;  ///< distances held there, at most kMemoDistances (8 MiB)
  std::vector<std::uint16_t> boundary_key_;
  const RouteTable* owner_ = nullptr;  ///< the table the caches belong to
  int cached_group_ = -1;
  int cached_dst_ = -1;
  // Next-hop links of fabric / destination-host devices towards next_dst_ (they do not depend on
  // the source), so consecutive sources to one destination scan each switch's ports once.
  int next_dst_ = -1;
  std::vector<int> next_begin_, next_end_;
  std::vector<int> next_links_, next_touched_;
  std::vector<int> transit_dist_;  ///< full-graph distances with GPU transit (mesh fallback)
  int transit_dst_ = -1;
};

/// All-pairs routes in compact form (see the file comment for memory and time growth).
class RouteTable {
 public:
  /// Build the per-destination distances. The topology must outlive the table.
  RouteTable(const Topology& topology, RoutingOptions options = {});

  /// GPUs of the topology (ranks 0..num_gpus()-1).
  int num_gpus() const { return num_gpus_; }
  /// The policy the table routes with.
  const RoutingOptions& options() const { return options_; }
  /// The topology the table was built for (it must outlive the table).
  const Topology& topology() const { return *topo_; }

  /// Append the hops of the route from GPU rank src to GPU rank dst to `out` (each link once) and
  /// return the latency of its slowest path (sum of link latencies, ns). Nothing is appended and 0
  /// returned when src == dst or when dst cannot be reached (validate_topology rejects that).
  double append_route(int src_gpu, int dst_gpu, RouteScratch& scratch, std::vector<RouteHop>& out) const;
  /// Convenience form of append_route. Allocates a RouteScratch, i.e. O(devices) memory (about 24
  /// bytes per device) per call: loops over many pairs should keep one RouteScratch per thread and
  /// call append_route, ideally destination-major so that the scratch's caches hit.
  std::vector<RouteHop> route(int src_gpu, int dst_gpu) const;
  /// Latency of the slowest of the pair's paths, ns; 0 when src == dst. Same cost as route();
  /// append_route returns the latency too.
  double latency_ns(int src_gpu, int dst_gpu) const;

  /// The GPU rank on `host` whose rail is the rail of src_gpu (DeepEP/PXN rail peer); -1 when the
  /// host has no GPU on that rail or either side has no host/rail.
  int rail_peer(int src_gpu, int host) const;
  /// Bytes held by the table (distances and indices), for memory accounting.
  std::size_t memory_bytes() const;

 private:
  static constexpr std::uint16_t kFar = 0xFFFF;
  int group_of(int device) const { return group_[static_cast<std::size_t>(device)]; }
  // Distance from device v to destination GPU rank d, given the source-group distances in scratch.
  std::uint16_t dist(int v, int d, const RouteScratch& scratch) const;
  void prepare_source(int src_device, int d, RouteScratch& scratch) const;
  double expand(int src, int dst_gpu, bool transit, RouteScratch& scratch, std::vector<RouteHop>& out) const;
  double append_direct(int src_gpu, int dst_gpu, RouteScratch& scratch, std::vector<RouteHop>& out) const;

  const Topology* topo_;
  int num_gpus_ = 0;
  RoutingOptions options_;
  int fabric_group_ = 0;                      ///< group index of devices without a host (= num_hosts)
  std::vector<int> group_;                    ///< per device: host index, or fabric_group_
  std::vector<int> slot_;                     ///< per device: index within its group
  std::vector<std::vector<int>> members_;     ///< per group: device indices
  std::vector<std::vector<int>> boundary_;    ///< per host group: devices outside it its members link to (sorted)
  std::vector<std::uint64_t> dist_offset_;    ///< per destination GPU: start in dist_
  std::vector<std::uint16_t> dist_;           ///< per destination: [own group slots][fabric slots]
  /// (host, rail) -> first GPU rank there; a hash map, so that arbitrary rail numbers cost nothing.
  std::unordered_map<std::uint64_t, int> gpu_by_host_rail_;
  int gpu_on(int host, int rail) const;
};

}  // namespace epsim
