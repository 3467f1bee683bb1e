// The `epsim` placement algorithm: local search over replica counts and placement with incremental
// link-load evaluation. See algorithms.hpp for the contract.
#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "placement/algorithms/exact.hpp"
#include "placement/algorithms/node_local.hpp"
#include "placement/algorithms/replica_packing.hpp"
#include "placement/algorithms/trace_search.hpp"

namespace epsim {

namespace {

// Lower bounds used to normalize the `balanced` objective: mean tokens per rank, and the link time
// of a perfectly balanced load (every rank computing the mean).
std::pair<double, double> balanced_normalizers(const PlacementProblem& p) {
  double total = 0;
  for (double v : p.load) total += v;
  double mean = total / p.num_gpus;
  if (mean <= 0) return {1.0, 1.0};
  std::vector<double> even(static_cast<std::size_t>(p.num_gpus), mean);
  LayerEvaluator eval(*p.links, p.dispatch_bytes_per_token, p.combine_bytes_per_token, ObjectiveKind::link);
  eval.reset(even);
  double t = eval.link_time_s();
  return {mean, t > 0 ? t : 1.0};
}

LayerEvaluator make_evaluator(const PlacementProblem& p) {
  auto [token_lb, link_lb] = p.objective == ObjectiveKind::balanced ? balanced_normalizers(p) : std::pair{0.0, 0.0};
  return LayerEvaluator(*p.links, p.dispatch_bytes_per_token, p.combine_bytes_per_token, p.objective, token_lb, link_lb,
                        p.row_split);
}

// Search state: the placement plus replica counts and holders, kept consistent by every move.
class SearchState {
 public:
  SearchState(const PlacementProblem& p, LayerPlacement start) : p_(&p), pl_(std::move(start)) {
    replicas_ = pl_.replica_counts(p.num_experts());
  }
  const LayerPlacement& placement() const { return pl_; }
  int replicas(int e) const { return replicas_[static_cast<std::size_t>(e)]; }
  double share(int e) const { return e < 0 ? 0.0 : p_->load[static_cast<std::size_t>(e)] / replicas_[static_cast<std::size_t>(e)]; }
  int expert_at(int slot) const { return pl_.slot_expert[static_cast<std::size_t>(slot)]; }
  bool holds(int gpu, int e) const {
    for (int s = 0; s < pl_.slots_per_gpu; ++s)
      if (pl_.slot_expert[static_cast<std::size_t>(gpu * pl_.slots_per_gpu + s)] == e) return true;
    return false;
  }
  void set_slot(int slot, int e) { pl_.slot_expert[static_cast<std::size_t>(slot)] = e; }
  void add_replica(int e, int delta) { replicas_[static_cast<std::size_t>(e)] += delta; }

 private:
  const PlacementProblem* p_;
  LayerPlacement pl_;
  std::vector<int> replicas_;
};

// Uniform integer in [0, n) from a 64-bit engine, identical on every platform.
int pick(std::mt19937_64& rng, int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }

// The windows a search evaluates: the single load, or every window of a robust problem.
std::vector<const std::vector<double>*> search_windows(const PlacementProblem& p) {
  std::vector<const std::vector<double>*> w;
  if (p.windows.empty()) w.push_back(&p.load);
  for (const auto& l : p.windows) w.push_back(&l);
  return w;
}

// Objective of a placement over the windows (one evaluator per window, in the order of
// search_windows): the single window's value, or the RobustKind combination of their primaries
// (penalties added, secondaries summed).
ObjectiveValue combine_windows(const PlacementProblem& p, const std::vector<ObjectiveValue>& values) {
  if (values.size() == 1) return values.front();
  ObjectiveValue out;
  for (std::size_t w = 0; w < values.size(); ++w) {
    const ObjectiveValue& v = values[w];
    out.penalty += v.penalty;
    out.secondary += v.secondary;
    if (p.robust == RobustKind::mean) out.primary += v.primary / static_cast<double>(values.size());
    else out.primary = std::max(out.primary, v.primary / p.window_scale[w]);
  }
  return out;
}

ObjectiveValue combined_value(const PlacementProblem& p, const std::vector<LayerEvaluator>& evals) {
  std::vector<ObjectiveValue> values;
  for (const LayerEvaluator& e : evals) values.push_back(e.value());
  return combine_windows(p, values);
}

class LocalSearch {
 public:
  LocalSearch(const PlacementProblem& p, LayerPlacement start)
      : p_(p), state_(p, std::move(start)), windows_(search_windows(p)), rng_(p.seed) {
    for (std::size_t w = 0; w < windows_.size(); ++w) evals_.push_back(make_evaluator(p));
    reset_evaluators();
  }

  // Iterated local search: hill-climb until `patience` moves bring nothing, then restart from the
  // best placement seen, perturbed by a few random feasible swaps; the best placement is returned.
  LayerPlacement run() {
    const int slots = p_.num_gpus * p_.slots_per_gpu;
    // Budget and patience grow with the slots (more replicas to arrange) and are bounded so that a
    // layer of EP 256 stays well under 100 ms.
    const int budget = (p_.max_moves > 0 ? p_.max_moves : std::min(12000, 1500 + 12 * slots)) * (p_.windows.empty() ? 1 : 8);
    const int rounds = 6;
    const int per_round = budget / rounds;
    const int patience = std::max(200, per_round / 3);
    LayerPlacement best_placement = state_.placement();
    ObjectiveValue best_value = best_;
    for (int round = 0; round < rounds; ++round) {
      int since_improvement = 0;
      for (int move = 0; move < per_round && since_improvement < patience; ++move) {
        bool improved = (rng_() % 10 < 6) ? try_swap() : try_rereplicate();
        since_improvement = improved ? 0 : since_improvement + 1;
      }
      if (best_ < best_value) {
        best_value = best_;
        best_placement = state_.placement();
      }
      if (round + 1 < rounds) perturb(best_placement);
    }
    return best_placement;
  }

 private:
  using Deltas = std::vector<std::pair<int, double>>;

  void reset_evaluators() {
    for (std::size_t w = 0; w < windows_.size(); ++w) evals_[w].reset(gpu_token_loads(state_.placement(), *windows_[w]));
    best_ = combined_value(p_, evals_);
  }

  // Restart from `from` with max(2, G / 4) random feasible swaps applied regardless of the objective.
  void perturb(const LayerPlacement& from) {
    state_ = SearchState(p_, from);
    const int G = p_.num_gpus, S = p_.slots_per_gpu;
    if (G >= 2) {
      for (int k = 0; k < std::max(2, G / 4); ++k) {
        int a = pick(rng_, G), b = pick(rng_, G - 1);
        if (b >= a) ++b;
        int sa = a * S + pick(rng_, S), sb = b * S + pick(rng_, S);
        int ea = state_.expert_at(sa), eb = state_.expert_at(sb);
        if (ea == eb || (ea >= 0 && state_.holds(b, ea)) || (eb >= 0 && state_.holds(a, eb))) continue;
        if (!p_.allowed(b, ea) || !p_.allowed(a, eb)) continue;
        state_.set_slot(sa, eb);
        state_.set_slot(sb, ea);
      }
    }
    reset_evaluators();
  }

  // Accept the move if it improves the objective (evaluated without changing the loads, then
  // committed; the caller undoes the placement change when this returns false). deltas(load) gives
  // the move's token changes per rank under one window's expert loads.
  template <typename DeltaFn>
  bool accept_or_revert(DeltaFn deltas) {
    tried_.resize(windows_.size());
    for (std::size_t w = 0; w < windows_.size(); ++w) tried_[w] = evals_[w].try_deltas(deltas(*windows_[w]));
    ObjectiveValue v = combine_windows(p_, tried_);
    if (!(v < best_)) return false;
    for (LayerEvaluator& e : evals_) e.commit();
    best_ = v;
    return true;
  }

  // Busiest rank of the first window (the single window, or the first of a robust problem).
  int busiest_rank() const {
    const auto& t = evals_.front().gpu_tokens();
    return static_cast<int>(std::max_element(t.begin(), t.end()) - t.begin());
  }

  double share(const std::vector<double>& load, int e, int replicas) const {
    return e < 0 ? 0.0 : load[static_cast<std::size_t>(e)] / replicas;
  }

  bool try_swap() {
    const int G = p_.num_gpus, S = p_.slots_per_gpu;
    if (G < 2) return false;
    int a = (rng_() % 2 == 0) ? busiest_rank() : pick(rng_, G);
    int b = pick(rng_, G - 1);
    if (b >= a) ++b;
    int sa = a * S + pick(rng_, S), sb = b * S + pick(rng_, S);
    int ea = state_.expert_at(sa), eb = state_.expert_at(sb);
    if (ea == eb) return false;
    if ((ea >= 0 && state_.holds(b, ea)) || (eb >= 0 && state_.holds(a, eb))) return false;
    if (!p_.allowed(b, ea) || !p_.allowed(a, eb)) return false;
    const int ra = ea >= 0 ? state_.replicas(ea) : 1, rb = eb >= 0 ? state_.replicas(eb) : 1;
    if (windows_.size() == 1 && state_.share(eb) - state_.share(ea) == 0.0) return false;
    bool ok = accept_or_revert([&](const std::vector<double>& load) {
      double d = share(load, eb, rb) - share(load, ea, ra);
      return Deltas{{a, d}, {b, -d}};
    });
    if (!ok) return false;
    state_.set_slot(sa, eb);
    state_.set_slot(sb, ea);
    return true;
  }

  // Give one more replica to the expert with the heaviest per-replica load, taking the slot from
  // an empty slot or from a replica of a lightly loaded multi-replica expert.
  bool try_rereplicate() {
    const int E = p_.num_experts(), G = p_.num_gpus, S = p_.slots_per_gpu;
    // Half of the time the expert with the heaviest replicas, otherwise any expert (replica counts
    // that the greedy rule never reaches can be optimal, e.g. the EPLB example's 136).
    int x = -1;
    if (rng_() % 2 == 0) {
      for (int e = 0; e < E; ++e)
        if (state_.replicas(e) < G && (x < 0 || state_.share(e) > state_.share(x))) x = e;
    } else {
      x = pick(rng_, E);
    }
    if (x < 0 || state_.replicas(x) >= G) return false;
    int slot = pick(rng_, G * S);
    int y = state_.expert_at(slot);
    int g = slot / S;
    if (y == x || state_.holds(g, x) || !p_.allowed(g, x)) return false;
    if (y >= 0 && state_.replicas(y) < 2) return false;
    const int rx = state_.replicas(x), ry = y >= 0 ? state_.replicas(y) : 0;
    const std::vector<int> gx = state_.placement().gpus_of_expert(x);
    const std::vector<int> gy = y >= 0 ? state_.placement().gpus_of_expert(y) : std::vector<int>{};
    bool ok = accept_or_revert([&](const std::vector<double>& load) {
      const double old_x = load[static_cast<std::size_t>(x)] / rx, new_x = load[static_cast<std::size_t>(x)] / (rx + 1);
      Deltas deltas;
      for (int gg : gx) deltas.emplace_back(gg, new_x - old_x);
      deltas.emplace_back(g, new_x);
      if (y >= 0) {
        const double old_y = load[static_cast<std::size_t>(y)] / ry, new_y = load[static_cast<std::size_t>(y)] / (ry - 1);
        deltas.emplace_back(g, -old_y);
        for (int gg : gy)
          if (gg != g) deltas.emplace_back(gg, new_y - old_y);
      }
      return deltas;
    });
    if (!ok) return false;
    state_.set_slot(slot, x);
    state_.add_replica(x, 1);
    if (y >= 0) state_.add_replica(y, -1);
    return true;
  }

  const PlacementProblem& p_;
  SearchState state_;
  std::vector<const std::vector<double>*> windows_;
  std::vector<LayerEvaluator> evals_;
  std::vector<ObjectiveValue> tried_;  ///< scratch: each window's value of the move being tried
  std::mt19937_64 rng_;
  ObjectiveValue best_;
};

}  // namespace

ObjectiveValue evaluate_placement(const PlacementProblem& p, const LayerPlacement& placement) {
  if (p.links == nullptr) throw std::logic_error("evaluate_placement needs the link model");
  std::vector<LayerEvaluator> evals;
  for (const std::vector<double>* load : search_windows(p)) {
    evals.push_back(make_evaluator(p));
    evals.back().reset(gpu_token_loads(placement, *load));
  }
  return combined_value(p, evals);
}

LayerPlacement place_epsim(const PlacementProblem& p) {
  if (p.links == nullptr) throw std::logic_error("the epsim algorithm needs the link model");
  if (p.trace != nullptr) return place_epsim_trace(p);
  if (p.warm_start != nullptr) return LocalSearch(p, *p.warm_start).run();
  std::vector<LayerPlacement> starts{place_greedy(p)};
  if (p.num_experts() >= p.num_gpus) starts.push_back(place_contiguous(p));
  try {
    starts.push_back(place_eplb(p, nullptr));
  } catch (const InputError&) {
    // EPLB's preconditions (e.g. slots a multiple of ranks) do not hold: the other starts remain.
  }
  if (p.num_gpus * p.slots_per_gpu > p.num_experts()) {
    try {
      starts.push_back(place_replica_packing(p));
    } catch (const InputError&) {
      // A replica found no GPU without its expert: the other starts remain.
    }
  }
  // Node-local replicas: only starts that keep every replica on its expert's node.
  starts.erase(std::remove_if(starts.begin(), starts.end(),
                              [&](const LayerPlacement& s) { return !respects_node_local(p, s); }),
               starts.end());
  // Tiny instances with a replica choice (E < G x S <= 16, the EPLB example's size): the exact
  // solver's min-max-load placement is a start too. Without redundant slots its packing search can
  // take seconds, so it is not used there. The search is bounded by nodes; the 1 s safety limit of
  // its GLPK fallback is the only wall-clock dependence (not reached on such sizes in our tests).
  if (p.num_gpus * p.slots_per_gpu <= 16 && p.num_experts() < p.num_gpus * p.slots_per_gpu && !p.node_local()) {
    try {
      starts.push_back(exact_min_max_load(p.load, p.num_gpus, p.slots_per_gpu, 1.0, 20000).placement);
    } catch (const std::exception&) {
      // No solution within the limits: the heuristic starts remain.
    }
  }
  std::size_t best = 0;
  ObjectiveValue best_value = evaluate_placement(p, starts[0]);
  for (std::size_t i = 1; i < starts.size(); ++i) {
    ObjectiveValue v = evaluate_placement(p, starts[i]);
    if (v < best_value) {
      best_value = v;
      best = i;
    }
  }
  return LocalSearch(p, std::move(starts[best])).run();
}

}  // namespace epsim
