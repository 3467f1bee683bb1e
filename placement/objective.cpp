#include "common/names.hpp"
#include "placement/objective.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names = {"link", "gpu", "balanced"};
  return names;
}

ObjectiveKind parse_objective(std::string_view name) {
  try {
    return enum_from_name<ObjectiveKind>(name, objective_names(), "objective");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::string_view to_string(ObjectiveKind kind) { return name_of(kind, objective_names()); }

const std::vector<std::string>& robust_names() {
  static const std::vector<std::string> names = {"mean", "max"};
  return names;
}

RobustKind parse_robust(std::string_view name) {
  try {
    return enum_from_name<RobustKind>(name, robust_names(), "robust objective");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::string_view to_string(RobustKind kind) { return name_of(kind, robust_names()); }

LayerEvaluator::LayerEvaluator(const EpLinkModel& model, double dispatch_bytes_per_token, double combine_bytes_per_token,
                               ObjectiveKind kind, double token_lb, double link_lb_s)
    : model_(&model),
      dispatch_bytes_per_token_(dispatch_bytes_per_token),
      combine_bytes_per_token_(combine_bytes_per_token),
      dispatch_per_token_(model.wire_bytes(dispatch_bytes_per_token) / model.ep()),
      combine_per_token_(model.wire_bytes(combine_bytes_per_token) / model.ep()),
      kind_(kind),
      token_lb_(token_lb > 0 ? token_lb : 1.0),
      link_lb_s_(link_lb_s > 0 ? link_lb_s : 1.0),
      tokens_(static_cast<std::size_t>(model.ep()), 0.0),
      dispatch_bytes_(static_cast<std::size_t>(model.num_links()), 0.0),
      combine_bytes_(static_cast<std::size_t>(model.num_links()), 0.0),
      inv_dispatch_bw_(static_cast<std::size_t>(model.num_links())),
      inv_combine_bw_(static_cast<std::size_t>(model.num_links())) {
  for (int l = 0; l < model.num_links(); ++l) {
    inv_dispatch_bw_[static_cast<std::size_t>(l)] = 1.0 / model.bandwidth_Bps(l, Exchange::dispatch);
    inv_combine_bw_[static_cast<std::size_t>(l)] = 1.0 / model.bandwidth_Bps(l, Exchange::combine);
  }
}

void LayerEvaluator::reset(const std::vector<double>& gpu_tokens) {
  std::fill(dispatch_bytes_.begin(), dispatch_bytes_.end(), 0.0);
  std::fill(combine_bytes_.begin(), combine_bytes_.end(), 0.0);
  std::fill(tokens_.begin(), tokens_.end(), 0.0);
  for (int d = 0; d < model_->ep(); ++d) apply_delta(d, gpu_tokens[static_cast<std::size_t>(d)]);
}

void LayerEvaluator::apply_delta(int rank, double delta) {
  if (delta == 0.0) return;
  tokens_[static_cast<std::size_t>(rank)] += delta;
  const double dd = delta * dispatch_per_token_;
  for (const auto& [l, c] : model_->into(rank)) dispatch_bytes_[static_cast<std::size_t>(l)] += dd * c;
  const double dc = delta * combine_per_token_;
  for (const auto& [l, c] : model_->out_of(rank)) combine_bytes_[static_cast<std::size_t>(l)] += dc * c;
}

double LayerEvaluator::phase_times_s(double dispatch_link_s, double combine_link_s) const {
  // The kernel's closed form (comm/exchange_cost.hpp) of both directions, one after the other.
  if (model_->kernel().kind == ExchangeKernelKind::hierarchical)  // two phases: split by link kind
    return exchange_cost(*model_, dispatch_bytes_, tokens_, dispatch_bytes_per_token_, Exchange::dispatch).time_s() +
           exchange_cost(*model_, combine_bytes_, tokens_, combine_bytes_per_token_, Exchange::combine).time_s();
  double total = 0, most = 0;
  for (double t : tokens_) {
    total += t;
    most = std::max(most, t);
  }
  return exchange_time_s(*model_, dispatch_link_s, total, most, dispatch_bytes_per_token_, Exchange::dispatch) +
         exchange_time_s(*model_, combine_link_s, total, most, combine_bytes_per_token_, Exchange::combine);
}

double LayerEvaluator::link_time_s() const {
  double d = 0, c = 0;
  for (std::size_t l = 0; l < inv_dispatch_bw_.size(); ++l) {
    d = std::max(d, dispatch_bytes_[l] * inv_dispatch_bw_[l]);
    c = std::max(c, combine_bytes_[l] * inv_combine_bw_[l]);
  }
  return phase_times_s(d, c);
}

ObjectiveValue LayerEvaluator::value() const {
  double d = 0, c = 0, squares = 0;
  for (std::size_t l = 0; l < inv_dispatch_bw_.size(); ++l) {
    double td = dispatch_bytes_[l] * inv_dispatch_bw_[l];
    double tc = combine_bytes_[l] * inv_combine_bw_[l];
    d = std::max(d, td);
    c = std::max(c, tc);
    squares += td * td + tc * tc;
  }
  double link = phase_times_s(d, c);
  double tokens_max = *std::max_element(tokens_.begin(), tokens_.end());
  switch (kind_) {
    case ObjectiveKind::link: return {link, squares};
    case ObjectiveKind::gpu: {
      // Ties on the busiest rank are broken by the spread of all ranks' loads (sum of squares), which
      // gives the search a slope across the plateaus of equal maxima.
      double spread = 0;
      for (double t : tokens_) spread += t * t;
      return {tokens_max, spread};
    }
    case ObjectiveKind::balanced: return {std::max(link / link_lb_s_, tokens_max / token_lb_), squares};
  }
  return {link, squares};
}

}  // namespace epsim
