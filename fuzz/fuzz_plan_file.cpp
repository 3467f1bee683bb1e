// Fuzz target: plan.json (epsim.plan/1, written by `epsim plan --out`) through both of its readers:
// plan_traffic_from_json (what epsim calibrate and epsim_cuda_validate replay) and the placement
// reader of `epsim simulate` (a scenario's "plan"): fuzz/inputs/tiny_scenario.json (EP 8, 2 slots per
// GPU, a 2-layer 8-expert model) with its plan replaced by the input, written to a temporary file.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cuda_validate/plan_traffic.hpp"
#include "fuzz_support.hpp"
#include "sim/scenario/scenario.hpp"

namespace {
const std::filesystem::path& temp_path() {
  static const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("epsim_fuzz_plan_" + std::to_string(::getpid()) + ".json");
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const epsim::Scenario base = epsim::load_scenario(EPSIM_FUZZ_INPUTS_DIR "/tiny_scenario.json");
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  epsim::fuzz::guarded([&] { epsim::validate::plan_traffic_from_json(*doc, epsim::fuzz::kFuzzFile); });
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  return epsim::fuzz::guarded([&] {
    epsim::Scenario s = base;
    s.plan = temp_path();
    epsim::ScenarioInputs in = epsim::prepare_scenario(s);
    for (const epsim::LayerPlacement& p : in.placement)
      if (!p.slot_expert.empty() && p.slot_expert.size() != 16) {
        std::fprintf(stderr, "epsim fuzz: plan accepted with %zu slots (expected 16)\n", p.slot_expert.size());
        std::abort();
      }
  });
}
