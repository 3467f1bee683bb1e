// Fuzz target: Hugging Face config.json -> moe_model_from_json (and the derived counts it offers).
#include "fuzz_support.hpp"
#include "model/moe_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    epsim::MoeModel m = epsim::moe_model_from_json(*doc, epsim::fuzz::kFuzzFile);
    if (m.num_moe_layers() < 1 || m.expert_weight_elements() <= 0) {
      std::fprintf(stderr, "epsim fuzz: accepted a model with no MoE layer or no expert weights\n");
      std::abort();
    }
  });
}
