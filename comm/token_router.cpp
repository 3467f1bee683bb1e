#include "comm/token_router.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

namespace epsim {

TokenRouter::TokenRouter(int experts, int top_k, int n_group, int topk_group, std::span<const double> weights,
                         GroupScore group_score)
    : experts_(experts), top_k_(top_k), n_group_(std::max(1, n_group)), topk_group_(std::max(1, topk_group)),
      group_score_(group_score) {
  if (experts < 1 || top_k < 1 || top_k > experts) throw std::invalid_argument("TokenRouter: top_k out of [1, experts]");
  if (experts % n_group_ != 0) throw std::invalid_argument("TokenRouter: experts not a multiple of n_group");
  if (topk_group_ > n_group_) throw std::invalid_argument("TokenRouter: topk_group > n_group");
  if (n_group_ > 1 && topk_group_ * (experts / n_group_) < top_k)
    throw std::invalid_argument("TokenRouter: the allowed groups hold fewer than top_k experts");
  if (!weights.empty() && static_cast<int>(weights.size()) != experts)
    throw std::invalid_argument("TokenRouter: weights must have one entry per expert");
  inv_w_.assign(static_cast<std::size_t>(experts), 1.0);
  bool any = false;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) throw std::invalid_argument("TokenRouter: negative or non-finite weight");
    any = any || w > 0;
  }
  if (any)
    for (int e = 0; e < experts; ++e) {
      const double w = weights[static_cast<std::size_t>(e)];
      inv_w_[static_cast<std::size_t>(e)] = w > 0 ? 1.0 / w : 0.0;
    }
  score_.resize(static_cast<std::size_t>(experts));
}

void TokenRouter::draw(std::mt19937_64& rng) {
  // key_e = E_e / w_e with E_e ~ Exp(1): the k smallest keys are a Plackett-Luce draw of k experts
  // with probabilities proportional to w (Efraimidis-Spirakis); the score log(w_e) - log(E_e) of the
  // file comment is -log(key_e), computed only where group scores need it. One log per expert.
  constexpr double kInvTwo64 = 1.0 / 18446744073709551616.0;
  for (int e = 0; e < experts_; ++e) {
    const double u = (static_cast<double>(rng() >> 11) + 0.5) * (kInvTwo64 * 2048.0);  // (0, 1)
    const double w = inv_w_[static_cast<std::size_t>(e)];
    score_[static_cast<std::size_t>(e)] = w > 0 ? -std::log(u) * w : std::numeric_limits<double>::infinity();
  }
  allowed_.clear();
  if (n_group_ > 1 && topk_group_ < n_group_) {
    const int per = experts_ / n_group_;
    groups_.clear();
    for (int g = 0; g < n_group_; ++g) {
      double a = std::numeric_limits<double>::infinity(), b = a;  // two smallest keys
      for (int e = g * per; e < (g + 1) * per; ++e) {
        const double k = score_[static_cast<std::size_t>(e)];
        if (k < a) {
          b = a;
          a = k;
        } else if (k < b) {
          b = k;
        }
      }
      const double sa = -std::log(a), sb = -std::log(b);
      groups_.emplace_back(group_score_ == GroupScore::max || per < 2 ? sa : sa + sb, g);
    }
    std::partial_sort(groups_.begin(), groups_.begin() + topk_group_, groups_.end(), std::greater<>());
    for (int k = 0; k < topk_group_; ++k) allowed_.push_back(groups_[static_cast<std::size_t>(k)].second);
  }
}

void TokenRouter::route(std::mt19937_64& rng, std::vector<int>& out) {
  draw(rng);
  candidates_.clear();
  if (!allowed_.empty()) {
    const int per = experts_ / n_group_;
    for (int g : allowed_)
      for (int e = g * per; e < (g + 1) * per; ++e) candidates_.emplace_back(score_[static_cast<std::size_t>(e)], e);
  } else {
    for (int e = 0; e < experts_; ++e) candidates_.emplace_back(score_[static_cast<std::size_t>(e)], e);
  }
  std::nth_element(candidates_.begin(), candidates_.begin() + (top_k_ - 1), candidates_.end());
  out.assign(static_cast<std::size_t>(top_k_), 0);
  for (int k = 0; k < top_k_; ++k) out[static_cast<std::size_t>(k)] = candidates_[static_cast<std::size_t>(k)].second;
}

void TokenRouter::route_set(std::mt19937_64& rng, std::vector<int>& out) {
  draw(rng);
  // The k smallest (key, expert) pairs, the order nth_element uses, kept sorted in candidates_.
  candidates_.clear();
  const auto k = static_cast<std::size_t>(top_k_);
  auto offer = [&](int e) {
    const std::pair<double, int> c{score_[static_cast<std::size_t>(e)], e};
    if (candidates_.size() == k && !(c < candidates_.back())) return;
    if (candidates_.size() == k) candidates_.pop_back();
    candidates_.insert(std::upper_bound(candidates_.begin(), candidates_.end(), c), c);
  };
  if (!allowed_.empty()) {
    const int per = experts_ / n_group_;
    for (int g : allowed_)
      for (int e = g * per; e < (g + 1) * per; ++e) offer(e);
  } else {
    for (int e = 0; e < experts_; ++e) offer(e);
  }
  out.resize(k);
  for (std::size_t i = 0; i < k; ++i) out[i] = candidates_[i].second;
}

ExchangeRouting routing_statistics(TokenRouter& router, const LayerPlacement& placement, int gpus_per_node, int tokens,
                                   std::uint64_t seed, std::span<const double> slot_tokens) {
  if (tokens < 1 || gpus_per_node < 1) throw std::invalid_argument("routing_statistics: tokens and gpus_per_node >= 1");
  if (!slot_tokens.empty() && slot_tokens.size() != placement.slot_expert.size())
    throw std::invalid_argument("routing_statistics: one token count per slot");
  for (double t : slot_tokens)
    if (!(t >= 0) || !std::isfinite(t)) throw std::invalid_argument("routing_statistics: negative or non-finite slot tokens");
  // Replicas of every expert (GPU ranks).
  int experts = 0;
  for (int e : placement.slot_expert) experts = std::max(experts, e + 1);
  std::vector<std::vector<int>> gpus_of(static_cast<std::size_t>(experts));
  // With slot_tokens: per expert, the cumulative shares of its replicas (empty: uniform choice).
  std::vector<std::vector<double>> cumulative(static_cast<std::size_t>(experts));
  for (std::size_t p = 0; p < placement.slot_expert.size(); ++p)
    if (placement.slot_expert[p] >= 0) {
      const auto e = static_cast<std::size_t>(placement.slot_expert[p]);
      gpus_of[e].push_back(placement.gpu_of_slot(static_cast<int>(p)));
      if (!slot_tokens.empty()) cumulative[e].push_back((cumulative[e].empty() ? 0.0 : cumulative[e].back()) + slot_tokens[p]);
    }
  for (auto& c : cumulative)
    if (!c.empty() && !(c.back() > 0)) c.clear();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // With at most one replica per expert no replica is drawn, so the order of a token's experts does
  // not matter and the cheaper route_set gives the same statistics.
  bool replicated = false;
  for (const auto& r : gpus_of) replicated = replicated || r.size() > 1;
  std::mt19937_64 rng(seed);
  std::vector<int> chosen;
  // Stamps instead of sorting: a GPU / node counts once per token (token index + 1 marks it seen).
  std::vector<int> gpu_seen(static_cast<std::size_t>(std::max(1, placement.num_gpus)), 0);
  std::vector<int> node_seen(static_cast<std::size_t>(std::max(1, placement.num_gpus / gpus_per_node + 1)), 0);
  double gpu_copies = 0, node_copies = 0, selections = 0;
  for (int t = 0; t < tokens; ++t) {
    if (replicated) router.route(rng, chosen);
    else router.route_set(rng, chosen);
    for (int e : chosen) {
      const auto& r = gpus_of[static_cast<std::size_t>(e)];
      if (r.empty()) continue;
      int g = r[0];
      if (r.size() > 1) {
        const auto& c = cumulative[static_cast<std::size_t>(e)];
        if (c.empty()) {
          g = r[static_cast<std::size_t>(rng() % r.size())];
        } else {
          const double u = unit(rng) * c.back();
          const auto i = static_cast<std::size_t>(std::upper_bound(c.begin(), c.end(), u) - c.begin());
          g = r[std::min(i, r.size() - 1)];
        }
      }
      selections += 1;
      if (gpu_seen[static_cast<std::size_t>(g)] != t + 1) {
        gpu_seen[static_cast<std::size_t>(g)] = t + 1;
        gpu_copies += 1;
      }
      const auto n = static_cast<std::size_t>(g / gpus_per_node);
      if (node_seen[n] != t + 1) {
        node_seen[n] = t + 1;
        node_copies += 1;
      }
    }
  }
  ExchangeRouting r;
  r.experts = experts;
  r.top_k = router.top_k();
  r.expert_slots = static_cast<int>(
      std::count_if(placement.slot_expert.begin(), placement.slot_expert.end(), [](int e) { return e >= 0; }));
  if (selections > 0) {
    r.gpu_factor = gpu_copies / selections;
    r.node_factor = node_copies / selections;
  }
  return r;
}

ExchangeRouting uniform_routing_statistics(int experts, int top_k, int n_group, int topk_group, int ep,
                                           int gpus_per_node, int tokens, std::uint64_t seed, GroupScore group_score) {
  const LayerPlacement pl = contiguous_placement(experts, ep, (experts + ep - 1) / ep);
  TokenRouter router(experts, top_k, n_group, topk_group, {}, group_score);
  return routing_statistics(router, pl, gpus_per_node, tokens, seed);
}

EpLinkModel planner_link_model(const Topology& topology, const RouteTable& routes, int ep, const MoeModel& model,
                               ExchangeKernelParams kernel) {
  return EpLinkModel(topology, routes, ep, std::move(kernel),
                     uniform_routing_statistics(model.num_experts, model.top_k, model.n_group, model.topk_group, ep,
                                                ep_gpus_per_node(topology, ep)));
}

}  // namespace epsim
