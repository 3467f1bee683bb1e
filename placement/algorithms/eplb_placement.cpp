// The `eplb` placement algorithm: DeepSeek EPLB (eplb.hpp) as a LayerPlacement without duplicate
// replicas on one rank, on the real nodes of the EP ranks.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "placement/algorithms/algorithms.hpp"
#include "placement/algorithms/eplb.hpp"

namespace epsim {

namespace {

std::size_t sz(int v) { return static_cast<std::size_t>(v); }

// Nodes of the EP ranks: from problem.node_of_gpu when given, else num_nodes equal blocks of
// consecutive ranks (when num_nodes divides the ranks) or one node.
std::vector<std::vector<int>> rank_nodes(const PlacementProblem& p) {
  std::vector<std::vector<int>> nodes;
  if (!p.node_of_gpu.empty()) {
    for (int g = 0; g < p.num_gpus; ++g) {
      const int n = p.node_of_gpu[sz(g)];
      if (n >= static_cast<int>(nodes.size())) nodes.resize(sz(n) + 1);
      nodes[sz(n)].push_back(g);
    }
    return nodes;
  }
  const int N = p.num_nodes > 0 && p.num_gpus % p.num_nodes == 0 ? p.num_nodes : 1;
  nodes.resize(sz(N));
  for (int g = 0; g < p.num_gpus; ++g) nodes[sz(g / (p.num_gpus / N))].push_back(g);
  return nodes;
}

// EPLB's hierarchical policy on nodes of unequal size (the reference needs equal nodes): node n
// takes num_groups x ranks(n) / G groups (this must be an integer for every node), groups go in
// decreasing load to the node with the smallest load per rank that has room (lowest node on ties);
// then inside each node EPLB's own replicate_experts and balanced_packing onto its ranks.
LayerPlacement hierarchical_on_nodes(const PlacementProblem& p, const std::vector<std::vector<int>>& nodes) {
  const int E = p.num_experts(), G = p.num_gpus, S = p.slots_per_gpu, groups = p.num_groups;
  const int per_group = E / groups;
  std::vector<float> w(p.load.begin(), p.load.end());
  std::vector<float> group_w(sz(groups), 0.0f);
  for (int e = 0; e < E; ++e) group_w[sz(e / per_group)] += w[sz(e)];
  std::vector<int> order(sz(groups));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return group_w[sz(a)] > group_w[sz(b)]; });
  std::vector<int> room(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) room[n] = groups * static_cast<int>(nodes[n].size()) / G;
  std::vector<float> node_w(nodes.size(), 0.0f);
  std::vector<std::vector<int>> node_experts(nodes.size());
  for (int grp : order) {
    int best = -1;
    for (std::size_t n = 0; n < nodes.size(); ++n)
      if (room[n] > 0 && (best < 0 || node_w[n] / static_cast<float>(nodes[n].size()) <
                                          node_w[sz(best)] / static_cast<float>(nodes[sz(best)].size())))
        best = static_cast<int>(n);
    --room[sz(best)];
    node_w[sz(best)] += group_w[sz(grp)];
    for (int j = 0; j < per_group; ++j) node_experts[sz(best)].push_back(grp * per_group + j);
  }
  LayerPlacement pl{G, S, std::vector<int>(sz(G * S), -1)};
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const auto& experts = node_experts[n];
    const int ranks = static_cast<int>(nodes[n].size());
    std::vector<float> wn;
    for (int e : experts) wn.push_back(w[sz(e)]);
    ReplicationResult rep = eplb_replicate_experts(wn, ranks * S);
    std::vector<float> per_phy(sz(ranks * S));
    for (int q = 0; q < ranks * S; ++q) per_phy[sz(q)] = wn[sz(rep.phy2log[sz(q)])] / static_cast<float>(rep.logcnt[sz(rep.phy2log[sz(q)])]);
    PackingResult pack = eplb_balanced_packing(per_phy, ranks);
    for (int q = 0; q < ranks * S; ++q) {
      const int g = nodes[n][sz(pack.pack_index[sz(q)])];
      pl.slot_expert[sz(g * S + pack.rank_in_pack[sz(q)])] = experts[sz(rep.phy2log[sz(q)])];
    }
  }
  return pl;
}

// Swap one of two co-located replicas with a slot on another rank (of the same node when
// node-local) that can take it; when no rank can, replace the surplus replica by one of the expert
// with the largest load per replica that the rank does not hold (or leave the slot empty).
// Deterministic: lowest rank and slot first. Returns false when no duplicate is left.
bool separate_one_duplicate(LayerPlacement& pl, const PlacementProblem& p, int* dropped) {
  const int G = pl.num_gpus, S = pl.slots_per_gpu;
  auto at = [&](int g, int s) -> int& { return pl.slot_expert[sz(g * S + s)]; };
  auto holds = [&](int g, int e) {
    for (int s = 0; s < S; ++s)
      if (at(g, s) == e) return true;
    return false;
  };
  for (int g = 0; g < G; ++g)
    for (int a = 0; a < S; ++a)
      for (int b = a + 1; b < S; ++b) {
        int e = at(g, a);
        if (e < 0 || e != at(g, b)) continue;
        for (int h = 0; h < G; ++h) {
          if (h == g || holds(h, e) || !p.allowed(h, e)) continue;
          for (int s = 0; s < S; ++s) {
            int other = at(h, s);
            if (other >= 0 && (holds(g, other) || !p.allowed(g, other))) continue;
            at(h, s) = e;
            at(g, b) = other;
            return true;
          }
        }
        // No rank can take it: the expert has more replicas than ranks it may use. Give the slot
        // to the expert with the largest load per replica that g may hold and does not hold.
        auto replicas = pl.replica_counts(p.num_experts());
        int best = -1;
        for (int x = 0; x < p.num_experts(); ++x) {
          if (x == e || holds(g, x) || !p.allowed(g, x)) continue;
          double share = p.load[sz(x)] / (replicas[sz(x)] + 1);
          if (best < 0 || share > p.load[sz(best)] / (replicas[sz(best)] + 1)) best = x;
        }
        at(g, b) = best;  // -1 (empty) when none
        ++*dropped;
        return true;
      }
  return false;
}

}  // namespace

LayerPlacement place_eplb(const PlacementProblem& p, std::string* note) {
  std::string eplb_note;
  const auto nodes = rank_nodes(p);
  bool equal = true;  // equal nodes of consecutive ranks: EPLB's own layout
  const int first = static_cast<int>(nodes.front().size());
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (std::size_t i = 0; i < nodes[n].size(); ++i)
      equal = equal && static_cast<int>(nodes[n].size()) == first && nodes[n][i] == static_cast<int>(n) * first + static_cast<int>(i);
  const int N = static_cast<int>(nodes.size());
  const int groups = p.num_groups;
  bool proportional = groups > 0 && p.num_experts() % groups == 0;
  for (const auto& n : nodes) proportional = proportional && (groups * static_cast<int>(n.size())) % p.num_gpus == 0;
  LayerPlacement pl;
  if (equal || N == 1 || !proportional) {
    pl = eplb_layer_placement(p.load, p.num_gpus * p.slots_per_gpu, groups, equal ? N : 1, p.num_gpus, &eplb_note);
    if (!equal && N > 1)
      eplb_note += fmt::format("; the {} nodes have unequal ranks and n_group = {} does not split in proportion, so "
                               "the global policy ran",
                               N, groups);
  } else {
    pl = hierarchical_on_nodes(p, nodes);
    std::string sizes;
    for (const auto& n : nodes) sizes += fmt::format("{}{}", sizes.empty() ? "" : " + ", n.size());
    eplb_note = fmt::format("EPLB hierarchical policy on nodes of {} ranks: {} groups packed onto nodes in proportion "
                            "to their ranks, replicas packed per node",
                            sizes, groups);
  }
  int separated = 0, dropped = 0;
  while (separate_one_duplicate(pl, p, &dropped)) ++separated;
  if (note != nullptr) {
    *note = eplb_note;
    if (separated > dropped) *note += fmt::format("; epsim moved {} co-located replica(s) to other ranks", separated - dropped);
    if (dropped > 0)
      *note += fmt::format("; {} replica(s) had no rank left without that expert and went to the expert with the "
                           "largest load per replica",
                           dropped);
  }
  return pl;
}

}  // namespace epsim
