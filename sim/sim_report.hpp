#pragma once
// Outputs of `epsim simulate`: report JSON (schema "epsim.report/1"), Chrome trace JSON (opens in
// Perfetto / chrome://tracing) and a human table. Deterministic: identical results give identical text.
#include <string>

#include "common/json_input.hpp"
#include "sim/disaggregation.hpp"
#include "sim/simulate.hpp"

namespace epsim {

inline constexpr const char* kReportSchema = "epsim.report/1";

/// The report document (fields in docs/formats.md). Times in us or ms as the key names say.
Json report_to_json(const SimulationResult& result);

/// Chrome trace: {"traceEvents": [...], "displayTimeUnit": "ns"}: one "X" event per stream interval
/// of the traced GPUs with ts/dur in us, pid = GPU rank, tid 0 = compute stream, 1 = communication
/// stream, plus "M" metadata events naming processes and threads.
Json trace_to_json(const SimulationResult& result);

/// The stdout table: throughput, latency, per-layer breakdown, GPU idle time, busiest link and GPU,
/// the critical path summarized per op kind.
std::string format_report_table(const SimulationResult& result);

/// A disaggregated pair: the prefill pool's report with a "disaggregation" member holding the pair's
/// figures (docs/formats.md) and the decode pool's whole report under "decode".
Json report_to_json(const DisaggregatedResult& result);

/// The stdout table of a pair: the prefill pool's table, the decode pool's, then the pair.
std::string format_report_table(const DisaggregatedResult& result);

}  // namespace epsim
