#pragma once
// The calibration a command reads with --calibration: loaded once, with the one-line warning when it
// was measured on another GPU than the topology's (comm/calibration.hpp calibration_gpu_warning).
#include <optional>
#include <string>

#include "comm/calibration.hpp"
#include "topology/topology.hpp"

namespace epsim::cli {

/// Empty path: none. Otherwise the file's calibration; prints "epsim: warning: ..." to stderr when its
/// GPU differs from the topology's first GPU. Throws InputError from the reader.
std::optional<Calibration> load_command_calibration(const std::string& path, const Topology& topology);

}  // namespace epsim::cli
