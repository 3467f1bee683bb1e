#include "placement/algorithms/inter_layer.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "comm/trace_traffic.hpp"

namespace epsim {

namespace {

// Serving rank of every (token, j) under the replica rule.
std::vector<int> serving_all(const LayerPlacement& pl, const TraceLayer& L, int k, const Topology& topo) {
  int E = 0;
  for (int e : pl.slot_expert) E = std::max(E, e + 1);
  std::vector<std::vector<int>> gpus(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) gpus[static_cast<std::size_t>(e)] = pl.gpus_of_expert(e);
  std::vector<int> out(static_cast<std::size_t>(L.num_tokens()) * static_cast<std::size_t>(k));
  for (int t = 0; t < L.num_tokens(); ++t) {
    auto ex = L.token_experts(t, k);
    for (int j = 0; j < k; ++j) {
      const int e = ex[static_cast<std::size_t>(j)];
      if (e < 0 || e >= E || gpus[static_cast<std::size_t>(e)].empty())
        throw InputError(fmt::format("trace layer {}: token {} uses expert {} that the placement does not hold", L.layer, t, e));
      out[static_cast<std::size_t>(t) * k + j] = serving_rank(gpus[static_cast<std::size_t>(e)], L.source[static_cast<std::size_t>(t)], t, topo);
    }
  }
  return out;
}

// Pairwise exchanges on sigma (content of position x goes to sigma[x]) maximizing
// sum_x W[sigma[x] * n + x], until no exchange gains (at most 100 passes).
bool improve_assignment(std::vector<int>& sigma, const std::vector<double>& W, int n) {
  bool changed = false;
  auto w = [&](int to, int from) { return W[static_cast<std::size_t>(to) * n + from]; };
  for (int pass = 0; pass < 100; ++pass) {
    bool improved = false;
    for (int x = 0; x < n; ++x)
      for (int y = x + 1; y < n; ++y) {
        const int sx = sigma[static_cast<std::size_t>(x)], sy = sigma[static_cast<std::size_t>(y)];
        if (w(sy, x) + w(sx, y) - w(sx, x) - w(sy, y) > 1e-9) {
          std::swap(sigma[static_cast<std::size_t>(x)], sigma[static_cast<std::size_t>(y)]);
          improved = changed = true;
        }
      }
    if (!improved) break;
  }
  return changed;
}

// Content of rank r moves to rank to[r].
LayerPlacement move_ranks(const LayerPlacement& pl, const std::vector<int>& to) {
  LayerPlacement out = pl;
  const int S = pl.slots_per_gpu;
  for (int r = 0; r < pl.num_gpus; ++r)
    for (int s = 0; s < S; ++s)
      out.slot_expert[static_cast<std::size_t>(to[static_cast<std::size_t>(r)] * S + s)] =
          pl.slot_expert[static_cast<std::size_t>(r * S + s)];
  return out;
}

}  // namespace

InterLayerReport align_consecutive_layers(std::vector<LayerPlacement>& placements,
                                          const std::vector<const TraceLayer*>& layers, int top_k,
                                          const Topology& topology,
                                          const std::function<bool(std::size_t, const LayerPlacement&)>& acceptable) {
  InterLayerReport rep;
  if (placements.size() != layers.size()) throw std::invalid_argument("align_consecutive_layers: sizes differ");
  if (placements.empty()) return rep;
  const int G = placements[0].num_gpus;
  // Nodes of the EP ranks, in order of their first rank; local index of every rank.
  std::map<int, int> node_index;
  std::vector<std::vector<int>> nodes;
  std::vector<int> node_of(static_cast<std::size_t>(G)), local(static_cast<std::size_t>(G));
  for (int g = 0; g < G; ++g) {
    auto [it, inserted] = node_index.try_emplace(topology.gpu_host(g), static_cast<int>(nodes.size()));
    if (inserted) nodes.emplace_back();
    node_of[static_cast<std::size_t>(g)] = it->second;
    local[static_cast<std::size_t>(g)] = static_cast<int>(nodes[static_cast<std::size_t>(it->second)].size());
    nodes[static_cast<std::size_t>(it->second)].push_back(g);
  }
  const int n = static_cast<int>(nodes.size());
  bool equal_nodes = true;
  for (const auto& v : nodes) equal_nodes &= v.size() == nodes[0].size();
  const int k = top_k;
  std::vector<int> ha, hb;
  for (std::size_t i = 0; i + 1 < placements.size(); ++i) {
    const TraceLayer& a = *layers[i];
    const TraceLayer& b = *layers[i + 1];
    if (a.source != b.source)
      throw InputError(fmt::format("trace layers {} and {} do not carry the same tokens (count and sources)", a.layer, b.layer));
    rep.layer_pairs += 1;
    const std::vector<int> da = serving_all(placements[i], a, k, topology);
    auto distinct_nodes = [&](const std::vector<int>& srv, int t, std::vector<int>& out) {
      out.clear();
      for (int j = 0; j < k; ++j) out.push_back(node_of[static_cast<std::size_t>(srv[static_cast<std::size_t>(t) * k + j])]);
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    };
    // Node level.
    LayerPlacement node_cand = placements[i + 1];
    bool node_changed = false;
    if (equal_nodes && n >= 2) {
      const std::vector<int> db = serving_all(placements[i + 1], b, k, topology);
      std::vector<double> A(static_cast<std::size_t>(n) * n, 0.0);
      for (int t = 0; t < a.num_tokens(); ++t) {
        distinct_nodes(da, t, ha);
        distinct_nodes(db, t, hb);
        for (int x : ha)
          for (int y : hb) A[static_cast<std::size_t>(x) * n + y] += 1;
      }
      std::vector<int> sigma(static_cast<std::size_t>(n));
      for (int x = 0; x < n; ++x) sigma[static_cast<std::size_t>(x)] = x;
      if (improve_assignment(sigma, A, n)) {
        std::vector<int> to(static_cast<std::size_t>(G));
        for (int g = 0; g < G; ++g)
          to[static_cast<std::size_t>(g)] =
              nodes[static_cast<std::size_t>(sigma[static_cast<std::size_t>(node_of[static_cast<std::size_t>(g)])])]
                   [static_cast<std::size_t>(local[static_cast<std::size_t>(g)])];
        node_cand = move_ranks(placements[i + 1], to);
        node_changed = true;
      }
    }
    // Rank level inside every node.
    LayerPlacement rank_cand = node_cand;
    bool rank_changed = false;
    {
      const std::vector<int> db = serving_all(node_cand, b, k, topology);
      std::vector<std::vector<double>> M(nodes.size());
      for (std::size_t m = 0; m < nodes.size(); ++m) M[m].assign(nodes[m].size() * nodes[m].size(), 0.0);
      for (int t = 0; t < a.num_tokens(); ++t)
        for (int x = 0; x < k; ++x)
          for (int y = 0; y < k; ++y) {
            const int gx = da[static_cast<std::size_t>(t) * k + x], gy = db[static_cast<std::size_t>(t) * k + y];
            const int m = node_of[static_cast<std::size_t>(gx)];
            if (m != node_of[static_cast<std::size_t>(gy)]) continue;
            M[static_cast<std::size_t>(m)][static_cast<std::size_t>(local[static_cast<std::size_t>(gx)]) * nodes[static_cast<std::size_t>(m)].size() +
                                           static_cast<std::size_t>(local[static_cast<std::size_t>(gy)])] += 1;
          }
      std::vector<int> to(static_cast<std::size_t>(G));
      for (int g = 0; g < G; ++g) to[static_cast<std::size_t>(g)] = g;
      for (std::size_t m = 0; m < nodes.size(); ++m) {
        const int sz = static_cast<int>(nodes[m].size());
        std::vector<int> tau(static_cast<std::size_t>(sz));
        for (int x = 0; x < sz; ++x) tau[static_cast<std::size_t>(x)] = x;
        if (!improve_assignment(tau, M[m], sz)) continue;
        rank_changed = true;
        for (int x = 0; x < sz; ++x) to[static_cast<std::size_t>(nodes[m][static_cast<std::size_t>(x)])] = nodes[m][static_cast<std::size_t>(tau[static_cast<std::size_t>(x)])];
      }
      if (rank_changed) rank_cand = move_ranks(node_cand, to);
    }
    if (!node_changed && !rank_changed) continue;
    if (acceptable(i + 1, rank_cand)) {
      placements[i + 1] = std::move(rank_cand);
      rep.layers_permuted += 1;
    } else if (node_changed && rank_changed && acceptable(i + 1, node_cand)) {
      placements[i + 1] = std::move(node_cand);
      rep.layers_permuted += 1;
    } else {
      rep.layers_rejected += 1;
    }
  }
  return rep;
}

}  // namespace epsim
