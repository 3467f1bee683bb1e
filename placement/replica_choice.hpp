#pragma once
// Replica choice: how one batch's tokens of an expert are split over the expert's replicas
// (`epsim plan|evaluate|rebalance --replica-choice`, plan.json settings.replica_choice;
// docs/placement.md "Dispatch-time balancing"); `epsim simulate` splits each layer's tokens with it
// (scenario /placement/replica_choice or the plan's; sim/workload/layer_costs.cpp).
//
// rule: every replica computes an equal share, load_e / r_e (the per-token rule draws a replica
//       uniformly, equal in expectation; model/layer_placement.hpp gpu_token_loads).
// lp:   the split that minimizes the busiest GPU's tokens and, among those splits, the sum of the
//       exchange's busiest dispatch link time and busiest combine link time (comm/link_load.hpp's
//       linear link model), solved per layer and batch with GLPK:
//         stage 1:  min T   s.t.  sum_{p in slots(e)} x_p = load_e (every e with >= 2 replicas),
//                                 base_g + sum_{p on g} x_p <= T (every GPU g),  x >= 0;
//         stage 2:  min D + C  s.t. the rows of stage 1 with T <= T1 (1 + 1e-9) (T1 the stage-1
//                                 optimum) and, for the links in a working set,
//                                 sum_g tokens_g k_d(g, l) <= D,  sum_g tokens_g k_c(g, l) <= C,
//       where base_g = tokens of g's single-replica experts (fixed), tokens_g = base_g + sum_{p on g}
//       x_p and k(g, l) = the link row coefficient x bytes per token / EP / bandwidth (us per token).
//       The working set starts with the 8 busiest links of each direction at the stage-1 split and
//       grows by the most violated links until no link is above D (resp. C) by more than 1e-9
//       relative (cutting planes: finitely many links, so it ends at the stage-2 optimum over all
//       links). Without a link model stage 2 is skipped. The rule's split is feasible in both stages,
//       so `lp` is never worse than `rule` on the busiest GPU.
//       Cost: an LP of (slots of multi-replica experts + 1) columns and (those experts + EP) rows,
//       plus the working-set link rows (EP coefficients each); nothing to solve when no expert has two
//       replicas.
#include <string>
#include <string_view>
#include <vector>

#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"

namespace epsim {

enum class ReplicaChoice { rule, lp };

/// "rule", "lp" in enum order.
const std::vector<std::string>& replica_choice_names();
/// Throws SettingError (setting "replica_choice", a UsageError) naming the valid choices.
ReplicaChoice parse_replica_choice(std::string_view name);
std::string_view to_string(ReplicaChoice choice);

/// The link model stage 2 of `lp` minimizes on (must outlive the call).
struct ReplicaSplitLinks {
  const EpLinkModel* links = nullptr;
  double dispatch_bytes_per_token = 0;  ///< bytes of one token's data (the kernel's header is added)
  double combine_bytes_per_token = 0;
};

/// One layer's split for one batch.
struct ReplicaSplit {
  std::vector<double> slot_tokens;  ///< tokens computed by each slot (size G x S; 0 for empty slots)
  std::vector<double> gpu_tokens;   ///< tokens computed by each GPU (size G)
  int lp_solves = 0;                ///< GLPK solves (0: rule, or no expert with two replicas)
};

/// Split `load` (tokens per expert, size E, finite and >= 0) over the replicas of `placement` (a
/// valid placement, check_placement). links: stage 2 of `lp` (null or links->links null: stage 1
/// only); its EP must equal placement.num_gpus. Throws std::invalid_argument on mismatched sizes and
/// std::runtime_error if GLPK finds no optimum (it always exists: the rule's split is feasible).
ReplicaSplit split_replicas(const LayerPlacement& placement, const std::vector<double>& load, ReplicaChoice choice,
                            const ReplicaSplitLinks* links = nullptr);

}  // namespace epsim
