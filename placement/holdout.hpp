#pragma once
// In-sample and out-of-sample figures of a plan made on several load windows (plan --loads A
// --loads B ...): how the plan does on each window it was made on, how a plan made without that
// window does on it (leave-one-window-out), and how a plan made on that window alone does on it.
#include <string>
#include <vector>

#include "placement/plan.hpp"

namespace epsim {

/// Figures of one window; times are sums over the MoE layers of the dispatch + combine
/// bottleneck-link time (LayerResult::link_s), seconds.
struct WindowFigures {
  std::string source;     ///< the window's loads file
  double in_sample_s = 0; ///< the plan (made on every window) evaluated on this window
  double holdout_s = 0;   ///< a plan made on every other window (same settings), evaluated on this one
  double own_s = 0;       ///< a plan made on this window alone (same algorithm), evaluated on it
  double bound_s = 0;     ///< sum of this window's certified link bounds
};

/// For every window w of `windows` (>= 2): evaluate `plan` (make_plan over all windows with
/// `settings`) on w, plan on the other windows and evaluate on w, plan on w alone and evaluate on w.
/// Costs 2 x windows further plans. Throws as make_plan.
std::vector<WindowFigures> holdout_figures(const EpLinkModel& links, const MoeModel& model,
                                           const std::vector<const ExpertLoads*>& windows,
                                           const PlanSettings& settings, const Plan& plan);

/// Sum over layers of link_s and of the link bound.
double sum_link_s(const AlgorithmResult& result);

}  // namespace epsim
