#include "sweep_test_util.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace epsim::test {

namespace fs = std::filesystem;

Json phi_base() {
  return {{"schema", "epsim.scenario/1"},
          {"model", "models/phi-3.5-moe-instruct.config.json"},
          {"loads", std::string(EPSIM_TEST_DATA_DIR) + "/loads_phi16.json"},
          {"phase", "prefill"},
          {"tokens_per_gpu", 1024},
          {"topology", {{"fabric", "rail_optimized"}}},
          {"parallel", {{"layout", "ep"}, {"ep", 8}}},
          {"placement", {{"algorithm", "greedy"}}}};
}

Json phi_spec_json(const Json& axes) {
  return {{"schema", "epsim.sweep/1"}, {"name", "t"}, {"base", phi_base()}, {"axes", axes}};
}

SweepSpec parse_spec(const Json& doc) { return sweep_spec_from_json(doc, "spec.json", EPSIM_SCENARIOS_DIR); }

fs::path fresh_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("epsim_test_sweep_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace epsim::test
