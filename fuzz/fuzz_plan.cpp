// Fuzz target: a whole `epsim plan` run on a tiny cluster (plan.json files themselves are fuzzed by
// fuzz_plan_file). The input is one JSON object holding the planner's inputs:
//   {"topology": {..epsim.topology/1..} (optional: default a 2-node x 4-GPU DGX-style cluster),
//    "model": {..config.json..}, "loads": {"logical_count": ..},
//    "ep": n, "redundant": r, "algorithm": "greedy", "baseline": "contiguous", "objective": "link",
//    "tokens_per_gpu": x, "routing": "shortest"|"pxn", "seed": s}
// The plan must also be independent of the thread count (plan_to_json text with 1 and 2 threads).
#include "fuzz_support.hpp"
#include "placement/objective.hpp"
#include "placement/plan.hpp"
#include "placement/plan_json.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"
#include "topology/validate.hpp"

namespace {

// Keep one run well under a millisecond budget: tiny clusters and models only.
constexpr int kMaxGpus = 16;
constexpr int kMaxExperts = 64;
constexpr int kMaxLayers = 8;

const epsim::Topology& default_topology() {
  static const epsim::Topology topo = [] {
    epsim::DgxClusterOptions o;
    o.nodes = 2;
    o.gpus_per_node = 4;
    o.spines = 2;
    return epsim::generate_dgx_cluster(o);
  }();
  return topo;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = epsim::fuzz::parse_json(data, size);
  if (!doc) return 0;
  return epsim::fuzz::guarded([&] {
    using namespace epsim;
    const std::string& file = fuzz::kFuzzFile;
    JsonCursor root(*doc, file);
    root.require_object();
    Topology own;
    const Topology* topo = &default_topology();
    if (root.has("topology")) {
      own = topology_from_json(root.at("topology").node(), file);
      validate_topology(own, file);
      topo = &own;
    }
    if (topo->num_gpus() > kMaxGpus || topo->num_links() > 512) return;
    MoeModel model = moe_model_from_json(root.at("model").node(), file);
    if (model.num_experts > kMaxExperts || model.num_layers > kMaxLayers) return;
    ExpertLoads loads = expert_loads_from_json(root.at("loads").node(), file);
    PlanSettings s;
    s.ep = static_cast<int>(root.int_or("ep", topo->num_gpus(), 1, topo->num_gpus()));
    s.redundant = static_cast<int>(root.int_or("redundant", 0, -4, 64));
    s.algorithm = root.string_or("algorithm", "greedy");
    s.baseline = root.string_or("baseline", "contiguous");
    s.objective = parse_objective(root.string_or("objective", "link"));
    s.tokens_per_gpu = root.number_or("tokens_per_gpu", 4096);
    s.seed = static_cast<std::uint64_t>(root.int_or("seed", 1, 0, 1 << 30));
    RoutingOptions routing;
    routing.policy = root.string_or("routing", "shortest") == "pxn" ? RoutingPolicy::pxn : RoutingPolicy::shortest;
    RouteTable routes(*topo, routing);
    EpLinkModel links(*topo, routes, s.ep);
    s.threads = 1;
    Plan one = make_plan(links, model, loads, s);
    s.threads = 2;
    Plan two = make_plan(links, model, loads, s);
    PlanInputs in{"t", "l", "m"};
    if (plan_to_json(one, links, in).dump() != plan_to_json(two, links, in).dump()) {
      std::fprintf(stderr, "epsim fuzz: plan depends on the thread count\n");
      std::abort();
    }
  });
}
