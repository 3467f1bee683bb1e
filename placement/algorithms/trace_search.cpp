// `epsim` on the trace objective; see trace_search.hpp.
#include "placement/algorithms/trace_search.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/node_local.hpp"

namespace epsim {

namespace {

int pick(std::mt19937_64& rng, int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }

// EP ranks grouped by host, hosts in order of their first rank.
std::vector<std::vector<int>> ranks_by_node(const Topology& topo, int ep) {
  std::map<int, std::size_t> index;
  std::vector<std::vector<int>> nodes;
  for (int g = 0; g < ep; ++g) {
    auto [it, inserted] = index.try_emplace(topo.gpu_host(g), nodes.size());
    if (inserted) nodes.emplace_back();
    nodes[it->second].push_back(g);
  }
  return nodes;
}

class TraceSearch {
 public:
  TraceSearch(const PlacementProblem& p, const LayerPlacement& start, double link_norm_s)
      : p_(p),
        st_(*p.trace, start, p.num_experts(), p.objective, link_norm_s),
        rng_(p.seed),
        nodes_(ranks_by_node(p.trace->routes->topology(), p.num_gpus)),
        node_of_rank_(static_cast<std::size_t>(p.num_gpus)) {
    best_ = st_.value();
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      for (int g : nodes_[n]) node_of_rank_[static_cast<std::size_t>(g)] = static_cast<int>(n);
  }

  LayerPlacement run() {
    const int slots = p_.num_gpus * p_.slots_per_gpu;
    // A trace move costs O(tokens of the experts it touches) (about 0.3 ms per move at EP 256 with
    // 16384 tokens per layer on the 2-core dev machine), far more than a uniform-model move, so the
    // budget is smaller: 556 moves at EP 256. Measured on layers 3-6 of the generated DeepSeek-V3
    // trace (prefill_in4096, 64 tokens per GPU, seed 1, node forwarding): the sum of the four
    // bottleneck times is 321 us after 556 moves with bottleneck swaps, 310 us after 1168, and was
    // 347 us after 1168 moves without them (docs/placement.md).
    const int budget = p_.max_moves > 0 ? p_.max_moves : std::min(1000, 300 + slots);
    const int patience = std::max(300, budget / 3);
    const bool spare = slots > p_.num_experts();
    int since = 0;
    for (int move = 0; move < budget && since < patience; ++move) {
      const auto r = rng_() % 10;
      bool improved = r < 4 ? bottleneck_swap() : r < 7 ? targeted_swap() : (r < 9 || !spare) ? random_swap() : rereplicate();
      since = improved ? 0 : since + 1;
    }
    return st_.placement();
  }

 private:
  int S() const { return p_.slots_per_gpu; }
  int expert_at(int slot) const { return st_.placement().slot_expert[static_cast<std::size_t>(slot)]; }
  bool holds(int g, int e) const {
    for (int s = 0; s < S(); ++s)
      if (expert_at(g * S() + s) == e) return true;
    return false;
  }
  int slot_of(int g, int e) const {
    for (int s = 0; s < S(); ++s)
      if (expert_at(g * S() + s) == e) return g * S() + s;
    return -1;
  }
  std::vector<int> replicas_of(int e) const { return st_.placement().gpus_of_expert(e); }

  bool try_change(const std::vector<std::pair<int, int>>& change) {
    st_.change_slots(change);
    ObjectiveValue v = st_.value();
    if (v < best_) {
      best_ = v;
      return true;
    }
    st_.revert();
    return false;
  }

  // Swap slots sa (rank a) and sb (rank b != a) if feasible and improving.
  bool swap_slots(int sa, int sb) {
    const int a = sa / S(), b = sb / S();
    const int ea = expert_at(sa), eb = expert_at(sb);
    if (a == b || ea == eb) return false;
    if ((ea >= 0 && holds(b, ea)) || (eb >= 0 && holds(a, eb))) return false;
    return try_change({{sa, eb}, {sb, ea}});
  }

  bool random_swap() {
    const int G = p_.num_gpus;
    if (G < 2) return false;
    int a = pick(rng_, G), b = pick(rng_, G - 1);
    if (b >= a) ++b;
    return swap_slots(a * S() + pick(rng_, S()), b * S() + pick(rng_, S()));
  }

  // A replica on the node (host) at an end of the busiest link is swapped with a random slot on
  // another node: moves load off the bottleneck directly.
  bool bottleneck_swap() {
    const int l = st_.bottleneck_link();
    if (l < 0 || nodes_.size() < 2) return random_swap();
    const Topology& topo = p_.trace->routes->topology();
    const Link& link = topo.link(l);
    int host = topo.device(link.dst).host;
    if (host < 0) host = topo.device(link.src).host;
    int node = -1;
    for (std::size_t n = 0; n < nodes_.size() && node < 0; ++n)
      if (topo.gpu_host(nodes_[n].front()) == host) node = static_cast<int>(n);
    if (node < 0) return random_swap();
    const auto& ranks = nodes_[static_cast<std::size_t>(node)];
    const int a = ranks[static_cast<std::size_t>(pick(rng_, static_cast<int>(ranks.size())))];
    int other = pick(rng_, static_cast<int>(nodes_.size()) - 1);
    if (other >= node) ++other;
    const auto& dst = nodes_[static_cast<std::size_t>(other)];
    const int b = dst[static_cast<std::size_t>(pick(rng_, static_cast<int>(dst.size())))];
    return swap_slots(a * S() + pick(rng_, S()), b * S() + pick(rng_, S()));
  }

  // A random token's expert e2 on another node than its expert e1 is swapped onto e1's node.
  bool targeted_swap() {
    const TraceLayer& L = *p_.trace->layer;
    const int k = p_.trace->top_k;
    if (L.num_tokens() == 0 || k < 2 || nodes_.size() < 2) return random_swap();
    auto ex = L.token_experts(pick(rng_, L.num_tokens()), k);
    int j1 = pick(rng_, k), j2 = pick(rng_, k - 1);
    if (j2 >= j1) ++j2;
    auto g1s = replicas_of(ex[static_cast<std::size_t>(j1)]);
    auto g2s = replicas_of(ex[static_cast<std::size_t>(j2)]);
    const int g1 = g1s[static_cast<std::size_t>(pick(rng_, static_cast<int>(g1s.size())))];
    const int g2 = g2s[static_cast<std::size_t>(pick(rng_, static_cast<int>(g2s.size())))];
    const auto& node = nodes_[static_cast<std::size_t>(node_of_rank_[static_cast<std::size_t>(g1)])];
    if (node_of_rank_[static_cast<std::size_t>(g2)] == node_of_rank_[static_cast<std::size_t>(g1)]) return false;
    const int b = node[static_cast<std::size_t>(pick(rng_, static_cast<int>(node.size())))];
    return swap_slots(slot_of(g2, ex[static_cast<std::size_t>(j2)]), b * S() + pick(rng_, S()));
  }

  // One more replica for a heavy (or random) expert x in a slot taken from an empty slot or from an
  // expert y with >= 2 replicas.
  bool rereplicate() {
    const int E = p_.num_experts(), G = p_.num_gpus;
    int x = -1;
    if (rng_() % 2 == 0) {
      double best_share = -1;
      for (int e = 0; e < E; ++e) {
        int r = static_cast<int>(replicas_of(e).size());
        double share = p_.load[static_cast<std::size_t>(e)] / r;
        if (r < G && share > best_share) best_share = share, x = e;
      }
    } else {
      x = pick(rng_, E);
    }
    if (x < 0 || static_cast<int>(replicas_of(x).size()) >= G) return false;
    const int slot = pick(rng_, G * S());
    const int y = expert_at(slot);
    if (y == x || holds(slot / S(), x)) return false;
    if (y >= 0 && replicas_of(y).size() < 2) return false;
    return try_change({{slot, x}});
  }

  const PlacementProblem& p_;
  TraceLayerState st_;
  std::mt19937_64 rng_;
  std::vector<std::vector<int>> nodes_;
  std::vector<int> node_of_rank_;
  ObjectiveValue best_;
};

}  // namespace

LayerPlacement coactivation_start(const PlacementProblem& p, const TraceLayer& layer, int top_k) {
  const int E = p.num_experts(), G = p.num_gpus, S = p.slots_per_gpu;
  const auto nodes = ranks_by_node(p.trace->routes->topology(), G);
  // shared[e * E + x]: tokens that select both e and x.
  std::vector<double> shared(static_cast<std::size_t>(E) * static_cast<std::size_t>(E), 0.0);
  for (int t = 0; t < layer.num_tokens(); ++t) {
    auto ex = layer.token_experts(t, top_k);
    for (int a : ex)
      for (int b : ex)
        if (a != b && a >= 0 && a < E && b >= 0 && b < E) shared[static_cast<std::size_t>(a) * E + b] += 1;
  }
  // Primaries per node: E x ranks / G, remainders to the first nodes.
  std::vector<int> primaries(nodes.size());
  int given = 0;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    primaries[n] = E * static_cast<int>(nodes[n].size()) / G;
    given += primaries[n];
  }
  for (std::size_t n = 0; given < E && n < nodes.size(); ++n)
    if (primaries[n] < S * static_cast<int>(nodes[n].size())) ++primaries[n], ++given;
  std::vector<char> assigned(static_cast<std::size_t>(E), 0);
  LayerPlacement pl;
  pl.num_gpus = G;
  pl.slots_per_gpu = S;
  pl.slot_expert.assign(static_cast<std::size_t>(G) * S, -1);
  std::vector<double> score(static_cast<std::size_t>(E));
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    std::vector<int> members;
    std::fill(score.begin(), score.end(), 0.0);
    while (static_cast<int>(members.size()) < primaries[n]) {
      int best = -1;
      for (int e = 0; e < E; ++e) {
        if (assigned[static_cast<std::size_t>(e)]) continue;
        auto key = [&](int x) { return std::pair{score[static_cast<std::size_t>(x)], p.load[static_cast<std::size_t>(x)]}; };
        if (best < 0 || key(e) > key(best)) best = e;
      }
      assigned[static_cast<std::size_t>(best)] = 1;
      members.push_back(best);
      for (int e = 0; e < E; ++e) score[static_cast<std::size_t>(e)] += shared[static_cast<std::size_t>(best) * E + e];
    }
    // Replicas inside the node.
    const int ranks = static_cast<int>(nodes[n].size());
    std::vector<int> reps(members.size(), 1);
    for (int spare = ranks * S - static_cast<int>(members.size()); spare > 0; --spare) {
      int best = -1;
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (reps[i] >= ranks) continue;
        double share = p.load[static_cast<std::size_t>(members[i])] / reps[i];
        if (best < 0 || share > p.load[static_cast<std::size_t>(members[static_cast<std::size_t>(best)])] / reps[static_cast<std::size_t>(best)])
          best = static_cast<int>(i);
      }
      if (best < 0) break;
      reps[static_cast<std::size_t>(best)] += 1;
    }
    std::vector<std::pair<double, int>> items;
    for (std::size_t i = 0; i < members.size(); ++i)
      for (int r = 0; r < reps[i]; ++r) items.emplace_back(p.load[static_cast<std::size_t>(members[i])] / reps[i], members[i]);
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<double> tokens(static_cast<std::size_t>(ranks), 0.0);
    std::vector<int> used(static_cast<std::size_t>(ranks), 0);
    for (const auto& [share, e] : items) {
      int best = -1;
      for (int r = 0; r < ranks; ++r) {
        const int g = nodes[n][static_cast<std::size_t>(r)];
        if (used[static_cast<std::size_t>(r)] >= S) continue;
        bool has = false;
        for (int s = 0; s < used[static_cast<std::size_t>(r)]; ++s) has |= pl.slot_expert[static_cast<std::size_t>(g * S + s)] == e;
        if (has) continue;
        if (best < 0 || tokens[static_cast<std::size_t>(r)] < tokens[static_cast<std::size_t>(best)]) best = r;
      }
      if (best < 0)
        throw InputError(fmt::format("group-per-node start: expert {} cannot get a rank of its node without a duplicate", e));
      const int g = nodes[n][static_cast<std::size_t>(best)];
      pl.slot_expert[static_cast<std::size_t>(g * S + used[static_cast<std::size_t>(best)]++)] = e;
      tokens[static_cast<std::size_t>(best)] += share;
    }
  }
  return pl;
}

LayerPlacement node_copy_start(const PlacementProblem& p) {
  const int E = p.num_experts(), G = p.num_gpus, S = p.slots_per_gpu;
  const auto nodes = ranks_by_node(p.trace->routes->topology(), G);
  for (const auto& n : nodes)
    if (static_cast<int>(n.size()) * S < E) throw InputError("node-copy start: a node has fewer slots than experts");
  // Every node is a node-local problem holding all experts: place_node_local_greedy per node.
  std::vector<int> node_of_gpu(static_cast<std::size_t>(G));
  for (std::size_t n = 0; n < nodes.size(); ++n)
    for (int g : nodes[n]) node_of_gpu[static_cast<std::size_t>(g)] = static_cast<int>(n);
  LayerPlacement pl{G, S, std::vector<int>(static_cast<std::size_t>(G) * S, -1)};
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    PlacementProblem one = p;
    one.trace = nullptr;
    one.windows.clear();
    one.node_of_gpu = node_of_gpu;
    one.expert_node.assign(static_cast<std::size_t>(E), static_cast<int>(n));
    LayerPlacement part = place_node_local_greedy(one);
    for (int g : nodes[n])
      for (int s = 0; s < S; ++s)
        pl.slot_expert[static_cast<std::size_t>(g * S + s)] = part.slot_expert[static_cast<std::size_t>(g * S + s)];
  }
  return pl;
}

LayerPlacement place_epsim_trace(const PlacementProblem& p) {
  if (p.trace == nullptr || p.links == nullptr) throw std::logic_error("place_epsim_trace needs the trace and link model");
  PlacementProblem uniform = p;
  uniform.trace = nullptr;
  std::vector<LayerPlacement> starts{place_greedy(p)};
  if (p.num_experts() >= p.num_gpus) starts.push_back(place_contiguous(p));
  try {
    starts.push_back(place_eplb(p, nullptr));
  } catch (const InputError&) {
    // EPLB's preconditions do not hold: the other starts remain.
  }
  starts.push_back(place_epsim(uniform));
  try {
    starts.push_back(coactivation_start(p, *p.trace->layer, p.trace->top_k));
  } catch (const InputError&) {
    // The node's replicas could not be packed: the other starts remain.
  }
  try {
    starts.push_back(node_copy_start(p));
  } catch (const InputError&) {
    // Some node has fewer slots than experts: no node can serve every token itself.
  }
  // `balanced` divides the link time by the smallest start's link time (a scale, not a bound).
  double norm = 0;
  if (p.objective == ObjectiveKind::balanced) {
    for (const auto& s : starts) {
      double t = TraceLayerState(*p.trace, s, p.num_experts(), ObjectiveKind::link).bottleneck_s();
      if (t > 0 && (norm == 0 || t < norm)) norm = t;
    }
  }
  std::size_t best = 0;
  ObjectiveValue best_value;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    ObjectiveValue v = trace_objective(*p.trace, starts[i], p.num_experts(), p.objective, norm);
    if (i == 0 || v < best_value) best_value = v, best = i;
  }
  return TraceSearch(p, starts[best], norm).run();
}

}  // namespace epsim
