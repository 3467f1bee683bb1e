#include "sim/network/flow_network_model.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

#include "common/splitmix.hpp"

namespace epsim {

FlowNetworkModel::Ties FlowNetworkModel::find_ties(const Topology& topology, const RouteTable& routes) {
  const std::size_t num_links = topology.links().size();
  // Signature of a link: two sums over the routes crossing it of (route hash x fraction bits); links
  // with equal signatures are crossed by the same routes with the same fractions (up to a 2^-128
  // collision chance).
  std::vector<std::uint64_t> sig_a(num_links, 0), sig_b(num_links, 0);
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  const int g = routes.num_gpus();
  for (int dst = 0; dst < g; ++dst) {
    for (int src = 0; src < g; ++src) {
      if (src == dst) continue;
      hops.clear();
      routes.append_route(src, dst, scratch, hops);
      const std::uint64_t r = static_cast<std::uint64_t>(src) * static_cast<std::uint64_t>(g) + static_cast<std::uint64_t>(dst);
      const std::uint64_t ha = splitmix64(2 * r), hb = splitmix64(2 * r + 1);
      for (const RouteHop& h : hops) {
        std::uint32_t bits = 0;
        static_assert(sizeof(bits) == sizeof(h.fraction));
        std::memcpy(&bits, &h.fraction, sizeof(bits));
        const auto l = static_cast<std::size_t>(h.link);
        sig_a[l] += ha * (bits | 1ull);
        sig_b[l] += hb ^ (static_cast<std::uint64_t>(bits) * 0x2545f4914f6cdd1dull);
      }
    }
  }
  Ties t;
  t.representative.resize(num_links);
  t.capacity_Bps.resize(num_links);
  std::unordered_map<std::uint64_t, std::vector<std::int32_t>> by_signature;
  for (std::size_t l = 0; l < num_links; ++l) {
    t.capacity_Bps[l] = topology.links()[l].bandwidth_GBps * 1e9;
    t.representative[l] = static_cast<std::int32_t>(l);
    if (sig_a[l] == 0 && sig_b[l] == 0) continue;  // on no GPU route
    auto& candidates = by_signature[sig_a[l] ^ splitmix64(sig_b[l])];
    for (std::int32_t c : candidates) {
      if (sig_a[static_cast<std::size_t>(c)] == sig_a[l] && sig_b[static_cast<std::size_t>(c)] == sig_b[l]) {
        t.representative[l] = c;
        t.capacity_Bps[static_cast<std::size_t>(c)] = std::min(t.capacity_Bps[static_cast<std::size_t>(c)], t.capacity_Bps[l]);
        break;
      }
    }
    if (t.representative[l] == static_cast<std::int32_t>(l)) candidates.push_back(static_cast<std::int32_t>(l));
  }
  return t;
}

FlowNetworkModel::FlowNetworkModel(Simulator& sim, const Topology& topology, const RouteTable& routes,
                                   FlowGranularity granularity)
    : sim_(sim),
      routes_(routes),
      granularity_(granularity),
      ties_(find_ties(topology, routes)),
      network_(sim, ties_.capacity_Bps) {
  weight_.assign(topology.links().size(), 0.0);
  route_index_.resize(static_cast<std::size_t>(routes.num_gpus()));
  for (int g = 0; g < topology.num_gpus(); ++g) host_of_.push_back(topology.gpu_host(g));
}

const std::vector<double>& FlowNetworkModel::link_bytes() const {
  const std::vector<double>& net = network_.link_bytes();
  link_bytes_.resize(net.size());
  for (std::size_t l = 0; l < net.size(); ++l) link_bytes_[l] = net[static_cast<std::size_t>(ties_.representative[l])];
  return link_bytes_;
}

const FlowNetworkModel::CachedRoute& FlowNetworkModel::route(int src, int dst) {
  auto& row = route_index_[static_cast<std::size_t>(src)];
  if (row.empty()) row.assign(static_cast<std::size_t>(routes_.num_gpus()), -1);
  std::int32_t& index = row[static_cast<std::size_t>(dst)];
  if (index >= 0) return cache_[static_cast<std::size_t>(index)];
  CachedRoute r;
  r.begin = static_cast<std::uint32_t>(hops_.size());
  const double latency_ns = routes_.append_route(src, dst, scratch_, hops_);
  // Name each set of tied links once, by its representative (tied links carry equal fractions).
  std::uint32_t out = r.begin;
  for (std::uint32_t h = r.begin; h < hops_.size(); ++h) {
    const std::int32_t rep = ties_.representative[static_cast<std::size_t>(hops_[h].link)];
    bool seen = false;
    for (std::uint32_t k = r.begin; k < out && !seen; ++k) seen = hops_[k].link == rep;
    if (!seen) hops_[out++] = RouteHop{rep, hops_[h].fraction};
  }
  hops_.resize(out);
  r.end = out;
  r.latency = Time::from_ps_rounded(latency_ns * 1e3);
  index = static_cast<std::int32_t>(cache_.size());
  cache_.push_back(r);
  return cache_.back();
}

void FlowNetworkModel::start_exchange(std::vector<Transfer> transfers,
                                      std::function<void(std::size_t)> on_transfer_done,
                                      std::function<void()> on_done) {
  auto state = detail::begin_exchange(sim_, transfers, routes_, std::move(on_transfer_done), std::move(on_done));
  if (!state) return;
  const Time now = sim_.now();
  // The transfers that cross links; local and empty ones arrive now.
  std::vector<std::uint32_t> order;
  order.reserve(transfers.size());
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    if (t.src_gpu == t.dst_gpu || t.bytes == 0) {
      sim_.schedule(now, Simulator::kDefaultPriority, [state, i] { state->arrived(i); });
      continue;
    }
    order.push_back(static_cast<std::uint32_t>(i));
  }
  // Groups: runs of equal (source, destination host) in (source, host, index) order; per transfer,
  // or for a destination without a host, every transfer is its own group.
  const bool grouped = granularity_ == FlowGranularity::per_destination_host;
  auto group_key = [&](std::uint32_t i) {
    const Transfer& t = transfers[i];
    return std::pair<int, int>(t.src_gpu, host_of_[static_cast<std::size_t>(t.dst_gpu)]);
  };
  auto by_group = [&](std::uint32_t a, std::uint32_t b) { return group_key(a) < group_key(b); };
  // Exchanges list transfers source-major already; sort only when they do not.
  if (grouped && !std::is_sorted(order.begin(), order.end(), by_group))
    std::stable_sort(order.begin(), order.end(), by_group);
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    const auto key = group_key(order[begin]);
    if (grouped && key.second >= 0)
      while (end < order.size() && group_key(order[end]) == key) ++end;
    if (end - begin == 1) {
      const std::uint32_t i = order[begin];
      const Transfer& t = transfers[i];
      const CachedRoute& r = route(t.src_gpu, t.dst_gpu);
      network_.start_flow(std::span<const RouteHop>(hops_.data() + r.begin, r.end - r.begin), t.bytes, r.latency,
                          [state, i] { state->arrived(i); });
    } else {
      start_group(transfers, std::span<const std::uint32_t>(order.data() + begin, end - begin), state);
    }
    begin = end;
  }
}

void FlowNetworkModel::start_group(const std::vector<Transfer>& transfers, std::span<const std::uint32_t> members,
                                   const std::shared_ptr<detail::ExchangeState>& state) {
  double total = 0;
  for (std::uint32_t i : members) total += transfers[i].bytes;
  Time latency;
  for (std::uint32_t i : members) {
    const Transfer& t = transfers[i];
    const CachedRoute& r = route(t.src_gpu, t.dst_gpu);
    latency = std::max(latency, r.latency);
    const double share = t.bytes / total;
    for (std::uint32_t h = r.begin; h < r.end; ++h) {
      const RouteHop& hop = hops_[h];
      if (weight_[static_cast<std::size_t>(hop.link)] == 0) touched_.push_back(hop.link);
      weight_[static_cast<std::size_t>(hop.link)] += share * static_cast<double>(hop.fraction);
    }
  }
  merged_.clear();
  for (std::int32_t l : touched_) {
    // Shares sum to 1 up to rounding; a fraction must stay in (0, 1] also as a float.
    const double w = std::min(1.0, weight_[static_cast<std::size_t>(l)]);
    if (w > 0) merged_.push_back(RouteHop{l, std::max(static_cast<float>(w), std::numeric_limits<float>::min())});
    weight_[static_cast<std::size_t>(l)] = 0;
  }
  touched_.clear();
  // The group weighs as many flows as it has members in the max-min sharing.
  network_.start_flow(merged_, total, latency,
                      [state, ids = std::vector<std::uint32_t>(members.begin(), members.end())] {
                        for (std::uint32_t i : ids) state->arrived(i);
                      },
                      static_cast<double>(members.size()));
}

}  // namespace epsim
