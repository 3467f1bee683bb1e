#include "common/names.hpp"
#include "topology/routing.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

const std::vector<std::string>& routing_policy_names() {
  static const std::vector<std::string> names = {"shortest", "pxn"};
  return names;
}
RoutingPolicy parse_routing_policy(std::string_view name) {
  return enum_from_name<RoutingPolicy>(name, routing_policy_names(), "routing policy");
}
std::string_view to_string(RoutingPolicy policy) { return name_of(policy, routing_policy_names()); }

const std::vector<std::string>& ecmp_mode_names() {
  static const std::vector<std::string> names = {"split", "hash"};
  return names;
}
EcmpMode parse_ecmp_mode(std::string_view name) { return enum_from_name<EcmpMode>(name, ecmp_mode_names(), "ECMP mode"); }
std::string_view to_string(EcmpMode mode) { return name_of(mode, ecmp_mode_names()); }


namespace {
constexpr int kUnreached = std::numeric_limits<int>::max();

// Hop cost of a link on a shortest path (RoutingPolicy::shortest): 1, plus kCpuTransitPenalty when it
// enters a CPU (a root complex or socket, never a destination: those are GPUs). NCCL ranks a GPU's
// NICs by path type (NVL < PIX < PXB < PHB < SYS, src/graph/paths.cc) and leaves through the nearest;
// it never spreads a transfer over a path through the host bridge while one through the GPU's own
// PCIe switch exists. Counted in hops, an imported dump's GPU -> switch -> CPU -> switch -> another
// rail's NIC ties with the own NIC's path through the spine, and an even ECMP split sent half the
// inter-node bytes through the CPU (IBM Cloud gx3d: 23x slower over its 0.19 GB/s virtual bridges).
// 16 hops: more than any path that avoids the CPU in a cluster epsim models is longer than one that
// does not, so a CPU is transited only where every path does (a NIC on a CPU root port).
constexpr std::uint16_t kCpuTransitPenalty = 16;
std::uint16_t hop_cost(const Topology& topo, int link) {
  return topo.device(topo.link(link).dst).kind == DeviceKind::cpu ? 1 + kCpuTransitPenalty : 1;
}

// SplitMix64's finalizer (Steele, Lea, Flood 2014): a well-mixed 64-bit hash of a 64-bit key.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

RouteTable::RouteTable(const Topology& topo, RoutingOptions options)
    : topo_(&topo), num_gpus_(topo.num_gpus()), options_(options) {
  if (num_gpus_ > limits::kMaxRoutedGpus)
    throw InputError(fmt::format("routing {} GPUs: epsim routes at most {} GPUs (docs/limits.md)", num_gpus_,
                                 limits::kMaxRoutedGpus));
  const auto V = static_cast<std::size_t>(topo.num_devices());
  fabric_group_ = topo.num_hosts();
  group_.resize(V);
  slot_.resize(V);
  members_.assign(static_cast<std::size_t>(fabric_group_ + 1), {});
  for (std::size_t v = 0; v < V; ++v) {
    int h = topo.device(static_cast<int>(v)).host;
    int g = h >= 0 ? h : fabric_group_;
    group_[v] = g;
    slot_[v] = static_cast<int>(members_[static_cast<std::size_t>(g)].size());
    members_[static_cast<std::size_t>(g)].push_back(static_cast<int>(v));
  }
  const std::size_t F = members_[static_cast<std::size_t>(fabric_group_)].size();

  // One backward BFS per destination GPU over its own group and the fabric. GPUs other than the
  // destination get a distance (they may be sources) but do not forward.
  dist_offset_.resize(static_cast<std::size_t>(num_gpus_) + 1);
  std::uint64_t total = 0;
  for (int d = 0; d < num_gpus_; ++d) {
    dist_offset_[static_cast<std::size_t>(d)] = total;
    int gd = group_of(topo.gpu_device(d));
    total += members_[static_cast<std::size_t>(gd)].size() + (gd == fabric_group_ ? 0 : F);
  }
  dist_offset_[static_cast<std::size_t>(num_gpus_)] = total;
  dist_.assign(total, kFar);
  // Dijkstra (hop costs 1 or 1 + kCpuTransitPenalty) backward from each destination.
  using Entry = std::pair<std::uint16_t, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (int d = 0; d < num_gpus_; ++d) {
    const int dst = topo.gpu_device(d);
    const int gd = group_of(dst);
    const std::size_t n = members_[static_cast<std::size_t>(gd)].size();
    std::uint16_t* D = dist_.data() + dist_offset_[static_cast<std::size_t>(d)];
    auto index = [&](int v) -> std::ptrdiff_t {
      int g = group_of(v);
      if (g == gd) return slot_[static_cast<std::size_t>(v)];
      if (g == fabric_group_) return static_cast<std::ptrdiff_t>(n) + slot_[static_cast<std::size_t>(v)];
      return -1;
    };
    D[index(dst)] = 0;
    queue.push({0, dst});
    while (!queue.empty()) {
      const auto [dv, v] = queue.top();
      queue.pop();
      if (dv != D[index(v)]) continue;  // a stale entry
      for (int li : topo.in_links(v)) {
        int w = topo.link(li).src;
        std::ptrdiff_t iw = index(w);
        if (iw < 0) continue;
        const int cost = dv + hop_cost(topo, li);  // in int: a path cost of kFar or more is unreachable
        if (cost >= D[iw]) continue;
        const auto dw = static_cast<std::uint16_t>(cost);
        D[iw] = dw;
        if (topo.device(w).kind != DeviceKind::gpu) queue.push({dw, w});
      }
    }
  }

  // Each host group's boundary: the devices outside it that its members' links reach.
  boundary_.assign(static_cast<std::size_t>(fabric_group_), {});
  for (int g = 0; g < fabric_group_; ++g) {
    std::vector<int>& b = boundary_[static_cast<std::size_t>(g)];
    for (int v : members_[static_cast<std::size_t>(g)])
      for (int li : topo.out_links(v))
        if (group_of(topo.link(li).dst) != g) b.push_back(topo.link(li).dst);
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
  }

  // Rail peers: host x rail -> first GPU with that rail.
  for (int g = 0; g < num_gpus_; ++g) {
    const Device& dev = topo.device(topo.gpu_device(g));
    if (dev.host < 0 || dev.rail < 0) continue;
    gpu_by_host_rail_.emplace((static_cast<std::uint64_t>(dev.host) << 32) | static_cast<std::uint32_t>(dev.rail), g);
  }
}

int RouteTable::gpu_on(int host, int rail) const {
  auto it = gpu_by_host_rail_.find((static_cast<std::uint64_t>(host) << 32) | static_cast<std::uint32_t>(rail));
  return it == gpu_by_host_rail_.end() ? -1 : it->second;
}

int RouteTable::rail_peer(int src_gpu, int host) const {
  int rail = topo_->device(topo_->gpu_device(src_gpu)).rail;
  if (rail < 0 || host < 0 || host >= topo_->num_hosts()) return -1;
  return gpu_on(host, rail);
}

std::size_t RouteTable::memory_bytes() const {
  std::size_t bytes = dist_.size() * sizeof(std::uint16_t) + dist_offset_.size() * sizeof(std::uint64_t) +
                      (group_.size() + slot_.size()) * sizeof(int) + gpu_by_host_rail_.size() * 2 * sizeof(std::uint64_t);
  for (const auto& m : members_) bytes += m.size() * sizeof(int);
  for (const auto& b : boundary_) bytes += b.size() * sizeof(int);
  return bytes;
}

std::uint16_t RouteTable::dist(int v, int d, const RouteScratch& scratch) const {
  const int gd = group_of(topo_->gpu_device(d));
  const int gv = group_of(v);
  const std::uint16_t* D = dist_.data() + dist_offset_[static_cast<std::size_t>(d)];
  if (gv == gd) return D[slot_[static_cast<std::size_t>(v)]];
  if (gv == fabric_group_)
    return D[members_[static_cast<std::size_t>(gd)].size() + static_cast<std::size_t>(slot_[static_cast<std::size_t>(v)])];
  if (gv == scratch.cached_group_ && d == scratch.cached_dst_)
    return scratch.source_dist_[static_cast<std::size_t>(slot_[static_cast<std::size_t>(v)])];
  return kFar;
}

// Distances of the source group's devices to d: relax d(v) = 1 + min d(w) over forwarding
// successors until stable (groups are small: a host has tens of devices).
void RouteTable::prepare_source(int src_device, int d, RouteScratch& s) const {
  const int gs = group_of(src_device);
  const int dst = topo_->gpu_device(d);
  if (gs == group_of(dst) || gs == fabric_group_) return;
  if (s.cached_group_ == gs && s.cached_dst_ == d) return;
  const auto& members = members_[static_cast<std::size_t>(gs)];
  s.cached_group_ = gs;
  s.cached_dst_ = d;
  const std::uint64_t key = (static_cast<std::uint64_t>(gs) << 32) | static_cast<std::uint32_t>(d);
  if (auto it = s.memo_.find(key); it != s.memo_.end()) {
    const auto from = s.memo_dist_.begin() + static_cast<std::ptrdiff_t>(it->second);
    s.source_dist_.assign(from, from + static_cast<std::ptrdiff_t>(members.size()));
    return;
  }
  // A GPU other than the destination does not forward.
  auto forwards = [&](int w) { return w == dst || topo_->device(w).kind != DeviceKind::gpu; };
  // Keep the pair's distances in the per-pair memo while it has room.
  auto remember_pair = [&] {
    if (s.memo_dist_.size() + members.size() <= RouteScratch::kMemoDistances) {
      s.memo_.emplace(key, s.memo_dist_.size());
      s.memo_dist_.insert(s.memo_dist_.end(), s.source_dist_.begin(), s.source_dist_.end());
    }
  };
  // The boundary's distances to d, as the relaxation below reads them: kFar where w does not forward,
  // the rest from d's table (dist: outside the source group).
  s.boundary_key_.clear();
  std::uint64_t h = mix64(static_cast<std::uint64_t>(gs));
  for (int w : boundary_[static_cast<std::size_t>(gs)]) {
    const std::uint16_t bw = forwards(w) ? dist(w, d, s) : kFar;
    s.boundary_key_.push_back(bw);
    h = mix64(h ^ bw);
  }
  if (const auto found = s.boundary_memo_.find(h); found != s.boundary_memo_.end())
    for (const RouteScratch::BoundaryClass& k : found->second)
      if (k.group == gs && k.boundary == s.boundary_key_) {
        s.source_dist_ = k.dist;
        remember_pair();
        return;
      }
  s.source_dist_.assign(members.size(), kFar);
  for (bool changed = true; changed;) {
    changed = false;
    for (int v : members) {
      std::uint16_t& dv = s.source_dist_[static_cast<std::size_t>(slot_[static_cast<std::size_t>(v)])];
      for (int li : topo_->out_links(v)) {
        int w = topo_->link(li).dst;
        if (!forwards(w)) continue;
        std::uint16_t dw = dist(w, d, s);
        if (dw != kFar && dw + hop_cost(*topo_, li) < dv) {
          dv = static_cast<std::uint16_t>(dw + hop_cost(*topo_, li));
          changed = true;
        }
      }
    }
  }
  remember_pair();
  // Bounded as the per-pair memo: a topology whose every destination is its own class (no fat tree)
  // would otherwise keep groups x destinations of them.
  const std::size_t entries = s.boundary_key_.size() + s.source_dist_.size();
  if (s.boundary_memo_entries_ + entries <= RouteScratch::kMemoDistances) {
    s.boundary_memo_[h].push_back({gs, s.boundary_key_, s.source_dist_});
    s.boundary_memo_entries_ += entries;
  }
}

// Per-hop ECMP from src along links that reduce the distance by one: an even split over them, or
// (EcmpMode::hash) the one a seeded hash of (src, destination, this device) picks.
double RouteTable::expand(int src, int dst_gpu, bool transit, RouteScratch& s, std::vector<RouteHop>& out) const {
  const int dst = topo_->gpu_device(dst_gpu);
  auto distance = [&](int v) -> int {
    if (transit) return s.transit_dist_[static_cast<std::size_t>(v)];
    std::uint16_t x = dist(v, dst_gpu, s);
    return x == kFar ? kUnreached : x;
  };
  if (s.next_dst_ != dst_gpu) {
    for (int u : s.next_touched_) s.next_begin_[static_cast<std::size_t>(u)] = -1;
    s.next_touched_.clear();
    s.next_links_.clear();
    s.next_dst_ = dst_gpu;
  }
  s.current_.assign(1, src);
  s.fraction_[static_cast<std::size_t>(src)] = 1.0;
  s.latency_[static_cast<std::size_t>(src)] = 0.0;
  s.touched_.push_back(src);
  while (!s.current_.empty()) {
    s.next_.clear();
    for (int u : s.current_) {
      if (u == dst) continue;
      const int gu = group_of(u);
      const bool cacheable = !transit && (gu == fabric_group_ || gu == group_of(dst));
      if (cacheable && s.next_begin_[static_cast<std::size_t>(u)] >= 0) {
        s.candidates_.assign(s.next_links_.begin() + s.next_begin_[static_cast<std::size_t>(u)],
                             s.next_links_.begin() + s.next_end_[static_cast<std::size_t>(u)]);
      } else {
        int du = distance(u);
        s.candidates_.clear();
        for (int li : topo_->out_links(u)) {
          int v = topo_->link(li).dst;
          if (distance(v) != du - (transit ? 1 : hop_cost(*topo_, li))) continue;
          if (v != dst && !transit && topo_->device(v).kind == DeviceKind::gpu) continue;
          s.candidates_.push_back(li);
        }
        if (cacheable) {
          s.next_begin_[static_cast<std::size_t>(u)] = static_cast<int>(s.next_links_.size());
          s.next_links_.insert(s.next_links_.end(), s.candidates_.begin(), s.candidates_.end());
          s.next_end_[static_cast<std::size_t>(u)] = static_cast<int>(s.next_links_.size());
          s.next_touched_.push_back(u);
        }
      }
      if (s.candidates_.empty()) continue;
      if (options_.ecmp == EcmpMode::hash && s.candidates_.size() > 1) {
        const std::uint64_t h = mix64(options_.ecmp_seed ^ mix64((static_cast<std::uint64_t>(src) << 42) ^
                                                                 (static_cast<std::uint64_t>(dst_gpu) << 21) ^
                                                                 static_cast<std::uint64_t>(u)));
        const int pick = s.candidates_[static_cast<std::size_t>(h % s.candidates_.size())];
        s.candidates_.assign(1, pick);
      }
      double share = s.fraction_[static_cast<std::size_t>(u)] / static_cast<double>(s.candidates_.size());
      for (int li : s.candidates_) {
        const Link& l = topo_->link(li);
        auto v = static_cast<std::size_t>(l.dst);
        out.push_back(RouteHop{li, static_cast<float>(share)});
        if (s.fraction_[v] == 0.0) {
          s.next_.push_back(l.dst);
          s.touched_.push_back(l.dst);
          s.latency_[v] = 0.0;
        }
        s.fraction_[v] += share;
        s.latency_[v] = std::max(s.latency_[v], s.latency_[static_cast<std::size_t>(u)] + l.latency_ns);
      }
    }
    std::swap(s.current_, s.next_);
  }
  double latency = s.latency_[static_cast<std::size_t>(dst)];
  for (int t : s.touched_) {
    s.fraction_[static_cast<std::size_t>(t)] = 0.0;
    s.latency_[static_cast<std::size_t>(t)] = 0.0;
  }
  s.touched_.clear();
  return latency;
}

double RouteTable::append_direct(int src_gpu, int dst_gpu, RouteScratch& s, std::vector<RouteHop>& out) const {
  if (src_gpu == dst_gpu) return 0.0;
  const auto V = static_cast<std::size_t>(topo_->num_devices());
  if (s.fraction_.size() != V || s.owner_ != this) {  // a fresh scratch, or one used with another table
    s.owner_ = this;
    s.memo_.clear();
    s.memo_dist_.clear();
    s.boundary_memo_.clear();
    s.boundary_memo_entries_ = 0;
    s.fraction_.assign(V, 0.0);
    s.latency_.assign(V, 0.0);
    s.next_begin_.assign(V, -1);
    s.next_end_.assign(V, -1);
    s.next_touched_.clear();
    s.next_links_.clear();
    s.next_dst_ = -1;
    s.cached_group_ = s.cached_dst_ = s.transit_dst_ = -1;
  }
  const int src = topo_->gpu_device(src_gpu);
  prepare_source(src, dst_gpu, s);
  if (dist(src, dst_gpu, s) != kFar) return expand(src, dst_gpu, false, s, out);
  // No path avoids GPU transit (e.g. an NVLink mesh): full-graph BFS where GPUs forward.
  if (s.transit_dst_ != dst_gpu) {
    s.transit_dist_.assign(V, kUnreached);
    const int dst = topo_->gpu_device(dst_gpu);
    std::deque<int> queue{dst};
    s.transit_dist_[static_cast<std::size_t>(dst)] = 0;
    while (!queue.empty()) {
      int v = queue.front();
      queue.pop_front();
      for (int li : topo_->in_links(v)) {
        int w = topo_->link(li).src;
        if (s.transit_dist_[static_cast<std::size_t>(w)] != kUnreached) continue;
        s.transit_dist_[static_cast<std::size_t>(w)] = s.transit_dist_[static_cast<std::size_t>(v)] + 1;
        queue.push_back(w);
      }
    }
    s.transit_dst_ = dst_gpu;
  }
  if (s.transit_dist_[static_cast<std::size_t>(src)] == kUnreached) return 0.0;
  return expand(src, dst_gpu, true, s, out);
}

double RouteTable::append_route(int src_gpu, int dst_gpu, RouteScratch& s, std::vector<RouteHop>& out) const {
  if (src_gpu == dst_gpu) return 0.0;
  if (options_.policy == RoutingPolicy::pxn) {
    const Device& a = topo_->device(topo_->gpu_device(src_gpu));
    const Device& b = topo_->device(topo_->gpu_device(dst_gpu));
    if (a.host >= 0 && b.host >= 0 && a.host != b.host && b.rail >= 0 && a.rail != b.rail) {
      int proxy = gpu_on(a.host, b.rail);
      if (proxy >= 0) return append_direct(src_gpu, proxy, s, out) + append_direct(proxy, dst_gpu, s, out);
    }
  }
  return append_direct(src_gpu, dst_gpu, s, out);
}

std::vector<RouteHop> RouteTable::route(int src_gpu, int dst_gpu) const {
  RouteScratch scratch;
  std::vector<RouteHop> out;
  append_route(src_gpu, dst_gpu, scratch, out);
  return out;
}

double RouteTable::latency_ns(int src_gpu, int dst_gpu) const {
  RouteScratch scratch;
  std::vector<RouteHop> out;
  return append_route(src_gpu, dst_gpu, scratch, out);
}

}  // namespace epsim
