// Fuzz target: per-token traces (epsim.trace/1) and per-source loads. A trace is parsed, written back
// (trace_to_json must read back to the same text) and reduced to per-source loads; any other document
// goes through expert_loads_any_from_json ({"logical_count"} or {"per_source_count"}).
#include <algorithm>

#include "fuzz_support.hpp"
#include "model/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  epsim::fuzz::guarded([&] {
    epsim::Trace t = epsim::trace_from_json(*doc, epsim::fuzz::kFuzzFile);
    const std::string saved = epsim::trace_to_json(t).dump();
    if (epsim::trace_to_json(epsim::trace_from_json(epsim::Json::parse(saved), "saved.json")).dump() != saved) {
      std::fprintf(stderr, "epsim fuzz: trace write/read round trip differs\n");
      std::abort();
    }
    // Per-source loads over the trace's layers (bounded: the loads hold layers x ranks x experts).
    const int layers = t.layers.empty() ? 0 : t.layers.back().layer + 1;
    if (static_cast<double>(layers) * t.num_ranks * t.num_experts <= 1e6) {
      epsim::PerSourceLoads loads = epsim::trace_per_source_loads(t, layers);
      (void)epsim::per_source_loads_to_json(loads).dump();
      (void)loads.total();
    }
  });
  return epsim::fuzz::guarded([&] { epsim::expert_loads_any_from_json(*doc, epsim::fuzz::kFuzzFile); });
}
