#pragma once
// The axes a sweep may vary, declared once: name, the scenario field (JSON pointer) a value is
// written to, the kind of value, and the help text shown in docs/sweep.md. Their order here is the
// order of the Cartesian product (first = outermost, last = fastest-varying) and of the CSV columns.
#include <span>
#include <string_view>

namespace epsim {

/// What an axis value must be.
enum class AxisKind {
  path,          ///< a file path (relative to the spec), must exist
  phase,         ///< "prefill", "decode" or "train"
  fabric,        ///< "rail_optimized" or "fat_tree"
  layout,        ///< "ep" or a TP x PP baseline "tp<T>xpp<P>" (e.g. "tp8xpp2")
  algorithm,     ///< a placement algorithm name (placement_algorithm_names())
  text,          ///< any non-empty string (e.g. a schedule name; the simulator validates it)
  count,         ///< an integer >= 1
  count0,        ///< an integer >= 0
  non_negative,  ///< a number >= 0
  positive,      ///< a number > 0
  at_least_one,  ///< a number >= 1 (oversubscription ratio)
};

struct AxisInfo {
  std::string_view name;     ///< key under "axes" in the spec and CSV column name
  std::string_view pointer;  ///< scenario field written (epsim.scenario/1)
  AxisKind kind;
  std::string_view help;
};

/// All axes in product order. Static, immutable data.
std::span<const AxisInfo> axis_catalog();
/// The catalog entry of `name`, or nullptr.
const AxisInfo* find_axis(std::string_view name);

}  // namespace epsim
