// The `eplb` placement algorithm: DeepSeek EPLB (eplb.hpp) as a LayerPlacement without duplicate
// replicas on one rank.
#include <fmt/format.h>

#include "placement/algorithms/algorithms.hpp"
#include "placement/algorithms/eplb.hpp"

namespace epsim {

namespace {

// Swap one of two co-located replicas with a slot on another rank that can take it. Deterministic:
// lowest rank and slot first. Returns false if no swap exists.
bool separate_one_duplicate(LayerPlacement& pl) {
  const int G = pl.num_gpus, S = pl.slots_per_gpu;
  auto at = [&](int g, int s) -> int& { return pl.slot_expert[static_cast<std::size_t>(g * S + s)]; };
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
          if (h == g || holds(h, e)) continue;
          for (int s = 0; s < S; ++s) {
            int other = at(h, s);
            if (other >= 0 && holds(g, other)) continue;
            at(h, s) = e;
            at(g, b) = other;
            return true;
          }
        }
        return false;
      }
  return false;
}

}  // namespace

LayerPlacement place_eplb(const PlacementProblem& p, std::string* note) {
  std::string eplb_note;
  const int nodes = p.num_gpus % p.num_nodes == 0 ? p.num_nodes : 1;
  LayerPlacement pl =
      eplb_layer_placement(p.load, p.num_gpus * p.slots_per_gpu, p.num_groups, nodes, p.num_gpus, &eplb_note);
  int separated = 0;
  while (separate_one_duplicate(pl)) ++separated;
  if (note != nullptr) {
    *note = eplb_note;
    if (separated > 0) *note += fmt::format("; epsim moved {} co-located replica(s) to other ranks", separated);
  }
  return pl;
}

}  // namespace epsim
