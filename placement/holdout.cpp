#include "placement/holdout.hpp"

namespace epsim {

double sum_link_s(const AlgorithmResult& result) {
  double s = 0;
  for (const LayerResult& l : result.layers) s += l.link_s();
  return s;
}

std::vector<WindowFigures> holdout_figures(const EpLinkModel& links, const MoeModel& model,
                                           const std::vector<const ExpertLoads*>& windows,
                                           const PlanSettings& settings, const Plan& plan) {
  PlanSettings s = settings;
  s.baseline = s.algorithm;  // the baseline of the extra plans is not reported: do not plan it twice
  const auto placed = placements_by_layer(plan.chosen, model);
  std::vector<WindowFigures> out;
  for (std::size_t w = 0; w < windows.size(); ++w) {
    WindowFigures f;
    f.source = windows[w]->source;
    AlgorithmResult in = evaluate_placements(links, model, *windows[w], plan, placed, "in-sample", true);
    f.in_sample_s = sum_link_s(in);
    f.bound_s = in.sum_link_lb_s;
    std::vector<const ExpertLoads*> others;
    for (std::size_t v = 0; v < windows.size(); ++v)
      if (v != w) others.push_back(windows[v]);
    Plan without = make_plan(links, model, others, s);
    f.holdout_s = sum_link_s(evaluate_placements(links, model, *windows[w], plan,
                                                 placements_by_layer(without.chosen, model), "held-out", false));
    Plan own = make_plan(links, model, *windows[w], s);
    f.own_s = sum_link_s(own.chosen);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace epsim
