#pragma once
// The evaluator hook: what the sweep runner calls for every grid point. An evaluator is a named,
// thread-safe function from a point (axis values + the scenario with them applied) to metrics.
//
// Evaluators: "plan" (the placement planner's closed-form all-to-all model, make_plan_evaluator) and
// "simulate" (one iteration replayed by the simulator, make_simulate_evaluator). The runner, CSV,
// plots, resume, shards and merge do not depend on which.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_input.hpp"

namespace epsim {

/// One grid point: the resolved axis values (name -> JSON value) and the base scenario with them
/// applied (paths absolute). index is the point's position in the grid (stable, see grid.hpp).
struct SweepPoint {
  std::size_t index = 0;
  Json axes;
  Json scenario;
  std::string spec_file;  ///< the sweep spec, for messages (may be empty)
};

/// Name of a point's scenario in error messages: "<spec>, scenario of sweep point <index>" (the spec's
/// /base with the point's axis values and "set" objects applied).
std::string point_scenario_label(const SweepPoint& point);

/// Metrics of one point (name -> number/string; names from metric_catalog(), absent = unknown), or a
/// skip reason (non-empty: the point is an invalid combination; metrics are then ignored).
struct PointResult {
  Json metrics = Json::object();
  std::string skipped_reason;
};

/// Must be thread-safe: the runner calls it from several threads at once. Throws InputError for
/// inputs that are wrong for every point (e.g. an unreadable model file): the sweep stops.
using PointEvaluator = std::function<PointResult(const SweepPoint&)>;

/// A named evaluator. `check` (optional, thread-safe) reads a point's scenario the way `evaluate`
/// does without evaluating it, throwing the same InputError for a malformed one; the runner calls it
/// before it creates the results folder.
struct Evaluator {
  std::string name;
  PointEvaluator evaluate;
  std::function<void(const SweepPoint&)> check = nullptr;
};

/// Names accepted by make_evaluator.
const std::vector<std::string>& evaluator_names();

/// Select an evaluator by name: "plan" or "simulate". Throws UsageError on an unknown name.
Evaluator make_evaluator(std::string_view name);

}  // namespace epsim
