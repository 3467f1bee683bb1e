#pragma once
// The calibration a command reads with --calibration: loaded once, with the one-line warning when it
// was measured on another GPU than the topology's (comm/calibration.hpp calibration_gpu_warning); and
// the calibration a plan was made with, recorded in the plan file and used again by the commands that
// re-read the plan (evaluate, rebalance).
#include <optional>
#include <string>
#include <vector>

#include "comm/calibration.hpp"
#include "common/json_input.hpp"
#include "topology/topology.hpp"

namespace epsim::cli {

/// Empty path: none. Otherwise the file's calibration; when its GPU differs from the topology's first
/// GPU, the warning goes to `notices` (a command's notes, which its --json prints too) or, without
/// them, to stderr as "epsim: warning: ...". Throws InputError from the reader.
std::optional<Calibration> load_command_calibration(const std::string& path, const Topology& topology,
                                                    std::vector<std::string>* notices = nullptr);

/// The FNV-1a 64-bit hash of a file's bytes (offset basis 14695981039346656037, prime 1099511628211:
/// the published FNV constants), as 16 lower-case hex digits: how a plan file recognises the
/// calibration it was made with. Throws InputError naming the file when it cannot be read.
std::string file_fnv1a64(const std::string& path);

/// What `epsim plan --calibration F` records in the plan file's settings: {"file": F (as given),
/// "fnv1a64": file_fnv1a64(F)}.
Json plan_calibration_setting(const std::string& path);

/// The calibration a command re-reading plan file `plan_path` uses, and the path it came from:
///  - `flag_path` (--calibration) when not empty: that file (load_command_calibration);
///  - else the plan's settings.calibration.file when the plan records one: that file, relative paths to
///    the working directory as `epsim plan` took them. Missing or unreadable: InputError naming the plan
///    file and /settings/calibration/file (never the defaults in silence). Its bytes hash to another
///    fnv1a64 than the recorded one: the current contents are used and "epsim: warning: calibration F
///    changed since plan P was made ..." goes to stderr;
///  - else (no calibration, or a plan file older than the field): none, the kernel's defaults.
struct PlanCalibration {
  std::optional<Calibration> calibration;
  std::string file;  ///< the file used; empty when none
};
PlanCalibration plan_command_calibration(const std::string& flag_path, const std::string& plan_path,
                                         const std::string& recorded_file, const std::string& recorded_fnv1a64,
                                         const Topology& topology);

}  // namespace epsim::cli
