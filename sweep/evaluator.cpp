#include "sweep/evaluator.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "sweep/plan_evaluator.hpp"
#include "sweep/simulate_evaluator.hpp"

namespace epsim {

std::vector<std::string> evaluator_names() { return {"plan", "simulate"}; }

Evaluator make_evaluator(std::string_view name) {
  if (name == "plan") return make_plan_evaluator();
  if (name == "simulate") return make_simulate_evaluator();
  throw UsageError(fmt::format("unknown evaluator \"{}\": expected plan or simulate", name));
}

}  // namespace epsim
