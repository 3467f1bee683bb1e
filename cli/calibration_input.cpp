#include "cli/calibration_input.hpp"

#include <cstdint>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/input_file.hpp"

namespace epsim::cli {

std::optional<Calibration> load_command_calibration(const std::string& path, const Topology& topology,
                                                    std::vector<std::string>* notices) {
  if (path.empty()) return std::nullopt;
  Calibration cal = load_calibration(path);
  if (topology.num_gpus() > 0) {
    std::string w = calibration_gpu_warning(cal, path, topology.device(topology.gpu_device(0)).model);
    if (w.empty()) return cal;
    if (notices) notices->push_back(std::move(w));
    else fmt::print(stderr, "epsim: warning: {}\n", w);
  }
  return cal;
}

std::string file_fnv1a64(const std::string& path) {
  const std::string bytes = read_input_file(path);
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;  // FNV 64-bit prime
  }
  return fmt::format("{:016x}", h);
}

Json plan_calibration_setting(const std::string& path) { return {{"file", path}, {"fnv1a64", file_fnv1a64(path)}}; }

PlanCalibration plan_command_calibration(const std::string& flag_path, const std::string& plan_path,
                                         const std::string& recorded_file, const std::string& recorded_fnv1a64,
                                         const Topology& topology) {
  if (!flag_path.empty()) return {load_command_calibration(flag_path, topology), flag_path};
  if (recorded_file.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(recorded_file, ec))
    throw InputError(plan_path, "/settings/calibration/file",
                     fmt::format("the calibration the plan was made with, {}, which is missing: restore it, or give "
                                 "--calibration (another file, with the plan's exchange kernel)",
                                 recorded_file));
  const std::string now = file_fnv1a64(recorded_file);
  if (now != recorded_fnv1a64)
    fmt::print(stderr,
               "epsim: warning: calibration {} changed since plan {} was made (FNV-1a 64 {}, the plan recorded {}): "
               "its current contents are used\n",
               recorded_file, plan_path, now, recorded_fnv1a64);
  return {load_command_calibration(recorded_file, topology), recorded_file};
}

}  // namespace epsim::cli
