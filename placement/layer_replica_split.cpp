#include "placement/layer_replica_split.hpp"

#include "comm/token_router.hpp"

namespace epsim {

LayerReplicaSplitter::LayerReplicaSplitter(ReplicaChoice choice, const RouteTable& routes, int ep, const MoeModel& model,
                                           const ExchangeKernelParams& kernel, double dispatch_bytes_per_token,
                                           double combine_bytes_per_token)
    : choice_(choice) {
  if (choice != ReplicaChoice::lp || ep <= 1) return;
  links_ = std::make_unique<const EpLinkModel>(planner_link_model(routes.topology(), routes, ep, model, kernel));
  rows_ = ReplicaSplitLinks{links_.get(), dispatch_bytes_per_token, combine_bytes_per_token};
}

ReplicaSplit LayerReplicaSplitter::split(const LayerPlacement& placement, const std::vector<double>& load) const {
  return split_replicas(placement, load, choice_, links_ ? &rows_ : nullptr);
}

std::vector<double> LayerReplicaSplitter::replica_draw_weights(const ReplicaSplit& split) const {
  return choice_ == ReplicaChoice::lp ? split.slot_tokens : std::vector<double>{};
}

}  // namespace epsim
