#include "topology/routing.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

namespace {

constexpr int kUnreached = std::numeric_limits<int>::max();

// Hop distance of every device to `dst` (following links backward). GPUs other than dst are given a
// distance (they may be sources) but do not forward unless allow_gpu_transit.
void distances_to(const Topology& topo, int dst, bool allow_gpu_transit, std::vector<int>& dist) {
  std::fill(dist.begin(), dist.end(), kUnreached);
  std::deque<int> queue{dst};
  dist[static_cast<std::size_t>(dst)] = 0;
  while (!queue.empty()) {
    int v = queue.front();
    queue.pop_front();
    for (int li : topo.in_links(v)) {
      int w = topo.link(li).src;
      if (dist[static_cast<std::size_t>(w)] != kUnreached) continue;
      dist[static_cast<std::size_t>(w)] = dist[static_cast<std::size_t>(v)] + 1;
      if (allow_gpu_transit || topo.device(w).kind != DeviceKind::gpu) queue.push_back(w);
    }
  }
}

// Scratch space reused across pairs: per-device fraction and latency, and the touched list.
struct Propagation {
  std::vector<double> fraction;
  std::vector<double> latency;
  std::vector<int> touched;
};

// Even per-hop ECMP split from src to dst along links that reduce `dist` by one. Appends hops and
// returns the latency of the slowest path.
double propagate(const Topology& topo, int src, int dst, const std::vector<int>& dist, bool allow_gpu_transit,
                 Propagation& scratch, std::vector<RouteHop>& out) {
  std::vector<int> current{src};
  scratch.fraction[static_cast<std::size_t>(src)] = 1.0;
  scratch.latency[static_cast<std::size_t>(src)] = 0.0;
  scratch.touched.push_back(src);
  std::vector<int> next;
  std::vector<int> candidates;
  while (!current.empty()) {
    next.clear();
    for (int u : current) {
      if (u == dst) continue;
      int du = dist[static_cast<std::size_t>(u)];
      candidates.clear();
      for (int li : topo.out_links(u)) {
        int v = topo.link(li).dst;
        if (dist[static_cast<std::size_t>(v)] != du - 1) continue;
        if (v != dst && !allow_gpu_transit && topo.device(v).kind == DeviceKind::gpu) continue;
        candidates.push_back(li);
      }
      double share = scratch.fraction[static_cast<std::size_t>(u)] / static_cast<double>(candidates.size());
      for (int li : candidates) {
        const Link& l = topo.link(li);
        auto v = static_cast<std::size_t>(l.dst);
        out.push_back(RouteHop{li, static_cast<float>(share)});
        if (scratch.fraction[v] == 0.0) {
          next.push_back(l.dst);
          scratch.touched.push_back(l.dst);
          scratch.latency[v] = 0.0;
        }
        scratch.fraction[v] += share;
        scratch.latency[v] = std::max(scratch.latency[v], scratch.latency[static_cast<std::size_t>(u)] + l.latency_ns);
      }
    }
    std::swap(current, next);
  }
  double latency = scratch.latency[static_cast<std::size_t>(dst)];
  for (int t : scratch.touched) {
    scratch.fraction[static_cast<std::size_t>(t)] = 0.0;
    scratch.latency[static_cast<std::size_t>(t)] = 0.0;
  }
  scratch.touched.clear();
  return latency;
}

}  // namespace

RouteTable::RouteTable(const Topology& topo, RoutingOptions options) : num_gpus_(topo.num_gpus()), options_(options) {
  if (num_gpus_ > limits::kMaxRoutedGpus)
    throw InputError(fmt::format("topology {} has {} GPUs; epsim builds all-pairs routes for at most {} GPUs "
                                 "(memory grows with GPUs^2, see docs/limits.md)",
                                 topo.name, num_gpus_, limits::kMaxRoutedGpus));
  const auto G = static_cast<std::size_t>(num_gpus_);
  const auto V = static_cast<std::size_t>(topo.num_devices());
  // Shortest-path routes, stored destination-major while building (pair (s, d) at d * G + s).
  std::vector<std::uint64_t> offsets(G * G + 1, 0);
  std::vector<RouteHop> hops;
  std::vector<float> latency(G * G, 0.0f);
  std::vector<int> dist(V), dist_transit(V);
  Propagation scratch{std::vector<double>(V, 0.0), std::vector<double>(V, 0.0), {}};
  for (std::size_t d = 0; d < G; ++d) {
    int dst = topo.gpu_device(static_cast<int>(d));
    distances_to(topo, dst, false, dist);
    bool transit_computed = false;
    for (std::size_t s = 0; s < G; ++s) {
      std::size_t p = d * G + s;
      offsets[p] = hops.size();
      if (s == d) continue;
      int src = topo.gpu_device(static_cast<int>(s));
      if (dist[static_cast<std::size_t>(src)] != kUnreached) {
        latency[p] = static_cast<float>(propagate(topo, src, dst, dist, false, scratch, hops));
        continue;
      }
      if (!transit_computed) {
        distances_to(topo, dst, true, dist_transit);
        transit_computed = true;
      }
      if (dist_transit[static_cast<std::size_t>(src)] != kUnreached)
        latency[p] = static_cast<float>(propagate(topo, src, dst, dist_transit, true, scratch, hops));
      // else: unreachable pair (validate_topology rejects such topologies); the route stays empty.
    }
  }
  offsets[G * G] = hops.size();

  // Re-lay source-major, composing PXN routes where asked.
  auto base_route = [&](std::size_t s, std::size_t d) {
    std::size_t p = d * G + s;
    return std::span<const RouteHop>(hops.data() + offsets[p], hops.data() + offsets[p + 1]);
  };
  // PXN proxy: the GPU on the source's host whose rail is the destination's rail.
  // Keyed by (host, rail) in a hash map: rails are free-form indices in a file (hosts x rails can be
  // far larger than the GPUs, so a dense table could exhaust memory).
  auto host_rail = [](int host, int rail) { return (static_cast<std::int64_t>(host) << 32) | static_cast<std::uint32_t>(rail); };
  std::unordered_map<std::int64_t, int> gpu_by_host_rail;
  if (options_.policy == RoutingPolicy::pxn) {
    for (int g = 0; g < num_gpus_; ++g) {
      const Device& dev = topo.device(topo.gpu_device(g));
      if (dev.host >= 0 && dev.rail >= 0) gpu_by_host_rail.emplace(host_rail(dev.host, dev.rail), g);
    }
  }
  offsets_.assign(G * G + 1, 0);
  latency_ns_.assign(G * G, 0.0f);
  hops_.reserve(hops.size());
  for (std::size_t s = 0; s < G; ++s) {
    const Device& src_dev = topo.device(topo.gpu_device(static_cast<int>(s)));
    for (std::size_t d = 0; d < G; ++d) {
      std::size_t p = s * G + d;
      offsets_[p] = hops_.size();
      const Device& dst_dev = topo.device(topo.gpu_device(static_cast<int>(d)));
      int proxy = -1;
      if (options_.policy == RoutingPolicy::pxn && s != d && src_dev.host >= 0 && dst_dev.host >= 0 &&
          src_dev.host != dst_dev.host && dst_dev.rail >= 0 && src_dev.rail != dst_dev.rail) {
        auto it = gpu_by_host_rail.find(host_rail(src_dev.host, dst_dev.rail));
        if (it != gpu_by_host_rail.end()) proxy = it->second;
      }
      if (proxy >= 0) {
        auto first = base_route(s, static_cast<std::size_t>(proxy));
        auto second = base_route(static_cast<std::size_t>(proxy), d);
        hops_.insert(hops_.end(), first.begin(), first.end());
        hops_.insert(hops_.end(), second.begin(), second.end());
        latency_ns_[p] = latency[static_cast<std::size_t>(proxy) * G + s] + latency[d * G + static_cast<std::size_t>(proxy)];
      } else {
        auto r = base_route(s, d);
        hops_.insert(hops_.end(), r.begin(), r.end());
        latency_ns_[p] = latency[d * G + s];
      }
    }
  }
  offsets_[G * G] = hops_.size();
}

}  // namespace epsim
