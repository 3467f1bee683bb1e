#include "placement/rebalance/migration.hpp"

#include <algorithm>
#include <stdexcept>

#include "placement/rebalance/assignment.hpp"

namespace epsim {

namespace {

std::size_t sz(int v) { return static_cast<std::size_t>(v); }

std::vector<std::vector<int>> experts_per_gpu(const LayerPlacement& pl) {
  std::vector<std::vector<int>> out(sz(pl.num_gpus));
  for (std::size_t s = 0; s < pl.slot_expert.size(); ++s)
    if (pl.slot_expert[s] >= 0) out[sz(pl.gpu_of_slot(static_cast<int>(s)))].push_back(pl.slot_expert[s]);
  return out;
}

bool holds(const std::vector<int>& v, int e) { return std::find(v.begin(), v.end(), e) != v.end(); }

// Inside every GPU: experts the GPU held in `old` keep their old slot, the others fill the rest.
LayerPlacement keep_slots(const LayerPlacement& old, const LayerPlacement& fresh) {
  const int S = fresh.slots_per_gpu;
  LayerPlacement out = fresh;
  for (int g = 0; g < fresh.num_gpus; ++g) {
    std::vector<int> want(fresh.slot_expert.begin() + g * S, fresh.slot_expert.begin() + (g + 1) * S);
    std::vector<int> slots(sz(S), -2);  // -2 = not yet assigned
    for (int s = 0; s < S; ++s) {
      const int e = old.slot_expert[sz(g * S + s)];
      auto it = std::find(want.begin(), want.end(), e);
      if (e >= 0 && it != want.end()) {
        slots[sz(s)] = e;
        want.erase(it);
      }
    }
    std::size_t k = 0;
    for (int s = 0; s < S; ++s)
      if (slots[sz(s)] == -2) slots[sz(s)] = want[k++];
    std::copy(slots.begin(), slots.end(), out.slot_expert.begin() + g * S);
  }
  return out;
}

}  // namespace

int replicas_to_copy(const LayerPlacement& old, const LayerPlacement& fresh) {
  if (old.num_gpus != fresh.num_gpus) throw std::invalid_argument("replicas_to_copy: placements of different EP");
  auto a = experts_per_gpu(old), b = experts_per_gpu(fresh);
  int n = 0;
  for (std::size_t g = 0; g < b.size(); ++g)
    for (int e : b[g]) n += !holds(a[g], e);
  return n;
}

LayerPlacement match_placement(const LayerPlacement& old, const LayerPlacement& fresh,
                               const std::function<bool(const LayerPlacement&)>& acceptable) {
  if (old.num_gpus != fresh.num_gpus || old.slots_per_gpu != fresh.slots_per_gpu)
    throw std::invalid_argument("match_placement: placements of different shape");
  const int G = fresh.num_gpus, S = fresh.slots_per_gpu;
  auto a = experts_per_gpu(old), b = experts_per_gpu(fresh);
  std::vector<std::vector<double>> w(sz(G), std::vector<double>(sz(G), 0.0));
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < G; ++h)
      for (int e : b[sz(h)]) w[sz(g)][sz(h)] += holds(a[sz(g)], e);
  std::vector<int> from = max_weight_assignment(w);  // GPU g takes fresh GPU from[g]'s contents
  LayerPlacement relabelled = fresh;
  for (int g = 0; g < G; ++g)
    std::copy(fresh.slot_expert.begin() + from[sz(g)] * S, fresh.slot_expert.begin() + (from[sz(g)] + 1) * S,
              relabelled.slot_expert.begin() + g * S);
  const bool identity = std::is_sorted(from.begin(), from.end());
  if (!identity && replicas_to_copy(old, relabelled) < replicas_to_copy(old, fresh) && acceptable(relabelled))
    return keep_slots(old, relabelled);
  return keep_slots(old, fresh);
}

Migration plan_migration(const RouteTable& routes, const std::vector<LayerPlacement>& old,
                         const std::vector<LayerPlacement>& fresh, double bytes_per_replica) {
  if (old.size() != fresh.size()) throw std::invalid_argument("plan_migration: different layer counts");
  const Topology& topo = routes.topology();
  Migration m;
  m.link_bytes.assign(sz(topo.num_links()), 0.0);
  std::vector<double> sent(sz(topo.num_gpus()), 0.0);
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  for (std::size_t layer = 0; layer < fresh.size(); ++layer) {
    if (fresh[layer].slot_expert.empty()) continue;
    auto a = experts_per_gpu(old[layer]), b = experts_per_gpu(fresh[layer]);
    for (int g = 0; g < static_cast<int>(b.size()); ++g)
      for (int e : b[sz(g)]) {
        if (holds(a[sz(g)], e)) continue;
        int src = -1;
        for (int h = 0; h < static_cast<int>(a.size()) && src < 0; ++h)
          if (holds(a[sz(h)], e) && topo.gpu_host(h) == topo.gpu_host(g)) src = h;
        if (src < 0)
          for (int h = 0; h < static_cast<int>(a.size()); ++h)
            if (holds(a[sz(h)], e) && (src < 0 || sent[sz(h)] < sent[sz(src)])) src = h;
        if (src < 0) throw std::invalid_argument("plan_migration: an expert of the new placement has no old holder");
        m.copies.push_back({static_cast<int>(layer), e, src, g});
        sent[sz(src)] += bytes_per_replica;
        hops.clear();
        const double lat_ns = routes.append_route(src, g, scratch, hops);
        for (const RouteHop& hop : hops) m.link_bytes[sz(hop.link)] += bytes_per_replica * hop.fraction;
        m.latency_s = std::max(m.latency_s, lat_ns * 1e-9);
      }
  }
  m.bytes = static_cast<double>(m.copies.size()) * bytes_per_replica;
  for (int l = 0; l < topo.num_links(); ++l) {
    const double t = m.link_bytes[sz(l)] / (topo.link(l).bandwidth_GBps * 1e9);
    if (t > m.bottleneck_s) m.bottleneck_s = t, m.busiest_link = l;
  }
  return m;
}

}  // namespace epsim
