#pragma once
// A sweep specification (schema "epsim.sweep/1", docs/sweep.md): a base scenario plus axes whose
// Cartesian product is the grid of points.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "sweep/axis_catalog.hpp"

namespace epsim {

/// One value of an axis: `value` is written at the axis' scenario pointer and each (pointer, value)
/// of `set` is written too (e.g. the loads file that goes with a phase). Paths are already resolved.
struct AxisValue {
  Json value;        ///< as written in the spec (shown in the CSV and in points/<i>.json)
  Json scenario_value;  ///< value written into the scenario (paths resolved against the spec)
  Json set;          ///< object: JSON pointer -> value (paths resolved); empty object when none
  std::string label; ///< CSV cell: strings as is, numbers in shortest round-trip form
};

struct SweepAxis {
  AxisInfo info;                    ///< what the axis writes (axis_catalog.hpp)
  std::string name;                 ///< its key in the spec (a pointer, an alias or a shorthand)
  std::vector<AxisValue> values;    ///< non-empty, distinct
};

struct SweepSpec {
  std::string file;        ///< spec path as given (for messages)
  std::string name;        ///< "name" of the spec, else the file stem
  std::string evaluator = "plan";
  Json base;               ///< base scenario with its paths resolved
  std::vector<SweepAxis> axes;  ///< only the axes present in the spec, in the scenario table's order of their fields

  /// Number of grid points = product of the axis sizes (1 when there are no axes).
  std::size_t num_points() const;
};

/// The schema id of a sweep spec.
inline constexpr const char* kSweepSchema = "epsim.sweep/2";

/// Largest grid accepted (points).
inline constexpr std::size_t kMaxSweepPoints = 1'000'000;

/// Parse a spec. `file` names it in errors; relative paths are resolved against `base_dir` (the
/// spec's folder) and made absolute. Throws InputError naming file + JSON pointer for: wrong/missing
/// schema (epsim.sweep/1 named as the old format), missing base, a base that is not a valid scenario
/// (scenario_from_json), a base file that cannot be read, missing/empty axes, an unknown axis, an
/// empty or duplicated value list, a value the axis' field rejects, a "set" key that is not a
/// scenario field's pointer or a value it rejects, a base that an axis value or its set makes
/// ill-typed, two axes of one field, a path that does not exist, an unknown evaluator, a grid over
/// kMaxSweepPoints. Rules between fields (e.g. ep x expert_tp = dp x tp) are checked per point:
/// the evaluators record a point that breaks one as skipped, with the reason.
SweepSpec sweep_spec_from_json(const Json& doc, const std::string& file, const std::filesystem::path& base_dir);
/// Read and parse a spec file.
SweepSpec load_sweep_spec(const std::filesystem::path& path);

/// Scenario fields that hold file paths (resolved against the file that wrote them, made absolute).
std::vector<std::string> scenario_path_pointers();

/// CSV label of a JSON scalar: strings as is, integers in decimal, other numbers in shortest
/// round-trip form, booleans true/false, null empty, objects/arrays as compact JSON.
std::string json_label(const Json& value);

}  // namespace epsim
