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

}  // namespace epsim
