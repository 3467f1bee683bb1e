#pragma once
// JSON outputs never hold inf or NaN: nlohmann::json writes them as null, which a reader takes for a
// missing value, a silently wrong answer. Every JSON document epsim writes goes through json_output_text.
#include <string>

#include "common/json_input.hpp"

namespace epsim {

/// doc.dump(indent) + "\n", after checking that no number in `doc` is inf or NaN. Throws
/// std::logic_error (an internal error: exit 3) naming `what` and the JSON pointer of the first one:
/// inputs are checked so that no finite input can give one, so this is a bug, never bad input.
std::string json_output_text(const Json& doc, int indent, const std::string& what);

/// v rounded to `digits` significant decimal digits (1..17), so that a written file does not show the
/// last bits of floating-point arithmetic; 0, inf and NaN are returned unchanged. Example:
/// round_significant(1.23456, 3) == 1.23.
double round_significant(double v, int digits);

/// v rounded to `decimals` places after the decimal point (0..15): round(v 10^d) / 10^d.
double round_decimals(double v, int decimals);

}  // namespace epsim
