#include "placement/algorithms/node_local.hpp"

#include <algorithm>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

std::vector<int> node_of_ranks(const Topology& topology, int ep) {
  std::map<int, int> index;
  std::vector<int> out(static_cast<std::size_t>(ep));
  for (int g = 0; g < ep; ++g) {
    auto [it, inserted] = index.try_emplace(topology.gpu_host(g), static_cast<int>(index.size()));
    out[static_cast<std::size_t>(g)] = it->second;
  }
  return out;
}

std::vector<int> assign_groups_to_nodes(const std::vector<double>& load, int num_groups,
                                        const std::vector<int>& node_of_gpu, int slots_per_gpu) {
  const int E = static_cast<int>(load.size());
  if (num_groups < 2)
    throw InputError(fmt::format("node-local replicas need the model's expert groups (n_group >= 2), but it has "
                                 "n_group = {}: there is no group to keep on a node",
                                 num_groups));
  if (E % num_groups != 0)
    throw InputError(fmt::format("node-local replicas: {} experts do not split into n_group = {} equal groups", E,
                                 num_groups));
  const int N = node_of_gpu.empty() ? 0 : *std::max_element(node_of_gpu.begin(), node_of_gpu.end()) + 1;
  std::vector<int> ranks(static_cast<std::size_t>(N), 0);
  for (int n : node_of_gpu) ++ranks[static_cast<std::size_t>(n)];
  const int per_group = E / num_groups;
  std::vector<double> group_load(static_cast<std::size_t>(num_groups), 0.0);
  for (int e = 0; e < E; ++e) group_load[static_cast<std::size_t>(e / per_group)] += load[static_cast<std::size_t>(e)];
  std::vector<int> order(static_cast<std::size_t>(num_groups));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return group_load[static_cast<std::size_t>(a)] > group_load[static_cast<std::size_t>(b)];
  });
  std::vector<double> node_load(static_cast<std::size_t>(N), 0.0);
  std::vector<int> free_slots(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) free_slots[static_cast<std::size_t>(n)] = ranks[static_cast<std::size_t>(n)] * slots_per_gpu;
  std::vector<int> expert_node(static_cast<std::size_t>(E), -1);
  for (int grp : order) {
    int best = -1;
    double best_v = 0;
    for (int n = 0; n < N; ++n) {
      if (free_slots[static_cast<std::size_t>(n)] < per_group) continue;
      double v = (node_load[static_cast<std::size_t>(n)] + group_load[static_cast<std::size_t>(grp)]) /
                 ranks[static_cast<std::size_t>(n)];
      if (best < 0 || v < best_v) best = n, best_v = v;
    }
    if (best < 0) {
      std::string sizes;
      for (int n = 0; n < N; ++n)
        sizes += fmt::format("{}{}", n ? ", " : "", ranks[static_cast<std::size_t>(n)] * slots_per_gpu);
      throw InputError(fmt::format("node-local replicas: {} groups of {} experts do not fit the nodes' slots ({}); "
                                   "use more redundant slots or replicas on any node",
                                   num_groups, per_group, sizes));
    }
    node_load[static_cast<std::size_t>(best)] += group_load[static_cast<std::size_t>(grp)];
    free_slots[static_cast<std::size_t>(best)] -= per_group;
    for (int j = 0; j < per_group; ++j) expert_node[static_cast<std::size_t>(grp * per_group + j)] = best;
  }
  return expert_node;
}

bool respects_node_local(const PlacementProblem& p, const LayerPlacement& pl) {
  if (!p.node_local()) return true;
  for (std::size_t s = 0; s < pl.slot_expert.size(); ++s)
    if (!p.allowed(pl.gpu_of_slot(static_cast<int>(s)), pl.slot_expert[s])) return false;
  return true;
}

LayerPlacement place_node_local_greedy(const PlacementProblem& p) {
  if (!p.node_local()) throw std::logic_error("place_node_local_greedy needs node-local settings");
  const int E = p.num_experts(), G = p.num_gpus, S = p.slots_per_gpu;
  const int N = *std::max_element(p.node_of_gpu.begin(), p.node_of_gpu.end()) + 1;
  LayerPlacement pl{G, S, std::vector<int>(static_cast<std::size_t>(G) * S, -1)};
  for (int n = 0; n < N; ++n) {
    std::vector<int> ranks, experts;
    for (int g = 0; g < G; ++g)
      if (p.node_of_gpu[static_cast<std::size_t>(g)] == n) ranks.push_back(g);
    for (int e = 0; e < E; ++e)
      if (p.expert_node[static_cast<std::size_t>(e)] == n) experts.push_back(e);
    if (experts.empty()) continue;
    const int R = static_cast<int>(ranks.size());
    if (static_cast<int>(experts.size()) > R * S)
      throw InputError(fmt::format("node-local replicas: node {} has {} slots for its {} experts", n, R * S, experts.size()));
    // Replica counts: one each, then every spare slot of the node to the largest load per replica.
    std::vector<int> reps(experts.size(), 1);
    for (int spare = R * S - static_cast<int>(experts.size()); spare > 0; --spare) {
      int best = -1;
      for (std::size_t i = 0; i < experts.size(); ++i) {
        if (reps[i] >= R) continue;
        auto share = [&](std::size_t k) { return p.load[static_cast<std::size_t>(experts[k])] / reps[k]; };
        if (best < 0 || share(i) > share(static_cast<std::size_t>(best))) best = static_cast<int>(i);
      }
      if (best < 0) break;
      ++reps[static_cast<std::size_t>(best)];
    }
    std::vector<std::pair<double, int>> items;  // (share, expert), largest share first, then lower id
    for (std::size_t i = 0; i < experts.size(); ++i)
      for (int r = 0; r < reps[i]; ++r) items.emplace_back(p.load[static_cast<std::size_t>(experts[i])] / reps[i], experts[i]);
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::vector<double> tokens(static_cast<std::size_t>(R), 0.0);
    std::vector<int> used(static_cast<std::size_t>(R), 0);
    for (const auto& [share, e] : items) {
      int best = -1;
      for (int r = 0; r < R; ++r) {
        const int g = ranks[static_cast<std::size_t>(r)];
        if (used[static_cast<std::size_t>(r)] >= S) continue;
        bool has = false;
        for (int s = 0; s < used[static_cast<std::size_t>(r)]; ++s) has |= pl.slot_expert[static_cast<std::size_t>(g * S + s)] == e;
        if (has) continue;
        if (best < 0 || tokens[static_cast<std::size_t>(r)] < tokens[static_cast<std::size_t>(best)]) best = r;
      }
      // Replica counts are at most R, and items go largest first, so a rank without e with a free
      // slot exists unless the node's slots are full of e's own replicas (then the replica is dropped).
      if (best < 0) continue;
      const int g = ranks[static_cast<std::size_t>(best)];
      pl.slot_expert[static_cast<std::size_t>(g * S + used[static_cast<std::size_t>(best)]++)] = e;
      tokens[static_cast<std::size_t>(best)] += share;
    }
  }
  return pl;
}

}  // namespace epsim
