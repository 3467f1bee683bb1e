// Trace-based objective (placement/trace_objective, trace_search, inter_layer): incremental state,
// co-activation placement, node-limited routing, inter-layer alignment.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "placement/affinity.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "placement/algorithms/inter_layer.hpp"
#include "placement/trace_objective.hpp"
#include "placement/algorithms/trace_search.hpp"
#include "comm/trace_traffic.hpp"
#include "common/error.hpp"
#include "model/trace_generator.hpp"
#include "topology/generators.hpp"

using namespace epsim;

namespace {

constexpr double kBytes = 7168;  // DeepSeek-V3 hidden size x 1 byte (FP8 dispatch)

// Two co-activated groups of 8 experts: group A = even experts, group B = odd experts. Every token
// picks one group (seeded) and 4 distinct experts of it, and comes from a seeded random rank of 16.
TraceLayer two_group_trace(int tokens, std::uint64_t seed, int layer = 0, bool flip_groups = false,
                           const TraceLayer* sources_from = nullptr, std::vector<int>* group_of_token = nullptr,
                           double share_a = 0.5) {
  std::mt19937_64 rng(seed);
  TraceLayer l;
  l.layer = layer;
  for (int t = 0; t < tokens; ++t) {
    int group = 0;
    if (group_of_token && flip_groups) group = 1 - (*group_of_token)[static_cast<std::size_t>(t)];
    else group = static_cast<double>(rng() % 1000) < share_a * 1000 ? 0 : 1;
    if (group_of_token && !flip_groups) group_of_token->push_back(group);
    l.source.push_back(sources_from ? sources_from->source[static_cast<std::size_t>(t)] : static_cast<int>(rng() % 16));
    std::vector<int> members{0, 1, 2, 3, 4, 5, 6, 7};
    for (int j = 0; j < 4; ++j) {
      std::size_t i = static_cast<std::size_t>(j) + rng() % (8 - static_cast<std::uint64_t>(j));
      std::swap(members[static_cast<std::size_t>(j)], members[i]);
      l.experts.push_back(2 * members[static_cast<std::size_t>(j)] + group);
    }
  }
  return l;
}

struct Fixture {
  Topology topo = [] {
    DgxClusterOptions o;
    o.nodes = 2;  // 16 GPUs, 8 per node, rail-optimized
    return generate_dgx_cluster(o);
  }();
  RouteTable routes{topo};
  EpLinkModel links{topo, routes, 16};
};

PlacementProblem problem_for(const Fixture& f, const TraceObjectiveInput* in, int slots_per_gpu, std::vector<double> load) {
  PlacementProblem p;
  p.num_gpus = 16;
  p.slots_per_gpu = slots_per_gpu;
  p.load = std::move(load);
  p.links = &f.links;
  p.dispatch_bytes_per_token = kBytes;
  p.combine_bytes_per_token = 2 * kBytes;
  p.seed = 7;
  p.num_nodes = 2;
  p.num_groups = 2;
  p.trace = in;
  return p;
}

}  // namespace

TEST_CASE("incremental trace state equals the full trace evaluation after moves and reverts", "[trace][objective]") {
  Fixture f;
  // 16 ranks x 2 slots: experts 0..15 on slot 0 of rank e, replicas of 0..7 and 8..15 on slot 1.
  LayerPlacement p;
  p.num_gpus = 16;
  p.slots_per_gpu = 2;
  for (int g = 0; g < 16; ++g) {
    p.slot_expert.push_back(g);
    p.slot_expert.push_back((g + 5) % 16);
  }
  TraceLayer l = two_group_trace(300, 11);
  for (auto d : {TokenDelivery::per_gpu, TokenDelivery::node_forwarding}) {
    TraceObjectiveInput in{&l, 4, &f.routes, d, kBytes, 2};
    TraceLayerState st(in, p, 16, ObjectiveKind::link);
    std::mt19937_64 rng(3);
    for (int move = 0; move < 60; ++move) {
      int a = static_cast<int>(rng() % 32), b = static_cast<int>(rng() % 32);
      int ea = st.placement().slot_expert[static_cast<std::size_t>(a)], eb = st.placement().slot_expert[static_cast<std::size_t>(b)];
      LayerPlacement cand = st.placement();
      std::swap(cand.slot_expert[static_cast<std::size_t>(a)], cand.slot_expert[static_cast<std::size_t>(b)]);
      if (a / 2 == b / 2 || ea == eb || cand.slot_expert[static_cast<std::size_t>(a / 2 * 2)] == cand.slot_expert[static_cast<std::size_t>(a / 2 * 2 + 1)] ||
          cand.slot_expert[static_cast<std::size_t>(b / 2 * 2)] == cand.slot_expert[static_cast<std::size_t>(b / 2 * 2 + 1)])
        continue;
      st.change_slots({{a, eb}, {b, ea}});
      if (move % 3 == 0) st.revert();
      // Reference: link_bytes = sum over tokens of copies x route shares (trace_traffic.hpp).
      TraceTraffic ref = trace_layer_traffic(f.routes, st.placement(), l, 4, 16, kBytes, d);
      for (std::size_t k = 0; k < ref.link_bytes.size(); ++k) REQUIRE(st.link_bytes()[k] == Approx(ref.link_bytes[k]).margin(1e-6));
      CHECK(st.cross_node_bytes() == Approx(ref.cross_node_bytes).margin(1e-6));
      CHECK(st.bottleneck_s() == Approx(ref.bottleneck_s));
      CHECK(st.gpu_tokens() == std::vector<double>(ref.gpu_tokens.begin(), ref.gpu_tokens.end()));
      // excess with M = 2: sum_t max(0, nodes(t) - 2), nodes from the histogram
      double excess = 0;
      for (std::size_t n = 3; n < ref.nodes_histogram.size(); ++n) excess += ref.nodes_histogram[n] * static_cast<double>(n - 2);
      CHECK(st.excess_nodes() == excess);
    }
  }
}

TEST_CASE("two co-activated groups on 2 nodes: epsim puts each group on one node", "[trace][objective]") {
  Fixture f;
  std::vector<int> group;
  TraceLayer l = two_group_trace(800, 5, 0, false, nullptr, &group);
  TraceObjectiveInput in{&l, 4, &f.routes, TokenDelivery::node_forwarding, kBytes, 0};
  std::vector<double> load(16, 0.0);
  for (int e : l.experts) load[static_cast<std::size_t>(e)] += 1;
  PlacementProblem p = problem_for(f, &in, 1, load);
  LayerPlacement best = place_epsim(p);
  check_placement(best, 16, "epsim");
  // Each group on one node.
  std::set<int> hosts_a, hosts_b;
  for (int g = 0; g < 16; ++g) {
    int e = best.slot_expert[static_cast<std::size_t>(g)];
    (e % 2 == 0 ? hosts_a : hosts_b).insert(f.topo.gpu_host(g));
  }
  CHECK(hosts_a.size() == 1);
  CHECK(hosts_b.size() == 1);
  // Bytes equation: with node forwarding a token sends one copy across nodes iff its group's node is
  // not its source's node: cross_node_bytes = kBytes x #{t : host(group(t)) != host(src(t))}.
  const int host_a = *hosts_a.begin(), host_b = *hosts_b.begin();
  double crossing = 0;
  for (int t = 0; t < l.num_tokens(); ++t)
    crossing += (group[static_cast<std::size_t>(t)] == 0 ? host_a : host_b) != f.topo.gpu_host(l.source[static_cast<std::size_t>(t)]);
  TraceTraffic got = trace_layer_traffic(f.routes, best, l, 4, 16, kBytes, TokenDelivery::node_forwarding);
  CHECK(got.cross_node_bytes == Approx(kBytes * crossing));
  // Every token reaches exactly one node, the least possible.
  CHECK(got.nodes_histogram[1] == l.num_tokens());
  // Contiguous (experts 0..7 on node 0) splits both groups: more bytes, and epsim is not worse than
  // any baseline on the trace objective.
  TraceTraffic contiguous = trace_layer_traffic(f.routes, place_contiguous(p), l, 4, 16, kBytes, TokenDelivery::node_forwarding);
  CHECK(contiguous.cross_node_bytes > 1.3 * got.cross_node_bytes);
  const ObjectiveValue mine = trace_objective(in, best, 16, ObjectiveKind::link);
  for (const LayerPlacement& b : {place_contiguous(p), place_greedy(p), place_eplb(p, nullptr)})
    CHECK_FALSE(trace_objective(in, b, 16, ObjectiveKind::link) < mine);
  // The group-per-node start alone already finds the groups from co-activation.
  LayerPlacement start = coactivation_start(p, l, 4);
  std::set<int> start_hosts_a;
  for (int g = 0; g < 16; ++g)
    if (start.slot_expert[static_cast<std::size_t>(g)] % 2 == 0) start_hosts_a.insert(f.topo.gpu_host(g));
  CHECK(start_hosts_a.size() == 1);
  // Deterministic for a seed.
  CHECK(place_epsim(p).slot_expert == best.slot_expert);
}

TEST_CASE("node limit (--max-nodes-per-token): the excess is counted per token and driven to 0 where possible", "[trace][objective]") {
  Fixture f;
  TraceLayer l = two_group_trace(400, 9);
  // Contiguous: expert e on rank e, node e / 8; a token's nodes = distinct e / 8 of its experts.
  LayerPlacement contiguous;
  contiguous.num_gpus = 16;
  contiguous.slots_per_gpu = 1;
  for (int e = 0; e < 16; ++e) contiguous.slot_expert.push_back(e);
  TraceObjectiveInput in{&l, 4, &f.routes, TokenDelivery::node_forwarding, kBytes, 1};
  double expected = 0;  // sum_t max(0, nodes(t) - 1)
  for (int t = 0; t < l.num_tokens(); ++t) {
    std::set<int> nodes;
    for (int e : l.token_experts(t, 4)) nodes.insert(e / 8);
    expected += static_cast<double>(nodes.size()) - 1;
  }
  REQUIRE(expected > 0);
  TraceLayerState st(in, contiguous, 16, ObjectiveKind::link);
  CHECK(st.excess_nodes() == expected);
  CHECK(st.value().penalty == expected);
  // The penalty is compared before the link time: a plan with a smaller link time but one token
  // over the limit loses.
  CHECK(ObjectiveValue{2.0, 0.0, 0.0} < ObjectiveValue{1.0, 0.0, 1.0});
  // Group A carries 90% of the tokens (hot node); under M = 1 epsim ends with no token on 2 nodes.
  TraceLayer hot = two_group_trace(400, 9, 0, false, nullptr, nullptr, 0.9);
  TraceObjectiveInput hot_in{&hot, 4, &f.routes, TokenDelivery::node_forwarding, kBytes, 1};
  std::vector<double> load(16, 0.0);
  for (int e : hot.experts) load[static_cast<std::size_t>(e)] += 1;
  PlacementProblem p = problem_for(f, &hot_in, 1, load);
  LayerPlacement best = place_epsim(p);
  CHECK(TraceLayerState(hot_in, best, 16, ObjectiveKind::link).excess_nodes() == 0);
  CHECK(TraceLayerState(hot_in, place_contiguous(p), 16, ObjectiveKind::link).excess_nodes() > 0);
}

TEST_CASE("inter-layer pass aligns layer l+1's nodes with layer l's and reports the copies saved", "[trace][affinity]") {
  Fixture f;
  std::vector<int> group;
  TraceLayer a = two_group_trace(400, 21, 3, false, nullptr, &group);
  // Layer 4: the same tokens; a token of group A at layer 3 uses group B at layer 4 and vice versa.
  TraceLayer b = two_group_trace(400, 22, 4, true, &a, &group);
  Trace trace;
  trace.num_experts = 16;
  trace.top_k = 4;
  trace.num_ranks = 16;
  trace.layers = {a, b};
  // Layer 3: group A (even) on node 0, B on node 1. Layer 4: group A on node 0 too, so every token
  // changes node between the layers.
  LayerPlacement pa, pb;
  pa.num_gpus = pb.num_gpus = 16;
  pa.slots_per_gpu = pb.slots_per_gpu = 1;
  for (int g = 0; g < 16; ++g) pa.slot_expert.push_back(g < 8 ? 2 * g : 2 * (g - 8) + 1);
  pb = pa;
  auto saved = [&](const std::vector<LayerPlacement>& pls) {
    return plan_affinity(trace, [&](int layer) { return &pls[static_cast<std::size_t>(layer - 3)]; }, f.topo, kBytes);
  };
  std::vector<LayerPlacement> pls{pa, pb};
  // node copies saved = sum_t |hosts(D_t) ∩ hosts(D'_t)|: 0 before (the groups swap nodes).
  CHECK(saved(pls).node_copies_saved == 0);
  std::vector<const TraceLayer*> layers{&trace.layers[0], &trace.layers[1]};
  std::vector<LayerPlacement> rejected = pls;
  InterLayerReport none = align_consecutive_layers(rejected, layers, 4, f.topo, [](std::size_t, const LayerPlacement&) { return false; });
  CHECK(none.layers_rejected == 1);
  CHECK(rejected[1].slot_expert == pb.slot_expert);
  InterLayerReport rep = align_consecutive_layers(pls, layers, 4, f.topo, [](std::size_t, const LayerPlacement&) { return true; });
  CHECK(rep.layer_pairs == 1);
  CHECK(rep.layers_permuted == 1);
  check_placement(pls[1], 16, "aligned layer 4");
  // After: every token's layer-4 group sits on the node of its layer-3 group: one node saved per token.
  AffinityReport after = saved(pls);
  CHECK(after.node_copies_saved == 400);
  CHECK(after.bytes_saved_cross_node == Approx(400 * kBytes));
  // Layer 3 untouched; layer 4 is a node permutation of the original (same experts per node).
  CHECK(pls[0].slot_expert == pa.slot_expert);
  std::multiset<int> before_set(pb.slot_expert.begin(), pb.slot_expert.end()), after_set(pls[1].slot_expert.begin(), pls[1].slot_expert.end());
  CHECK(before_set == after_set);
}

TEST_CASE("per-gpu delivery, 8 equal experts on 2 nodes x 4 GPUs, 16 slots: 0 cross-node bytes", "[trace][objective]") {
  // Every node has 8 slots for the 8 experts: a full copy on each node serves every token on its own
  // node, so a plan with 0 cross-node bytes exists (and is link-optimal: NVLink only).
  DgxClusterOptions o;
  o.nodes = 2;
  o.gpus_per_node = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  EpLinkModel links(topo, routes, 8);
  MoeModel m;
  m.name = "eight";
  m.num_layers = 1;
  m.hidden_size = 7168;
  m.num_experts = 8;
  m.top_k = 8;  // every token uses every expert (with top_k 2 the search alone found 0 bytes)
  m.moe_intermediate_size = 512;
  m.num_attention_heads = 8;
  ExpertLoads loads;
  loads.source = "equal";
  loads.count = {std::vector<double>(8, 100.0)};
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    TraceGeneratorOptions g;
    g.ep = 8;
    g.tokens_per_gpu = 800;  // 6400 tokens
    g.seed = seed;
    g.threads = 1;
    Trace trace = generate_trace(loads, m, g);
    REQUIRE(trace.layers.size() == 1);
    TraceObjectiveInput in{&trace.layers[0], 8, &routes, TokenDelivery::per_gpu, 7168, 0};
    PlacementProblem p;
    p.num_gpus = 8;
    p.slots_per_gpu = 2;
    p.load = std::vector<double>(8, 6400.0);
    p.links = &links;
    p.dispatch_bytes_per_token = 7168;
    p.combine_bytes_per_token = 2 * 7168;
    p.seed = seed;
    p.num_nodes = 2;
    p.trace = &in;
    LayerPlacement pl = place_epsim(p);
    TraceTraffic t = trace_layer_traffic(routes, pl, trace.layers[0], 8, 8, 7168, TokenDelivery::per_gpu);
    INFO("seed " << seed);
    CHECK(t.cross_node_bytes == 0);
  }
}

TEST_CASE("incremental trace state under random swaps and re-replications equals the full evaluation",
          "[trace][objective]") {
  // 4 nodes x 4 GPUs, 3 slots each (48 slots, 16 experts): replicas change serving GPUs of many
  // tokens at once, and several destinations of one token share a host.
  DgxClusterOptions o;
  o.nodes = 4;
  o.gpus_per_node = 4;
  Topology topo = generate_dgx_cluster(o);
  RouteTable routes(topo);
  TraceLayer l = two_group_trace(400, 17);
  LayerPlacement p{16, 3, {}};
  for (int s = 0; s < 48; ++s) p.slot_expert.push_back(s < 16 ? s : (s % 5 == 0 ? -1 : (s * 7) % 16));
  for (int g = 0; g < 16; ++g)  // no duplicates on a GPU: clear repeats
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < a; ++b)
        if (p.slot_expert[static_cast<std::size_t>(g * 3 + a)] == p.slot_expert[static_cast<std::size_t>(g * 3 + b)])
          p.slot_expert[static_cast<std::size_t>(g * 3 + a)] = -1;
  check_placement(p, 16, "start");
  for (auto d : {TokenDelivery::per_gpu, TokenDelivery::node_forwarding}) {
    TraceObjectiveInput in{&l, 4, &routes, d, kBytes, 2};
    TraceLayerState st(in, p, 16, ObjectiveKind::link);
    std::mt19937_64 rng(5);
    int checked = 0;
    for (int move = 0; move < 300; ++move) {
      LayerPlacement cand = st.placement();
      std::vector<std::pair<int, int>> change;
      if (rng() % 2 == 0) {
        int a = static_cast<int>(rng() % 48), b = static_cast<int>(rng() % 48);
        change = {{a, cand.slot_expert[static_cast<std::size_t>(b)]}, {b, cand.slot_expert[static_cast<std::size_t>(a)]}};
      } else {
        change = {{static_cast<int>(rng() % 48), static_cast<int>(rng() % 17) - 1}};
      }
      for (const auto& [slot, e] : change) cand.slot_expert[static_cast<std::size_t>(slot)] = e;
      bool ok = true;
      try {
        check_placement(cand, 16, "candidate");
      } catch (const InputError&) {
        ok = false;
      }
      if (!ok) continue;
      st.change_slots(change);
      if (move % 4 == 0) st.revert();
      TraceTraffic ref = trace_layer_traffic(routes, st.placement(), l, 4, 16, kBytes, d);
      for (std::size_t k = 0; k < ref.link_bytes.size(); ++k) REQUIRE(st.link_bytes()[k] == Approx(ref.link_bytes[k]).margin(1e-6));
      CHECK(st.cross_node_bytes() == Approx(ref.cross_node_bytes).margin(1e-6));
      CHECK(st.gpu_tokens() == std::vector<double>(ref.gpu_tokens.begin(), ref.gpu_tokens.end()));
      double excess = 0;  // M = 2
      for (std::size_t n = 3; n < ref.nodes_histogram.size(); ++n) excess += ref.nodes_histogram[n] * static_cast<double>(n - 2);
      CHECK(st.excess_nodes() == excess);
      ++checked;
    }
    CHECK(checked > 50);
  }
}
