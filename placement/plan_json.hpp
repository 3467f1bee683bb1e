#pragma once
// plan.json, schema "epsim.plan/1" (docs/formats.md).
#include <string>

#include "common/json_input.hpp"
#include "placement/holdout.hpp"
#include "placement/plan.hpp"

namespace epsim {

inline constexpr const char* kPlanSchema = "epsim.plan/1";

/// File names recorded in plan.json for provenance.
struct PlanInputs {
  std::string topology;
  std::string loads;
  std::string model;
};

/// Serialize a plan: settings, EP rank -> GPU id, per layer the slots, each expert's ranks, tokens
/// per rank, busiest link and dispatch/combine times (chosen algorithm), and a summary of both the
/// chosen algorithm and the baseline. Deterministic: identical plans give identical text.
Json plan_to_json(const Plan& plan, const EpLinkModel& links, const PlanInputs& inputs);

/// The per-window figures of a plan over several windows (holdout.hpp): {"robust": "mean"|"max",
/// "windows": [{"loads", "in_sample_link_us", "held_out_link_us", "own_plan_link_us",
/// "link_lower_bound_us", "in_sample_over_own", "held_out_over_own"}]}.
Json holdout_json(const std::vector<WindowFigures>& windows, const PlanSettings& settings);

/// Summary object of one algorithm (also what `epsim plan --json` prints).
Json algorithm_summary_json(const AlgorithmResult& result, const EpLinkModel& links);

}  // namespace epsim
