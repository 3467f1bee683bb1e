#pragma once
// Outputs of `epsim simulate`: report JSON (schema "epsim.report/1"), Chrome trace JSON (opens in
// Perfetto / chrome://tracing) and a human table. Deterministic: identical results give identical text.
#include <string>

#include "common/json_input.hpp"
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

}  // namespace epsim
