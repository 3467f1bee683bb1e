#pragma once
// Per-token routing: each token's top-k experts sampled with the model's router rule, and the
// de-duplication it implies for an exchange (ExchangeRouting, comm/link_load.hpp).
//
// Sampling: expert e gets the score log(w_e) + Gumbel noise (so the top-k set is drawn without
// replacement with probabilities proportional to the weights w, the Plackett-Luce model; uniform
// weights when no loads are given). DeepSeek's group-limited rule (n_group > 1): experts are split into
// n_group contiguous groups, a group scores the sum of its two best expert scores (DeepSeek-V3
// modeling code, `topk(2).sum`), the topk_group best groups are kept and the top-k experts are chosen
// among them; plain top-k otherwise. Cost per token O(E + n_group log n_group). Deterministic for a seed.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "comm/link_load.hpp"
#include "model/layer_placement.hpp"
#include "model/moe_model.hpp"

namespace epsim {

/// How a group scores in group-limited routing.
enum class GroupScore {
  top2_sum,  ///< DeepSeek-V3: sum of the two best expert scores of the group
  max,       ///< DeepEP's tests (test_internode.py): the best expert score of the group
};

class TokenRouter {
 public:
  /// weights: per-expert load (size experts; empty = uniform; zeros are never chosen unless every
  /// weight is zero). Throws std::invalid_argument when top_k is out of [1, experts], experts is not a
  /// multiple of n_group, topk_group is out of [1, n_group], topk_group x experts / n_group < top_k, or
  /// a weight is negative or non-finite.
  TokenRouter(int experts, int top_k, int n_group, int topk_group, std::span<const double> weights = {},
              GroupScore group_score = GroupScore::top2_sum);
  /// Write the top-k experts of one token to `out` (size top_k, distinct).
  void route(std::mt19937_64& rng, std::vector<int>& out);
  /// The same experts as route() for the same generator state (same draws), in another order
  /// (ascending key): a single pass keeping the k best instead of route()'s nth_element, for callers
  /// that use the set only.
  void route_set(std::mt19937_64& rng, std::vector<int>& out);
  int top_k() const { return top_k_; }

 private:
  /// Draw every expert's key into score_ and choose the allowed groups (allowed_; empty = all experts).
  void draw(std::mt19937_64& rng);
  int experts_, top_k_, n_group_, topk_group_;
  std::vector<int> allowed_;
  GroupScore group_score_;
  std::vector<double> inv_w_;  ///< 1 / weight (0: never chosen)
  std::vector<double> score_;
  std::vector<std::pair<double, int>> groups_, candidates_;
};

/// De-duplication of `tokens` sampled tokens on a placement, GPU g on node g / gpus_per_node: copies
/// per selection to distinct GPUs and to distinct nodes (own node counted). The replica of an expert
/// is chosen per token uniformly, or, with slot_tokens (size placement.slot_expert.size(): tokens each
/// slot computes, e.g. placement/replica_choice.hpp's lp split), with probability proportional to its
/// slot's tokens (uniformly among the expert's replicas when all of them are 0). Deterministic for the
/// seed. Throws std::invalid_argument when slot_tokens has another size or a negative or non-finite entry.
ExchangeRouting routing_statistics(TokenRouter& router, const LayerPlacement& placement, int gpus_per_node,
                                   int tokens, std::uint64_t seed, std::span<const double> slot_tokens = {});

/// The same for experts laid out contiguously (expert e on rank e x ep / experts) under uniform scores:
/// what the planner assumes before it has a placement.
ExchangeRouting uniform_routing_statistics(int experts, int top_k, int n_group, int topk_group, int ep,
                                           int gpus_per_node, int tokens = 4096, std::uint64_t seed = 1,
                                           GroupScore group_score = GroupScore::top2_sum);

/// The EP group model the planner uses for `model` on ranks 0..ep-1 of the topology: the kernel's
/// rows with the model's uniform-routing de-duplication (uniform_routing_statistics).
EpLinkModel planner_link_model(const Topology& topology, const RouteTable& routes, int ep, const MoeModel& model,
                               ExchangeKernelParams kernel = default_kernel_params(ExchangeKernelKind::deepep_normal));

}  // namespace epsim
