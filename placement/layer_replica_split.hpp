#pragma once
// The replica split `epsim simulate` (sim/workload/layer_costs.cpp) and `epsim predict exchange` apply to
// every MoE layer (placement/replica_choice.hpp), with the link model the lp's second stage minimizes on:
// the planner's link model of the run's exchange kernel (comm/token_router.hpp planner_link_model),
// built once per run and only for lp. One place, so that both commands split alike.
#include <memory>
#include <vector>

#include "comm/exchange_kernel.hpp"
#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"
#include "model/moe_model.hpp"
#include "placement/replica_choice.hpp"
#include "topology/routing.hpp"

namespace epsim {

class LayerReplicaSplitter {
 public:
  /// EP ranks 0..ep-1 of `routes`' topology (which must outlive the splitter). Bytes per token (> 0) of
  /// the dispatch and the combine (the kernel's header is added by the link model). lp with ep > 1 builds
  /// the link model (O(EP^2) routes); rule builds nothing. Throws InputError like EpLinkModel.
  LayerReplicaSplitter(ReplicaChoice choice, const RouteTable& routes, int ep, const MoeModel& model,
                       const ExchangeKernelParams& kernel, double dispatch_bytes_per_token,
                       double combine_bytes_per_token);
  ReplicaChoice choice() const { return choice_; }
  /// split_replicas(placement, load, choice, the link model): tokens per slot and per GPU. load: tokens
  /// per expert (size E, finite, >= 0). Throws as split_replicas.
  ReplicaSplit split(const LayerPlacement& placement, const std::vector<double>& load) const;
  /// The slot weights each token's replica is drawn with (comm/token_router.hpp routing_statistics):
  /// the split's slot tokens under lp, empty (a uniform draw) under rule.
  std::vector<double> replica_draw_weights(const ReplicaSplit& split) const;

 private:
  ReplicaChoice choice_;
  std::unique_ptr<const EpLinkModel> links_;  ///< on the heap: rows_ points to it (stable when moved)
  ReplicaSplitLinks rows_;
};

}  // namespace epsim
