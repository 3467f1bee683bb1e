#include "sweep/evaluator.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "sweep/plan_evaluator.hpp"

namespace epsim {

std::vector<std::string> evaluator_names() { return {"plan", "simulate"}; }

Evaluator make_evaluator(std::string_view name) {
  if (name == "plan") return make_plan_evaluator();
  if (name == "simulate") {
    // TODO(simulate): once sim/ offers simulate(scenario inputs, options) -> result, add
    // sweep/simulate_evaluator.{hpp,cpp} with make_simulate_evaluator() (translate
    // SweepPoint::scenario, epsim.scenario/1, into its inputs; fill the MetricSource::simulate
    // metrics of metric_catalog(), and the plan metrics it also knows) and return it here.
    throw UsageError("evaluator \"simulate\" is not available yet (epsim simulate is not merged); use \"plan\"");
  }
  throw UsageError(fmt::format("unknown evaluator \"{}\": expected plan or simulate", name));
}

}  // namespace epsim
