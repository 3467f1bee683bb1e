#pragma once
// The human table `epsim plan` prints: per group of layers and in total, baseline and chosen
// algorithm side by side.
#include <string>
#include <string_view>

#include "comm/link_load.hpp"
#include "comm/trace_traffic.hpp"
#include "placement/holdout.hpp"
#include "placement/plan.hpp"

namespace epsim::cli {

/// Render the plan table; layers are grouped `group_size` at a time. `command` names the command that
/// prints it in the header line ("epsim plan: EP ...", "epsim evaluate: EP ...").
std::string format_plan_table(const Plan& plan, const EpLinkModel& links, int group_size = 8,
                              std::string_view command = "plan");

/// Trace-driven dispatch of one algorithm's placements (layers absent from the trace are skipped).
TraceEvaluation evaluate_trace(const RouteTable& routes, const AlgorithmResult& result, const Trace& trace,
                               double bytes_per_token, TokenDelivery delivery, const std::string& delivery_name,
                               int max_nodes);

/// The per-window lines of a plan over several windows (without holdout figures: the windows only).
std::string format_windows_table(const Plan& plan, const std::vector<WindowFigures>& holdout);

}  // namespace epsim::cli
