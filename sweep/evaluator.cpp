#include "sweep/evaluator.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/names.hpp"
#include "sweep/plan_evaluator.hpp"
#include "sweep/simulate_evaluator.hpp"

namespace epsim {

const std::vector<std::string>& evaluator_names() {
  static const std::vector<std::string> names = {"plan", "simulate"};
  return names;
}

std::string point_scenario_label(const SweepPoint& point) {
  return point.spec_file.empty() ? fmt::format("scenario of sweep point {}", point.index)
                                 : fmt::format("{}, scenario of sweep point {}", point.spec_file, point.index);
}

Evaluator make_evaluator(std::string_view name) {
  if (name == "plan") return make_plan_evaluator();
  if (name == "simulate") return make_simulate_evaluator();
  throw UsageError(fmt::format("unknown evaluator \"{}\": expected {}", name, names_text(evaluator_names())));
}

}  // namespace epsim
