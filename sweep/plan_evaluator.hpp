#pragma once
// The "plan" evaluator: each point is planned with make_plan and reported with the closed-form
// all-to-all model (busiest link bytes / bandwidth + latency). Simulate-only metrics stay empty.
#include <cstddef>
#include <memory>

#include "sweep/evaluator.hpp"

namespace epsim {

/// Counters of the evaluator's shared input cache (for tests and the progress summary).
struct PlanEvaluatorStats {
  std::size_t models_parsed = 0;
  std::size_t loads_parsed = 0;
  std::size_t topologies_built = 0;  ///< topology + route table
  std::size_t link_models_built = 0; ///< per (topology, EP)
};

/// A planner-based evaluator. Scenario fields read (docs/sweep.md): model, loads, tokens_per_gpu,
/// dispatch/combine_bytes_per_element, parallel {layout, ep, redundant}, placement {algorithm,
/// objective, seed}, topology {...} (scenario_topology.hpp). phase, schedule and batch_per_gpu are
/// simulator inputs and do not change the plan.
/// Skips (reason in the CSV): a TP x PP layout (no all-to-all to plan), EP larger than the
/// topology's GPUs, experts + redundant slots that do not divide over EP, loads that do not match
/// the model. Throws InputError for a scenario field of the wrong type or an unreadable file.
/// Models, loads, topologies, routes and EP link models are built once per distinct input and
/// shared between points and threads (OnceCache). Thread-safe.
class PlanEvaluator {
 public:
  PlanEvaluator();
  PointResult operator()(const SweepPoint& point) const;
  PlanEvaluatorStats stats() const;

 private:
  struct Caches;
  std::shared_ptr<Caches> caches_;
};

/// The evaluator "plan" (a PlanEvaluator behind the PointEvaluator hook).
Evaluator make_plan_evaluator();

}  // namespace epsim
