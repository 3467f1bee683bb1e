#pragma once
// DeepSeek's expert-parallel load balancer (EPLB), ported from github.com/deepseek-ai/EPLB eplb.py.
//
// Arithmetic follows the reference: loads are converted to float32 (the reference calls
// weight.float()), sums and per-replica loads are float32, and ties are broken as torch on CPU breaks
// them: torch.sort(descending) without `stable` is std::sort over (value, index) pairs with a
// value-only comparator (we call the same std::sort, so the tie order is libstdc++'s, which for
// n <= 16 items is insertion sort, i.e. lower index first); torch.max(dim).indices and Python's min()
// return the first extremum.
#include <string>
#include <vector>

#include "model/layer_placement.hpp"

namespace epsim {

/// Result of balanced_packing for one row: pack_index[i] = pack of item i, rank_in_pack[i] = its
/// position inside that pack (0-based, in order of assignment).
struct PackingResult {
  std::vector<int> pack_index;
  std::vector<int> rank_in_pack;
};

/// Packs n weighted items into `num_packs` packs of exactly n / num_packs items each, greedily:
/// items in descending weight order, each to the lightest pack that still has room (lowest pack
/// index on ties). weight: [n] float32 loads (tokens). Throws InputError if num_packs <= 0 or n is
/// not a multiple of num_packs.
PackingResult eplb_balanced_packing(const std::vector<float>& weight, int num_packs);

/// Result of replicate_experts for one row (num_phy physical replicas of num_log logical experts).
struct ReplicationResult {
  std::vector<int> phy2log;  ///< [num_phy] logical expert of each physical replica
  std::vector<int> rank;     ///< [num_phy] replica rank of that replica within its expert (0-based)
  std::vector<int> logcnt;   ///< [num_log] replica count of each logical expert
};

/// Replicates num_log experts into num_phy replicas minimizing the largest per-replica load:
/// replica i >= num_log goes to the expert with the largest weight / logcnt (first on ties).
/// weight: [num_log] float32 loads. Throws InputError if num_phy < num_log.
ReplicationResult eplb_replicate_experts(const std::vector<float>& weight, int num_phy);

/// EPLB output for all layers. Shapes: phy2log [layers][num_replicas] (physical slot p lives on
/// GPU p / (num_replicas / num_gpus)); phyrank [layers][num_replicas]; log2phy
/// [layers][num_experts][max replica count over all layers], -1 padded; logcnt [layers][num_experts].
struct EplbResult {
  std::vector<std::vector<int>> phy2log;
  std::vector<std::vector<int>> phyrank;
  std::vector<std::vector<std::vector<int>>> log2phy;
  std::vector<std::vector<int>> logcnt;
  bool used_hierarchical = false;  ///< false when the global policy was used
  std::string note;                ///< which policy ran and why (human readable)
};

/// EPLB's hierarchical policy (rebalance_experts_hierarchical): pack expert groups to nodes, replicate
/// experts inside each node, pack replicas to the node's GPUs. weight: [layers][num_experts] token
/// loads (>= 0, finite). Returns phy2log, phyrank, logcnt (log2phy and note left empty).
/// Throws InputError unless num_experts % num_groups == 0, num_groups % num_nodes == 0,
/// num_gpus % num_nodes == 0, num_replicas % num_gpus == 0 and num_replicas >= num_experts.
EplbResult eplb_rebalance_hierarchical(const std::vector<std::vector<double>>& weight, int num_replicas,
                                       int num_groups, int num_nodes, int num_gpus);

/// EPLB's entry point (rebalance_experts): the hierarchical policy when num_groups % num_nodes == 0,
/// otherwise the global policy (hierarchical with 1 group and 1 node). weight: [layers][num_experts]
/// token loads, all layers the same length, every value finite and >= 0. num_replicas: physical
/// expert slots in total (a multiple of num_gpus, >= num_experts). Throws InputError on any
/// violated precondition, with a message naming it.
EplbResult eplb_rebalance(const std::vector<std::vector<double>>& weight, int num_replicas, int num_groups,
                          int num_nodes, int num_gpus);

/// eplb_rebalance for one layer, as a LayerPlacement (num_gpus GPUs x num_replicas / num_gpus
/// slots). If `note` is not null it receives the policy note; EPLB may put two replicas of one expert
/// on the same GPU (the reference allows it), and the note says so when it happens.
/// Throws InputError as eplb_rebalance.
LayerPlacement eplb_layer_placement(const std::vector<double>& weight, int num_replicas, int num_groups,
                                    int num_nodes, int num_gpus, std::string* note);

}  // namespace epsim
