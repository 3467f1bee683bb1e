#pragma once
// Where every expert replica of one MoE layer lives.
#include <string>
#include <vector>

namespace epsim {

/// Placement of one layer on `num_gpus` EP ranks with `slots_per_gpu` slots each. Physical slot p
/// lives on EP rank p / slots_per_gpu (SGLang's and EPLB's convention). slot_expert[p] is the logical
/// expert held by slot p, or -1 for an empty slot.
struct LayerPlacement {
  int num_gpus = 0;
  int slots_per_gpu = 0;
  std::vector<int> slot_expert;

  bool operator==(const LayerPlacement&) const = default;

  int gpu_of_slot(int slot) const { return slot / slots_per_gpu; }
  /// replicas[e] = number of slots holding expert e (size num_experts).
  std::vector<int> replica_counts(int num_experts) const;
  /// GPUs (EP ranks) holding expert e, ascending.
  std::vector<int> gpus_of_expert(int expert) const;
};

/// Tokens computed by each EP rank when every replica of expert e takes an equal share of
/// load[e]: result[g] = sum over slots p on g of load[slot_expert[p]] / replicas[slot_expert[p]].
std::vector<double> gpu_token_loads(const LayerPlacement& placement, const std::vector<double>& load);

/// Throws InputError (message names the layer) if the placement holds an unknown expert, misses an
/// expert, or puts two replicas of one expert on one GPU.
void check_placement(const LayerPlacement& placement, int num_experts, const std::string& what);

}  // namespace epsim
