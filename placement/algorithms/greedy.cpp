#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "placement/algorithms/node_local.hpp"

namespace epsim {

namespace {

// Replica counts: one each, then every spare slot to the largest load per replica (capped at G).
std::vector<int> greedy_replica_counts(const std::vector<double>& load, int total_slots, int num_gpus) {
  const auto E = load.size();
  std::vector<int> replicas(E, 1);
  int spare = total_slots - static_cast<int>(E);
  for (; spare > 0; --spare) {
    int best = -1;
    for (std::size_t e = 0; e < E; ++e) {
      if (replicas[e] >= num_gpus) continue;
      if (best < 0 || load[e] / replicas[e] > load[static_cast<std::size_t>(best)] / replicas[static_cast<std::size_t>(best)])
        best = static_cast<int>(e);
    }
    if (best < 0) break;  // every expert is on every rank already
    ++replicas[static_cast<std::size_t>(best)];
  }
  return replicas;
}

}  // namespace

LayerPlacement place_greedy(const PlacementProblem& p) {
  if (p.node_local()) return place_node_local_greedy(p);
  const int E = p.num_experts();
  const int G = p.num_gpus;
  const int S = p.slots_per_gpu;
  auto replicas = greedy_replica_counts(p.load, G * S, G);
  struct Item {
    double share;
    int expert;
  };
  std::vector<Item> items;
  for (int e = 0; e < E; ++e)
    for (int r = 0; r < replicas[static_cast<std::size_t>(e)]; ++r)
      items.push_back({p.load[static_cast<std::size_t>(e)] / replicas[static_cast<std::size_t>(e)], e});
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.share > b.share; });

  LayerPlacement pl{G, S, std::vector<int>(static_cast<std::size_t>(G * S), -1)};
  std::vector<double> gpu_load(static_cast<std::size_t>(G), 0.0);
  std::vector<int> used(static_cast<std::size_t>(G), 0);
  auto holds = [&](int g, int e) {
    for (int s = 0; s < used[static_cast<std::size_t>(g)]; ++s)
      if (pl.slot_expert[static_cast<std::size_t>(g * S + s)] == e) return true;
    return false;
  };
  for (const Item& it : items) {
    int best = -1;
    for (int g = 0; g < G; ++g) {
      if (used[static_cast<std::size_t>(g)] >= S || holds(g, it.expert)) continue;
      if (best < 0 || gpu_load[static_cast<std::size_t>(g)] < gpu_load[static_cast<std::size_t>(best)]) best = g;
    }
    if (best < 0) {
      // Every rank with a free slot holds this expert already: move another expert from a rank
      // that lacks it into the free slot, and take its place.
      int free_g = -1;
      for (int g = 0; g < G && free_g < 0; ++g)
        if (used[static_cast<std::size_t>(g)] < S) free_g = g;
      for (int g = 0; g < G && best < 0; ++g) {
        if (holds(g, it.expert)) continue;
        for (int s = 0; s < S; ++s) {
          int other = pl.slot_expert[static_cast<std::size_t>(g * S + s)];
          if (other < 0 || holds(free_g, other)) continue;
          double share = p.load[static_cast<std::size_t>(other)] / replicas[static_cast<std::size_t>(other)];
          pl.slot_expert[static_cast<std::size_t>(free_g * S + used[static_cast<std::size_t>(free_g)]++)] = other;
          gpu_load[static_cast<std::size_t>(free_g)] += share;
          gpu_load[static_cast<std::size_t>(g)] -= share;
          pl.slot_expert[static_cast<std::size_t>(g * S + s)] = it.expert;
          gpu_load[static_cast<std::size_t>(g)] += it.share;
          best = g;
          break;
        }
      }
      if (best < 0) throw InputError(fmt::format("greedy placement: no rank can take a replica of expert {}", it.expert));
      continue;
    }
    pl.slot_expert[static_cast<std::size_t>(best * S + used[static_cast<std::size_t>(best)]++)] = it.expert;
    gpu_load[static_cast<std::size_t>(best)] += it.share;
  }
  return pl;
}

std::vector<std::string> placement_algorithm_names() { return {"contiguous", "greedy", "eplb", "epsim"}; }

LayerPlacement run_placement(std::string_view algorithm, const PlacementProblem& p, std::string* note) {
  if (p.num_gpus < 1 || p.slots_per_gpu < 1)
    throw InputError(fmt::format("placement needs at least one rank and one slot per rank (got {} x {})", p.num_gpus,
                                 p.slots_per_gpu));
  if (p.num_gpus * p.slots_per_gpu < p.num_experts())
    throw InputError(fmt::format("{} experts do not fit {} ranks x {} slots", p.num_experts(), p.num_gpus, p.slots_per_gpu));
  if (algorithm == "contiguous") return place_contiguous(p);
  if (algorithm == "greedy") return place_greedy(p);
  if (algorithm == "epsim") return place_epsim(p);
  if (algorithm == "eplb") return place_eplb(p, note);
  std::string names;
  for (const auto& n : placement_algorithm_names()) names += (names.empty() ? "" : ", ") + n;
  throw UsageError(fmt::format("unknown placement algorithm '{}' (expected one of: {})", algorithm, names));
}

}  // namespace epsim
