#include "cli/calibration_input.hpp"

#include <fmt/format.h>

namespace epsim::cli {

std::optional<Calibration> load_command_calibration(const std::string& path, const Topology& topology) {
  if (path.empty()) return std::nullopt;
  Calibration cal = load_calibration(path);
  if (topology.num_gpus() > 0) {
    const std::string w = calibration_gpu_warning(cal, path, topology.device(topology.gpu_device(0)).model);
    if (!w.empty()) fmt::print(stderr, "epsim: warning: {}\n", w);
  }
  return cal;
}

}  // namespace epsim::cli
