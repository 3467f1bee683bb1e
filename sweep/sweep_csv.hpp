#pragma once
// sweep.csv: one row per finished point, in index order. Columns, in this fixed order: index, the
// spec's axes (axis_catalog() order), status (ok / skipped), skipped_reason, then every metric of
// metric_catalog() (empty when the evaluator does not know it). RFC 4180 quoting; "\n" line ends.
#include <map>
#include <string>
#include <string_view>

#include "common/json_input.hpp"

namespace epsim {

/// Quote a CSV field when it holds a comma, quote, CR or LF (quotes doubled).
std::string csv_escape(std::string_view field);

/// The CSV of `records` (index -> point record, see results_store.hpp) for the sweep of `manifest`.
/// Byte-identical for identical records, whatever order or process produced them.
std::string sweep_csv(const Json& manifest, const std::map<std::size_t, Json>& records);

}  // namespace epsim
