#pragma once
// The human table `epsim plan` prints: per group of layers and in total, baseline and chosen
// algorithm side by side.
#include <string>

#include "comm/link_load.hpp"
#include "placement/plan.hpp"

namespace epsim::cli {

/// Render the plan table; layers are grouped `group_size` at a time.
std::string format_plan_table(const Plan& plan, const EpLinkModel& links, int group_size = 8);

}  // namespace epsim::cli
