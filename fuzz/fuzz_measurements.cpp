// Fuzz target: measurements.json (epsim.measurements/1, what epsim_cuda_validate writes) ->
// measurements_from_json, and the write/read round trip: an accepted document serializes to JSON
// that reads back to the same text.
#include "cuda_validate/measurements.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    namespace v = epsim::validate;
    v::Measurements m = v::measurements_from_json(*doc, epsim::fuzz::kFuzzFile);
    const std::string saved = v::measurements_to_json(m).dump();
    v::Measurements again = v::measurements_from_json(epsim::Json::parse(saved), "saved.json");
    if (v::measurements_to_json(again).dump() != saved) {
      std::fprintf(stderr, "epsim fuzz: measurements write/read round trip differs\n");
      std::abort();
    }
  });
}
