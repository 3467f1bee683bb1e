// Fuzz target: topology JSON -> topology_from_json -> validate_topology -> routes (small topologies),
// and the save/load round trip (topology_to_json of a loaded topology loads back to the same text).
#include "fuzz_support.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"
#include "topology/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    epsim::Topology topo = epsim::topology_from_json(*doc, epsim::fuzz::kFuzzFile);
    epsim::validate_topology(topo, epsim::fuzz::kFuzzFile);
    epsim::Json saved = epsim::topology_to_json(topo);
    epsim::Topology again = epsim::topology_from_json(saved, "saved.json");
    if (epsim::topology_to_json(again) != saved) {
      std::fprintf(stderr, "epsim fuzz: topology save/load round trip differs\n");
      std::abort();
    }
    if (topo.num_gpus() <= 16 && topo.num_devices() <= 64 && topo.num_links() <= 256) {
      for (auto policy : {epsim::RoutingPolicy::shortest, epsim::RoutingPolicy::pxn}) {
        epsim::RouteTable routes(topo, epsim::RoutingOptions{policy});
        for (int s = 0; s < routes.num_gpus(); ++s)
          for (int d = 0; d < routes.num_gpus(); ++d)
            for (const epsim::RouteHop& h : routes.route(s, d))
              if (h.link < 0 || h.link >= topo.num_links() || !(h.fraction > 0.0f) || h.fraction > 1.0001f) {
                std::fprintf(stderr, "epsim fuzz: bad route hop %d %f\n", h.link, static_cast<double>(h.fraction));
                std::abort();
              }
      }
    }
  });
}
