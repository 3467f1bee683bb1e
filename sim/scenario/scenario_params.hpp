#pragma once
// The scenario format's parameter table (schema "epsim.scenario/1"): every field, declared once with
// its pointer, type, unit, default, meaning and range. scenario_from_json validates against it and
// takes its defaults from it; `epsim schema scenario`, docs/formats.md's scenario table, the sweep's
// axes and `epsim simulate`'s overrides all come from it.
#include "common/param_table.hpp"

namespace epsim {

/// The fields of a scenario, parents before children, in the order docs list them.
ParamTable scenario_params();

}  // namespace epsim
