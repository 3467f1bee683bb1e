#pragma once
// Helpers of the hardening tests: write an input file into a per-test temporary folder, and check
// the CLI's answer to it.
#include <fstream>
#include <string>

#include "cli_runner.hpp"

namespace hardening {

inline const std::string kScenarios = EPSIM_SCENARIOS_DIR;
inline const std::string kData = EPSIM_TEST_DATA_DIR;
inline const std::string kTopo2 = kScenarios + "/topologies/dgx-h100-2node.json";
inline const std::string kModel = kScenarios + "/models/deepseek-v3.config.json";
inline const std::string kLoads = kScenarios + "/loads/deepseek-v3/prefill_in4096.json";
inline const std::string kPhiModel = kScenarios + "/models/phi-3.5-moe-instruct.config.json";
inline const std::string kPhiLoads = kData + "/loads_phi16.json";

/// Write `content` to `dir`/`name` and return the path.
inline std::string write_file(const std::string& dir, const std::string& name, const std::string& content) {
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

/// `epsim plan` with the given inputs and extra flags.
inline CliResult plan(const std::string& topo, const std::string& loads, const std::string& model,
                      const std::string& extra = "") {
  return run_epsim("plan --topology " + topo + " --loads " + loads + " --model " + model + " " + extra);
}

/// True when `text` contains `part`.
inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace hardening
