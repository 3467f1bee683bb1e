#include "placement/algorithms/algorithms.hpp"

namespace epsim {

int smallest_valid_redundant(int num_experts, int num_gpus) {
  return (num_gpus - num_experts % num_gpus) % num_gpus;
}

LayerPlacement place_contiguous(const PlacementProblem& p) {
  return contiguous_placement(p.num_experts(), p.num_gpus, p.slots_per_gpu);
}

}  // namespace epsim
