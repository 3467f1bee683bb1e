// Traces (model/trace*, affinity): format, generator, trace-driven dispatch, affinity.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "placement/affinity.hpp"
#include "model/trace.hpp"
#include "model/trace_generator.hpp"
#include "comm/trace_traffic.hpp"
#include "topology/generators.hpp"
#include "comm/node_forwarding.hpp"

using namespace epsim;

namespace {

Json good_trace() {
  return Json::parse(R"({"schema":"epsim.trace/1","num_experts":4,"top_k":2,"num_ranks":2,
    "layers":[{"layer":1,"source":[0,1,1],"experts":[0,1, 2,3, 0,3]},
              {"layer":2,"source":[0,1,1],"experts":[1,2, 0,3, 3,2]}]})");
}

std::string rejection(const Json& doc) {
  try {
    trace_from_json(doc, "t.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

// One expert per GPU: placement of `gpus` ranks with slot_expert = given list.
LayerPlacement one_per_gpu(std::vector<int> slot_expert) {
  LayerPlacement p;
  p.num_gpus = static_cast<int>(slot_expert.size());
  p.slots_per_gpu = 1;
  p.slot_expert = std::move(slot_expert);
  return p;
}

MoeModel small_model(int experts, int top_k, int n_group, int topk_group) {
  MoeModel m;
  m.name = "test";
  m.num_layers = 1;
  m.num_experts = experts;
  m.top_k = top_k;
  m.n_group = n_group;
  m.topk_group = topk_group;
  return m;
}

}  // namespace

TEST_CASE("trace loader accepts the compact format and round-trips", "[trace]") {
  Trace t = trace_from_json(good_trace(), "t.json");
  REQUIRE(t.layers.size() == 2);
  CHECK(t.layers[0].num_tokens() == 3);
  CHECK(t.layers[1].token_experts(2, 2)[0] == 3);
  CHECK(trace_to_json(trace_from_json(trace_to_json(t), "x")) == trace_to_json(t));
  // The streamed text is the document's dump, byte for byte.
  CHECK(trace_to_json_text(t) == trace_to_json(t).dump());
  PerSourceLoads ps = trace_per_source_loads(t, 3);
  CHECK(ps.count[1][1][3] == 2);
  CHECK(ps.count[1][0][0] == 1);
  ExpertLoads total = expert_loads_any_from_json(per_source_loads_to_json(ps), "p.json");
  CHECK(total.count[1] == std::vector<double>{2, 1, 1, 2});
}

TEST_CASE("trace loader rejections name file and pointer", "[trace]") {
  Json d = good_trace();
  d["layers"][0]["experts"][3] = 4;
  CHECK(rejection(d).find("t.json") != std::string::npos);
  CHECK(rejection(d).find("/layers/0/experts/3") != std::string::npos);
  d = good_trace();
  d["layers"][1]["experts"][5] = 3;  // token 2 of layer 2: {3, 3}
  CHECK(rejection(d).find("/layers/1/experts/5") != std::string::npos);
  CHECK(rejection(d).find("appears twice") != std::string::npos);
  d = good_trace();
  d["layers"][0]["experts"].erase(d["layers"][0]["experts"].size() - 1);
  CHECK(rejection(d).find("/layers/0/experts") != std::string::npos);
  d = good_trace();
  d["layers"][0]["source"][1] = 2;
  CHECK(rejection(d).find("/layers/0/source/1") != std::string::npos);
  d = good_trace();
  d["schema"] = "epsim.trace/2";
  CHECK(rejection(d).find("/schema") != std::string::npos);
  d = good_trace();
  d["layers"][1]["layer"] = 1;
  CHECK(rejection(d).find("/layers/1/layer") != std::string::npos);
  // No layer: trace generate on all-zero loads wrote one, and plan --trace "optimized" on it (exit 0).
  d = good_trace();
  d["layers"] = Json::array();
  CHECK(rejection(d).find("/layers: at least one layer") != std::string::npos);
  // per-source loads: ragged ranks
  Json ps = Json::parse(R"({"per_source_count":[[[1,2],[3,4]],[[1,2]]]})");
  CHECK_THROWS_AS(expert_loads_any_from_json(ps, "p.json"), InputError);
  CHECK_THROWS_AS(expert_loads_any_from_json(Json::parse(R"({"x":1})"), "p.json"), InputError);
}

TEST_CASE("topology issue's token through the trace path: 3 vs 6 copies leave the node", "[trace][forwarding]") {
  DgxClusterOptions o;
  o.nodes = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  // 32 experts, one per GPU; the token from GPU 0 uses experts on GPUs 1, 2 (own node) and local
  // GPUs 3 and 5 of nodes 1..3.
  std::vector<int> slots(32);
  std::iota(slots.begin(), slots.end(), 0);
  LayerPlacement p = one_per_gpu(slots);
  TraceLayer l;
  l.layer = 0;
  l.source = {0};
  l.experts = {1, 2, 8 + 3, 8 + 5, 16 + 3, 16 + 5, 24 + 3, 24 + 5};
  const double bytes = 14336;
  TraceTraffic fwd = trace_layer_traffic(routes, p, l, 8, 32, bytes, TokenDelivery::node_forwarding);
  TraceTraffic direct = trace_layer_traffic(routes, p, l, 8, 32, bytes, TokenDelivery::per_gpu);
  CHECK(fwd.cross_node_bytes == Approx(3 * bytes));
  CHECK(direct.cross_node_bytes == Approx(6 * bytes));
  CHECK(bytes_leaving_host(topo, 0, fwd.link_bytes) == Approx(3 * bytes));
  // Same link bytes as the per-token reference.
  RouteScratch scratch;
  std::vector<int> dst(l.experts.begin(), l.experts.end());
  std::vector<double> ref(static_cast<std::size_t>(topo.num_links()), 0.0);
  add_token_link_bytes(routes, 0, dst, bytes, TokenDelivery::node_forwarding, scratch, ref);
  for (std::size_t i = 0; i < ref.size(); ++i) CHECK(fwd.link_bytes[i] == Approx(ref[i]).margin(1e-9));
  CHECK(fwd.gpu_tokens[11] == 1);
  // the 3 node copies all leave through the source's own rail NIC (50 GB/s)
  CHECK(fwd.bottleneck_s == Approx(3 * bytes / 50e9));
  CHECK(direct.bottleneck_s > fwd.bottleneck_s);
}

TEST_CASE("two experts of a token on one GPU are sent once", "[trace]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  LayerPlacement p;  // 32 experts, 2 per GPU: experts 2g, 2g+1 on GPU g
  p.num_gpus = 16;
  p.slots_per_gpu = 2;
  p.slot_expert.resize(32);
  std::iota(p.slot_expert.begin(), p.slot_expert.end(), 0);
  TraceLayer l;
  l.source = {0};
  l.experts = {20, 21};  // both on GPU 10 (node 1)
  for (auto d : {TokenDelivery::per_gpu, TokenDelivery::node_forwarding}) {
    TraceTraffic t = trace_layer_traffic(routes, p, l, 2, 32, 1000, d);
    CHECK(t.cross_node_bytes == Approx(1000));
    CHECK(t.gpu_tokens[10] == 2);
  }
  l.experts = {0, 1};  // on the source GPU: nothing on the network
  TraceTraffic t = trace_layer_traffic(routes, p, l, 2, 32, 1000, TokenDelivery::per_gpu);
  CHECK(std::accumulate(t.link_bytes.begin(), t.link_bytes.end(), 0.0) == 0);
}

TEST_CASE("replica rule: own rank, then own node, then round-robin by token", "[trace]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology topo = generate_dgx_cluster(o);
  CHECK(serving_rank({3, 9}, 3, 5, topo) == 3);
  CHECK(serving_rank({3, 9}, 1, 5, topo) == 3);   // node 0
  CHECK(serving_rank({3, 9}, 12, 5, topo) == 9);  // node 1
  CHECK(serving_rank({3, 11}, 12, 0, topo) == 11);
  CHECK(serving_rank({2, 3}, 12, 0, topo) == 2);  // no replica on node 1: round-robin
  CHECK(serving_rank({2, 3}, 12, 1, topo) == 3);
}

TEST_CASE("generator is deterministic for a seed and matches loads", "[trace][generator]") {
  MoeModel m = small_model(64, 8, 8, 4);
  std::vector<double> load(64);
  for (int e = 0; e < 64; ++e) load[static_cast<std::size_t>(e)] = 1.0 + (e % 7 == 0 ? 6.0 : 0.0) + 0.05 * e;
  load[5] = 0;  // never picked
  TraceGeneratorOptions o;
  o.ep = 10;
  o.tokens_per_gpu = 5000;  // 50k tokens
  o.seed = 42;
  LayerFit fit;
  TraceLayer a = generate_trace_layer(load, m, 3, o, &fit);
  TraceLayer b = generate_trace_layer(load, m, 3, o);
  CHECK(a.experts == b.experts);
  o.seed = 43;
  CHECK(generate_trace_layer(load, m, 3, o).experts != a.experts);
  REQUIRE(a.num_tokens() == 50000);
  CHECK(a.source[4999] == 0);
  CHECK(a.source[5000] == 1);
  std::vector<double> count(64, 0.0);
  for (int t = 0; t < a.num_tokens(); ++t) {
    auto ex = a.token_experts(t, 8);
    std::vector<int> s(ex.begin(), ex.end());
    std::sort(s.begin(), s.end());
    CHECK(std::adjacent_find(s.begin(), s.end()) == s.end());
    std::vector<int> groups;
    for (int e : s) groups.push_back(e / 8);
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    CHECK(groups.size() <= 4);  // group-limited
    for (int e : s) count[static_cast<std::size_t>(e)] += 1;
  }
  double total = std::accumulate(load.begin(), load.end(), 0.0);
  CHECK(count[5] == 0);
  for (int e = 0; e < 64; e += 7) {  // the hot experts
    double target = load[static_cast<std::size_t>(e)] / total * 50000 * 8;
    CHECK(std::fabs(count[static_cast<std::size_t>(e)] - target) <= 0.02 * target);
  }
  CHECK(fit.max_rel_error <= 0.02);
  INFO("iterations " << fit.iterations << " max rel " << fit.max_rel_error << " l1 " << fit.l1_rel_error);
  CHECK(fit.iterations < o.max_iterations);
  // Platform-independent uniform: the top 53 bits.
  CHECK(uniform_from_bits(~0ull) < 1.0);
  CHECK(uniform_from_bits(1ull << 11) == 0x1.0p-53);
}

TEST_CASE("a trace of another model is named at /num_experts before its expert ids are read", "[trace]") {
  // good_trace has num_experts 4; against a 2-expert model its expert id 3 would be out of range, but
  // the header is checked first.
  MoeModel m = small_model(2, 2, 1, 1);
  m.num_layers = 3;
  CHECK_THROWS_WITH(trace_from_json(good_trace(), "t.json", &m, 2),
                    Catch::Contains("t.json: /num_experts") && Catch::Contains("2 routed experts"));
}

TEST_CASE("inter-layer affinity counts shared tokens and co-located copies", "[trace][affinity]") {
  Trace t = trace_from_json(good_trace(), "t.json");
  auto pairs = inter_layer_affinity(t);
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].at(0, 1) == 1);  // token 0: {0,1} -> {1,2}
  CHECK(pairs[0].at(3, 3) == 2);  // tokens 1 and 2
  CHECK(pairs[0].at(2, 0) == 1);
  DgxClusterOptions o;
  o.nodes = 1;
  Topology topo = generate_dgx_cluster(o);
  // 2 ranks, experts {0,1} on rank 0 and {2,3} on rank 1 in both layers.
  LayerPlacement p;
  p.num_gpus = 2;
  p.slots_per_gpu = 2;
  p.slot_expert = {0, 1, 2, 3};
  AffinityReport r = plan_affinity(t, [&](int) { return &p; }, topo, 100);
  CHECK(r.layer_pairs == 1);
  CHECK(r.token_expert_pairs == 12);
  // token 0: D={0}, D'={0,1} -> 1 saved; token 1: D={1}, D'={0,1} -> 1; token 2: D={0,1}, D'={1} -> 1
  CHECK(r.gpu_copies_saved == 3);
  CHECK(r.bytes_saved_gpu == 300);
  CHECK(r.same_node_pairs == 12);
}

TEST_CASE("pair-aggregated trace traffic equals per-token add_token_link_bytes, with replicas", "[trace][forwarding]") {
  DgxClusterOptions o;
  o.nodes = 2;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  // 16 ranks x 2 slots: experts 0..23 once, experts 0..7 replicated on ranks 12..15 (node 1).
  LayerPlacement p;
  p.num_gpus = 16;
  p.slots_per_gpu = 2;
  for (int e = 0; e < 24; ++e) p.slot_expert.push_back(e);
  for (int e = 0; e < 8; ++e) p.slot_expert.push_back(e);
  MoeModel m = small_model(24, 4, 1, 1);
  TraceGeneratorOptions go;
  go.ep = 16;
  go.tokens_per_gpu = 50;
  go.max_iterations = 1;
  TraceLayer l = generate_trace_layer(std::vector<double>(24, 1.0), m, 0, go);
  for (auto d : {TokenDelivery::per_gpu, TokenDelivery::node_forwarding}) {
    TraceTraffic t = trace_layer_traffic(routes, p, l, 4, 24, 7168, d);
    std::vector<double> ref(static_cast<std::size_t>(topo.num_links()), 0.0);
    RouteScratch scratch;
    for (int i = 0; i < l.num_tokens(); ++i) {
      std::vector<int> dst;
      for (int e : l.token_experts(i, 4)) dst.push_back(serving_rank(p.gpus_of_expert(e), l.source[static_cast<std::size_t>(i)], i, topo));
      add_token_link_bytes(routes, l.source[static_cast<std::size_t>(i)], dst, 7168, d, scratch, ref);
    }
    for (std::size_t k = 0; k < ref.size(); ++k) CHECK(t.link_bytes[k] == Approx(ref[k]).margin(1e-6));
    CHECK(std::accumulate(t.gpu_tokens.begin(), t.gpu_tokens.end(), 0.0) == 800 * 4);
  }
}
