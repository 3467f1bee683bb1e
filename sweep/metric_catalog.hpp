#pragma once
// The metrics a sweep reports, declared once: name (CSV column), unit, which evaluator fills it and
// what it means. Their order is the CSV column order; a metric an evaluator does not know is an
// empty cell (never a made-up number).
#include <span>
#include <string_view>

namespace epsim {

/// Which evaluator fills a metric (both: each with its own model, see the help text).
enum class MetricSource { plan, simulate, both };

struct MetricInfo {
  std::string_view name;
  std::string_view unit;  ///< "" for dimensionless or text
  MetricSource source;
  std::string_view help;
};

/// All metrics in CSV order. Static, immutable data.
std::span<const MetricInfo> metric_catalog();

}  // namespace epsim
