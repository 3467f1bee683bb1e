// Fuzz target: scenario JSON (epsim.scenario/1) -> scenario_from_json, then the arithmetic that uses
// its numbers without loading any file: tokens per micro-batch and the memory estimate of one GPU
// for a fixed small model (fuzz/inputs/tiny_model.json). Files named by the scenario are not opened
// (their paths are only resolved), so the fuzzer cannot make it read the host's files.
#include <cmath>

#include "fuzz_support.hpp"
#include "model/moe_model.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const epsim::MoeModel model = epsim::load_moe_model(EPSIM_FUZZ_INPUTS_DIR "/tiny_model.json");
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    epsim::Scenario s = epsim::scenario_from_json(*doc, epsim::fuzz::kFuzzFile);
    const epsim::ParallelConfig& p = s.parallel;
    if (p.dp < 1 || p.tp < 1 || p.pp < 1 || p.ep < 1 || p.expert_tp < 1 || s.chunks < 1 || s.phase.micro_batches < 1 ||
        p.gpus() < 1) {
      std::fprintf(stderr, "epsim fuzz: scenario accepted a parallel size, GPU, chunk or micro-batch count below 1\n");
      std::abort();
    }
    const double tokens = s.phase.tokens_per_micro_batch();
    if (!std::isfinite(tokens) || tokens < 0) {
      std::fprintf(stderr, "epsim fuzz: scenario accepted tokens per micro-batch %g\n", tokens);
      std::abort();
    }
    const int slots = p.ep > 1 ? (model.num_experts + s.redundant + p.ep - 1) / p.ep : model.num_experts;
    (void)epsim::estimate_memory(s, model, slots > 0 ? slots : 1).total();
  });
}
