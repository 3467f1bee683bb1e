// Fuzz target: sweep spec (epsim.sweep/2) -> sweep_spec_from_json with relative paths resolved
// against scenarios/sweeps/ (so the committed seed's base files exist), then the first and last grid
// points, their structural skip reason and the results manifest. A base given as a file name is read
// (read_json_file, size-capped); axis paths are only checked for existence.
#include "fuzz_support.hpp"
#include "sweep/grid.hpp"
#include "sweep/results_store.hpp"
#include "sweep/sweep_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    epsim::SweepSpec spec = epsim::sweep_spec_from_json(*doc, epsim::fuzz::kFuzzFile, EPSIM_SCENARIOS_DIR "/sweeps");
    const std::size_t n = spec.num_points();
    if (n < 1 || n > epsim::kMaxSweepPoints) {
      std::fprintf(stderr, "epsim fuzz: sweep spec accepted a grid of %zu points\n", n);
      std::abort();
    }
    (void)epsim::sweep_manifest(spec).dump();
    for (std::size_t index : {std::size_t{0}, n - 1}) {
      epsim::SweepPoint point = epsim::make_point(spec, index);
      (void)epsim::structural_skip_reason(spec, point);
    }
  });
}
