#pragma once
// A serving run as a sequence of load windows with periodic rebalancing (`epsim rebalance`): every
// K windows the placement is re-planned on the loads counted since the last rebalance, re-labelled
// to copy few expert weights (migration.hpp), and the copies cross the real links, blocking the
// service or overlapped with the next window. Reports, per window, the serving time with the
// initial placement kept (static) and with rebalancing, and per rebalance what moved.
#include <functional>
#include <string>
#include <vector>

#include "placement/plan.hpp"
#include "placement/rebalance/migration.hpp"

namespace epsim {

/// Settings of a rebalancing run.
struct RebalanceSettings {
  int every = 0;                  ///< K: rebalance at the end of windows K, 2K, ...; 0 = never
  bool overlapped = false;        ///< copies share the links with the next window's serving
  int iterations_per_window = 1;  ///< iterations served in every window (> 0)
  /// How a rebalance re-plans: warm = `epsim`'s local search started from the current placement
  /// (only improving moves, so few copies); fresh = a new plan (plan_settings.algorithm), re-labelled
  /// by match_placement.
  bool warm = true;
};

/// Cost of one iteration under given placements ([model layer]) and loads.
struct IterationCost {
  double time_s = 0;
  std::vector<double> link_bytes;  ///< bytes per topology link in one iteration (for overlapped copies)
};
using IterationCostFn = std::function<IterationCost(const std::vector<LayerPlacement>&, const ExpertLoads&)>;

/// Rebalances in a run of `windows` windows: floor(windows / every) (0 when every = 0 or every >
/// windows). Throws UsageError when windows < 0 or every < 0.
int rebalance_count(int windows, int every);

/// One rebalance, at the end of window `after_window` (1-based).
struct RebalanceEvent {
  int after_window = 0;
  int moved_replicas = 0;
  double moved_bytes = 0;
  double migration_s = 0;  ///< the copies alone on the links (closed form)
  double exposed_s = 0;    ///< serving time it adds (blocking: migration_s; overlapped: what the
                           ///< next window's idle link time cannot absorb; after the last window: migration_s)
  std::string busiest_link;
};

/// One window: iterations_per_window iterations of its loads.
struct WindowResult {
  int window = 0;  ///< 1-based
  std::string loads;
  double static_iteration_s = 0;      ///< initial placement kept
  double rebalanced_iteration_s = 0;  ///< placement of the last rebalance
  double static_window_s = 0;         ///< iterations x static_iteration_s
  double rebalanced_window_s = 0;     ///< iterations x rebalanced_iteration_s + exposed migration before it
  double tokens = 0;                  ///< tokens served in the window (iterations x EP x tokens per GPU)
};

struct RebalanceReport {
  std::vector<WindowResult> windows;
  std::vector<RebalanceEvent> events;
  double static_total_s = 0;
  double rebalanced_total_s = 0;  ///< windows plus every exposed migration (also after the last window)
  double moved_bytes = 0;
};

/// Serve `windows` (>= 1) in order; `initial` ([model layer], e.g. planned on the first window) is
/// the placement of window 1 and of the whole static run. At the end of window t = K, 2K, ...
/// (t <= windows): the per-expert counts of windows t-K+1..t are summed (what a deployment's
/// counter accumulates) and every layer is re-planned on them: warm, `epsim`'s local search from the
/// current placement; fresh, make_plan(plan_settings) re-labelled by match_placement (accepted when
/// the layer's objective on those loads does not get worse). plan_migration prices the copies (bytes per replica = expert weights at
/// plan_settings.weight_bytes_per_element). cost(placements, loads) gives an iteration's time.
RebalanceReport run_rebalancing(const EpLinkModel& links, const RouteTable& routes, const MoeModel& model,
                                const std::vector<const ExpertLoads*>& windows, const PlanSettings& plan_settings,
                                const RebalanceSettings& settings, const std::vector<LayerPlacement>& initial,
                                const IterationCostFn& cost);

/// The planner's closed-form iteration cost: the sum over MoE layers of the dispatch and combine
/// all-to-all times (busiest link + latency, comm/link_load.hpp) with loads scaled as make_plan does
/// (plan.settings.tokens_per_gpu), and their link bytes. Expert compute and attention are not in it.
IterationCost closed_form_iteration_cost(const EpLinkModel& links, const MoeModel& model, const Plan& plan,
                                         const std::vector<LayerPlacement>& placements, const ExpertLoads& loads);

}  // namespace epsim
