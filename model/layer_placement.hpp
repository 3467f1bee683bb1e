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
  /// EP ranks none of whose slots holds an expert (slot_expert < 0 on all of them).
  int gpus_without_expert() const;
};

/// "" when every EP rank holds an expert; otherwise a one-line notice that `idle` of the `num_gpus` ranks
/// hold none (they send tokens and compute no expert: EP larger than the experts and replicas), naming
/// `where` (the layer or plan it comes from).
std::string idle_ranks_notice(int idle, int num_gpus, int num_experts, const std::string& where);

/// "" when `num_gpus` divides `num_experts`; otherwise a one-line notice that the contiguous layout gives
/// ranks floor(E/G) or ceil(E/G) experts (with the token excess of the fuller ranks when floor > 0), that
/// DeepEP's kernels and SGLang's EP need E % G == 0, and the smallest redundant-slot count that evens
/// them (plan --redundant), naming `where`.
std::string uneven_experts_notice(int num_experts, int num_gpus, const std::string& where);

/// The contiguous layout: expert e on rank floor(e x num_gpus / num_experts), in that rank's next
/// free slot (= floor(e / (E/G)) when G divides E; SGLang's and DeepEP's default without EPLB). Throws
/// InputError when a rank has fewer than its experts' slots, or a count is < 1.
LayerPlacement contiguous_placement(int num_experts, int num_gpus, int slots_per_gpu);

/// Tokens computed by each EP rank when every replica of expert e takes an equal share of
/// load[e]: result[g] = sum over slots p on g of load[slot_expert[p]] / replicas[slot_expert[p]].
std::vector<double> gpu_token_loads(const LayerPlacement& placement, const std::vector<double>& load);

/// Throws InputError (message names the layer) if the placement holds an unknown expert, misses an
/// expert, or puts two replicas of one expert on one GPU.
void check_placement(const LayerPlacement& placement, int num_experts, const std::string& what);

}  // namespace epsim
