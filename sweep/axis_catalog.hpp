#pragma once
// The axes a sweep may vary. An axis is named by a JSON pointer into the scenario (any field of the
// scenario's parameter table, sim/scenario/scenario_params.cpp), by the alias of such a field
// ("schedule" = /schedule, "nic_GBps" = /topology/nic_GBps), or by a shorthand that writes several
// fields ("ep", "layout"). The axes' order in the Cartesian product (first = outermost) and in the CSV
// columns is the order of their fields in the parameter table.
#include <string>
#include <utility>
#include <vector>

#include "common/json_input.hpp"
#include "common/param_table.hpp"

namespace epsim {

/// How an axis writes a value into a point's scenario.
enum class AxisKind {
  field,   ///< the value is written at `pointer` and checked against that field of the table
  ep,      ///< an EP size E: /parallel/dp = E and /parallel/ep = E (attention DP, one EP rank per GPU)
  layout,  ///< "ep" (the base's layout) or a TP x PP baseline "tp<T>xpp<P>": /parallel/tp = T,
           ///< /parallel/pp = P, /parallel/expert_tp = T, /parallel/dp = 1, /parallel/ep = 1
};

struct AxisInfo {
  std::string name;      ///< key under "axes" in the spec and CSV column name
  AxisKind kind = AxisKind::field;
  const ParamSpec* field = nullptr;  ///< the scenario field (kind field), else the field its order follows
  int order = 0;         ///< position in the product: the index of `field` in the table
  std::string help;      ///< one line
};

/// The axis a spec key names (a pointer such as "/parallel/ep", an alias such as "schedule", or a
/// shorthand "ep" / "layout"); false when the key names none.
bool find_axis(const std::string& key, AxisInfo& out);

/// Every axis with a name (aliases and shorthands), in product order: what docs/sweep.md lists.
std::vector<AxisInfo> named_axes();

/// Check one axis value (type, choices, range; layouts "ep" or "tp<T>xpp<P>"); throws InputError at `at`.
void check_axis_value(const AxisInfo& axis, const JsonCursor& at);

/// The (pointer, value) pairs an axis value writes into a point's scenario.
std::vector<std::pair<std::string, Json>> axis_writes(const AxisInfo& axis, const Json& value);

}  // namespace epsim
