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
          {"gemm_efficiency", "measurements/deepgemm_grouped_fp8_h800.csv"},
          {"phase", {{"kind", "prefill"}, {"tokens_per_gpu", 1024}, {"micro_batches", 2}}},
          {"topology", {{"fabric", "rail-optimized"}}},
          {"parallel", {{"dp", 8}, {"ep", 8}}},
          {"placement", {{"algorithm", "greedy"}}}};
}

Json phi_spec_json(const Json& axes) {
  return {{"schema", "epsim.sweep/2"}, {"name", "t"}, {"base", phi_base()}, {"axes", axes}};
}

Json decode_value(double batch_per_gpu, double context_length) {
  return {{"value", "decode"},
          {"set",
           {{"/phase",
             {{"kind", "decode"}, {"batch_per_gpu", batch_per_gpu}, {"context_length", context_length}, {"micro_batches", 2}}}}}};
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
