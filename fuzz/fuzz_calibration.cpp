// Fuzz target: calibration.json -> calibration_from_json.
#include "fuzz_support.hpp"
#include "comm/calibration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] { epsim::calibration_from_json(*doc, epsim::fuzz::kFuzzFile); });
}
