#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"

namespace epsim {

int smallest_valid_redundant(int num_experts, int num_gpus) {
  return (num_gpus - num_experts % num_gpus) % num_gpus;
}

LayerPlacement place_contiguous(const PlacementProblem& p) {
  const int E = p.num_experts();
  const int G = p.num_gpus;
  LayerPlacement pl{G, p.slots_per_gpu, std::vector<int>(static_cast<std::size_t>(G * p.slots_per_gpu), -1)};
  std::vector<int> used(static_cast<std::size_t>(G), 0);
  for (int e = 0; e < E; ++e) {
    int g = static_cast<int>(static_cast<long long>(e) * G / E);
    int& u = used[static_cast<std::size_t>(g)];
    if (u >= p.slots_per_gpu)
      throw InputError(fmt::format("contiguous placement: rank {} has only {} slots for its experts", g, p.slots_per_gpu));
    pl.slot_expert[static_cast<std::size_t>(g * p.slots_per_gpu + u)] = e;
    ++u;
  }
  return pl;
}

}  // namespace epsim
