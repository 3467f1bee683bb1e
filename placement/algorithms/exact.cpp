#include "placement/algorithms/exact.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <numeric>

#include "common/error.hpp"
#include "placement/bounds/bounds.hpp"
#include "placement/bounds/glpk_model.hpp"

namespace epsim {

// Method. The problem: choose replica counts 1 <= r_e <= G (sum r_e <= G*S) and a placement (replicas
// of one expert on distinct GPUs, <= S per GPU) minimizing max_g sum_{e on g} w_e / r_e.
//
// A single MILP with binary z_{e,r} (choice of r_e) and y_{e,g} (placement) needs the bilinear
// w_e / r_e * y_{e,g} linearized with big-M rows; GLPK's branch and bound on that model, with its
// 8!-fold GPU symmetry and an LP bound stuck at W / G, did not even find a feasible point in 60 s on
// the 12-expert README case. So the choice of r is taken out of the MILP and enumerated exactly:
//  1. Enumerate every count vector r (depth-first over experts) that could beat the incumbent: r_e
//     must satisfy w_e / r_e < incumbent. For each r compute a valid lower bound LB(r): W / G, the
//     largest replica p_1, and for k = 1..S-1 the pigeonhole bound "of the k*G + 1 largest replicas
//     some GPU holds k + 1, so it carries at least the k + 1 smallest of them".
//  2. Visit the r in increasing LB(r); stop when LB(r) >= incumbent (every remaining r is proven no
//     better). For each r a greedy packing may improve the incumbent, then, while LB(r) < incumbent:
//     a. a depth-first packing search (pack_below) looks for a placement with every GPU load
//        <= incumbent (1 - 1e-9); found -> new incumbent, repeat; proven impossible -> next r.
//     b. if that search exceeds its node limit, the fixed-r MILP decides (no linearization needed,
//        r is data), solved with glp_intopt:
//          y_{e,g} in {0,1}:  sum_g y_{e,g} = r_e;  sum_e y_{e,g} <= S;
//          L_g = sum_e (w_e / r_e) y_{e,g} <= T;  L_g >= L_{g+1} (GPU relabelling symmetry broken);
//          LB(r) <= T <= incumbent (1 - 1e-9);  minimize T.
//        Infeasible proves r cannot beat the incumbent; optimal replaces it. (The MILP alone took
//        1.5 to 16+ s per count vector to prove infeasibility on the README case; the search takes
//        milliseconds, so the MILP is the fallback, not the workhorse.)
// Every step is exact, so when every r is resolved the incumbent is optimal (to 1e-9 relative).
namespace {

using std::size_t;
constexpr double kRelTol = 1e-9;
/// Count vectors kept by step 1 (memory cap, ~E * 4 bytes each); beyond it the result is unproven.
constexpr std::size_t kMaxCountVectors = 500'000;

/// Lower bound on the max GPU load for fixed replica counts (see the method comment, step 1).
double counts_lower_bound(const std::vector<double>& w, const std::vector<int>& r, int G, int S, double total) {
  std::vector<double> p;
  for (size_t e = 0; e < w.size(); ++e) p.insert(p.end(), static_cast<size_t>(r[e]), w[e] / r[e]);
  std::sort(p.begin(), p.end(), std::greater<>());
  double lb = std::max(total / G, p.front());
  for (int k = 1; k < S; ++k) {
    const size_t m = static_cast<size_t>(k) * static_cast<size_t>(G) + 1;  // top m replicas, 1-based p_1..p_m
    if (p.size() < m) break;
    lb = std::max(lb, std::accumulate(p.begin() + static_cast<std::ptrdiff_t>(m - static_cast<size_t>(k) - 1),
                                      p.begin() + static_cast<std::ptrdiff_t>(m), 0.0));
  }
  return lb;
}

/// Greedy packing for fixed counts; returns an empty placement if it gets stuck.
LayerPlacement greedy_pack(const std::vector<double>& w, const std::vector<int>& r, int G, int S) {
  std::vector<std::pair<double, int>> reps;
  for (size_t e = 0; e < w.size(); ++e)
    for (int k = 0; k < r[e]; ++k) reps.emplace_back(w[e] / r[e], static_cast<int>(e));
  std::stable_sort(reps.begin(), reps.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  LayerPlacement pl{G, S, std::vector<int>(static_cast<size_t>(G * S), -1)};
  std::vector<double> load(static_cast<size_t>(G), 0.0);
  std::vector<int> used(static_cast<size_t>(G), 0);
  for (const auto& [v, e] : reps) {
    int best = -1;
    for (int g = 0; g < G; ++g) {
      if (used[static_cast<size_t>(g)] == S) continue;
      bool has = false;
      for (int s = 0; s < used[static_cast<size_t>(g)]; ++s) has |= pl.slot_expert[static_cast<size_t>(g * S + s)] == e;
      if (!has && (best < 0 || load[static_cast<size_t>(g)] < load[static_cast<size_t>(best)])) best = g;
    }
    if (best < 0) return {};
    const size_t b = static_cast<size_t>(best);
    pl.slot_expert[b * static_cast<size_t>(S) + static_cast<size_t>(used[b]++)] = e;
    load[b] += v;
  }
  return pl;
}

double max_gpu_load(const LayerPlacement& pl, const std::vector<double>& w) {
  const auto g = gpu_token_loads(pl, w);
  return *std::max_element(g.begin(), g.end());
}

enum class Pack { found, infeasible, gave_up };

/// Depth-first search for a placement with fixed counts r and every GPU load <= ub (method step 2a).
/// Replicas go largest first; copies of one expert take increasing GPU indices and only the first
/// empty GPU is tried (both are relabellings of GPUs, so no solution is lost). Gives up after
/// node_limit nodes.
Pack pack_below(const std::vector<double>& w, const std::vector<int>& r, int G, int S, double ub, long node_limit,
                LayerPlacement& out) {
  struct Rep {
    double p;
    int e;
  };
  std::vector<Rep> reps;
  for (size_t e = 0; e < w.size(); ++e)
    for (int k = 0; k < r[e]; ++k) reps.push_back({w[e] / r[e], static_cast<int>(e)});
  std::stable_sort(reps.begin(), reps.end(), [](const Rep& a, const Rep& b) { return a.p > b.p; });
  std::vector<double> suffix(reps.size() + 1, 0.0);  // tokens of replicas i.. not yet placed
  for (size_t i = reps.size(); i-- > 0;) suffix[i] = suffix[i + 1] + reps[i].p;
  const size_t Gs = static_cast<size_t>(G);
  std::vector<double> load(Gs, 0.0);
  std::vector<int> used(Gs, 0), gpu_of(reps.size(), -1), last(w.size(), -1);
  std::vector<char> has(w.size() * Gs, 0);
  long nodes = 0;
  double placed = 0.0;
  std::function<Pack(size_t)> place = [&](size_t i) -> Pack {
    if (i == reps.size()) return Pack::found;
    if (++nodes > node_limit) return Pack::gave_up;
    if (placed + suffix[i] > G * ub) return Pack::infeasible;  // not enough room left under ub
    const Rep& rp = reps[i];
    const size_t e = static_cast<size_t>(rp.e);
    bool tried_empty = false;
    for (int g = last[e] + 1; g < G; ++g) {
      const size_t gi = static_cast<size_t>(g);
      if (used[gi] == S || has[e * Gs + gi] || load[gi] + rp.p > ub) continue;
      if (used[gi] == 0) {
        if (tried_empty) continue;
        tried_empty = true;
      }
      const int prev_last = last[e];
      load[gi] += rp.p;
      placed += rp.p;
      ++used[gi];
      has[e * Gs + gi] = 1;
      last[e] = g;
      gpu_of[i] = g;
      const Pack sub = place(i + 1);
      if (sub != Pack::infeasible) return sub;
      load[gi] -= rp.p;
      placed -= rp.p;
      --used[gi];
      has[e * Gs + gi] = 0;
      last[e] = prev_last;
    }
    return Pack::infeasible;
  };
  const Pack result = place(0);
  if (result == Pack::found) {
    out = LayerPlacement{G, S, std::vector<int>(static_cast<size_t>(G * S), -1)};
    std::vector<int> fill(Gs, 0);
    for (size_t i = 0; i < reps.size(); ++i) {
      const size_t g = static_cast<size_t>(gpu_of[i]);
      out.slot_expert[g * static_cast<size_t>(S) + static_cast<size_t>(fill[g]++)] = reps[i].e;
    }
  }
  return result;
}

/// The fixed-r MILP (method step 2). Returns the outcome; on optimal fills `out`.
detail::GlpkModel::Mip solve_fixed_counts(const std::vector<double>& w, const std::vector<int>& r, int G, int S,
                                          double lb, double ub, double time_limit_s, LayerPlacement& out) {
  const size_t E = w.size();
  double scale = *std::max_element(w.begin(), w.end());
  if (scale <= 0.0) scale = 1.0;
  detail::GlpkModel m("exact_fixed_counts");
  std::vector<int> y(E * static_cast<size_t>(G));
  for (auto& c : y) c = m.add_col(0, 1, 0, false, true);
  const int T = m.add_col(lb / scale * (1.0 - kRelTol), ub / scale, 1.0);
  auto yi = [&](size_t e, int g) { return y[e * static_cast<size_t>(G) + static_cast<size_t>(g)]; };
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t e = 0; e < E; ++e) {
    std::vector<std::pair<int, double>> t;
    for (int g = 0; g < G; ++g) t.emplace_back(yi(e, g), 1.0);
    m.add_row(r[e], r[e], t);
  }
  for (int g = 0; g < G; ++g) {
    std::vector<std::pair<int, double>> slots, cap{{T, -1.0}}, order;
    for (size_t e = 0; e < E; ++e) {
      const double p = w[e] / r[e] / scale;
      slots.emplace_back(yi(e, g), 1.0);
      cap.emplace_back(yi(e, g), p);
      if (g + 1 < G) {
        order.emplace_back(yi(e, g), p);
        order.emplace_back(yi(e, g + 1), -p);
      }
    }
    m.add_row(-inf, S, slots);
    m.add_row(-inf, 0.0, cap);
    if (g + 1 < G) m.add_row(0.0, inf, order);
  }
  const auto outcome = m.solve_mip("exact placement MILP (fixed replica counts)", time_limit_s);
  if (outcome == detail::GlpkModel::Mip::optimal || outcome == detail::GlpkModel::Mip::time_limit_feasible) {
    out = LayerPlacement{G, S, std::vector<int>(static_cast<size_t>(G * S), -1)};
    for (int g = 0; g < G; ++g) {
      int used = 0;
      for (size_t e = 0; e < E; ++e)
        if (m.mip_col_value(yi(e, g)) > 0.5) out.slot_expert[static_cast<size_t>(g * S + used++)] = static_cast<int>(e);
    }
  }
  return outcome;
}

}  // namespace

ExactPlacementResult exact_min_max_load(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                        double time_limit_s, long search_node_limit) {
  const int E = static_cast<int>(load.size());
  if (num_gpus > kExactMaxGpus || E > kExactMaxExperts)
    throw InputError(fmt::format("exact placement: {} GPUs and {} experts exceed the exact solver's limits ({} GPUs, "
                                 "{} experts); use a heuristic such as EPLB with the lower bounds instead",
                                 num_gpus, E, kExactMaxGpus, kExactMaxExperts));
  if (search_node_limit < 0)
    throw InputError(fmt::format("exact placement: search_node_limit = {}; expected >= 0", search_node_limit));
  if (!(time_limit_s > 0.0) || !std::isfinite(time_limit_s))
    throw InputError(fmt::format("exact placement: time_limit_s = {}; expected a finite number > 0", time_limit_s));
  // Validates load, num_gpus, slots_per_gpu (InputError) and gives the global lower bound.
  const GpuLoadBounds global_lb = gpu_load_lower_bounds(load, num_gpus, slots_per_gpu, /*solve_lp=*/false);
  const int G = num_gpus, S = slots_per_gpu;
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  ExactPlacementResult res;
  double inc = std::numeric_limits<double>::infinity();
  auto offer = [&](const LayerPlacement& pl) {
    if (pl.slot_expert.empty()) return;
    const double v = max_gpu_load(pl, load);
    if (v < inc) {
      inc = v;
      res.placement = pl;
    }
  };
  if (total == 0.0) {  // nothing to balance: one replica each
    offer(greedy_pack(load, std::vector<int>(static_cast<size_t>(E), 1), G, S));
  } else {
    // Starting incumbent: the replica-budget counts (split the largest replica while slots remain).
    std::vector<int> r0(static_cast<size_t>(E), 1);
    for (int spare = G * S - E; spare > 0; --spare) {
      size_t best = 0;
      for (size_t e = 1; e < r0.size(); ++e)
        if (load[e] / r0[e] > load[best] / r0[best]) best = e;
      if (r0[best] == G) break;
      ++r0[best];
    }
    offer(greedy_pack(load, r0, G, S));
  }

  // Step 1: enumerate count vectors that could beat the incumbent (experts in descending load order).
  std::vector<size_t> order(static_cast<size_t>(E));
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return load[a] > load[b]; });
  std::vector<std::pair<double, std::vector<int>>> cands;
  std::vector<int> r(static_cast<size_t>(E), 1);
  bool cut_short = false;
  std::function<void(size_t, int)> dfs = [&](size_t i, int budget) {
    if (cut_short) return;
    if (i == order.size()) {
      const double lb = counts_lower_bound(load, r, G, S, total);
      if (lb < inc * (1.0 - kRelTol)) cands.emplace_back(lb, r);
      if (cands.size() > kMaxCountVectors || elapsed() > time_limit_s) cut_short = true;
      return;
    }
    const size_t e = order[i];
    const int rest = static_cast<int>(order.size() - i - 1);  // experts still needing >= 1 slot
    const int hi = load[e] == 0.0 ? 1 : std::min(G, budget - rest);
    for (int k = 1; k <= hi; ++k) {
      if (load[e] / k >= inc * (1.0 - kRelTol)) continue;  // a replica alone would reach the incumbent
      r[e] = k;
      dfs(i + 1, budget - k);
    }
    r[e] = 1;
  };
  if (total > 0.0) dfs(0, G * S);
  const bool enumeration_cut = cut_short;
  std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // Step 2: resolve each candidate in increasing lower-bound order.
  double open_lb = inc;  // smallest lower bound among candidates not resolved
  for (const auto& [lb, rc] : cands) {
    if (lb >= inc * (1.0 - kRelTol)) break;
    const double left = time_limit_s - elapsed();
    if (cut_short || left <= 0.0) {
      open_lb = std::min(open_lb, lb);
      cut_short = true;
      break;
    }
    offer(greedy_pack(load, rc, G, S));
    // Look for a placement strictly better than the incumbent until none exists for these counts.
    bool open = false;
    while (!open && lb < inc * (1.0 - kRelTol)) {
      const double ub = inc * (1.0 - kRelTol);
      LayerPlacement pl;
      const Pack found = pack_below(load, rc, G, S, ub, search_node_limit, pl);
      if (found == Pack::found) {
        offer(pl);
        continue;
      }
      if (found == Pack::infeasible) break;
      const double left_now = time_limit_s - elapsed();  // the search gave up: let GLPK decide
      const auto outcome =
          left_now > 0.0 ? solve_fixed_counts(load, rc, G, S, lb, ub, left_now, pl)
                         : detail::GlpkModel::Mip::time_limit_no_solution;
      if (outcome == detail::GlpkModel::Mip::optimal) {
        offer(pl);
        break;  // the MILP minimized over these counts
      }
      if (outcome == detail::GlpkModel::Mip::infeasible) break;
      if (outcome == detail::GlpkModel::Mip::time_limit_feasible) offer(pl);
      open = true;
    }
    if (open) {
      open_lb = std::min(open_lb, lb);
      cut_short = true;
      break;
    }
  }
  if (res.placement.slot_expert.empty())
    throw std::runtime_error(fmt::format("exact placement: no placement found within {} s", time_limit_s));
  res.solve_time_s = elapsed();
  check_placement(res.placement, E, "exact placement solution");
  res.replicas = res.placement.replica_counts(E);
  res.max_load = inc;
  res.proven_optimal = !cut_short;
  if (res.proven_optimal)
    res.lower_bound = inc;
  else if (enumeration_cut)
    res.lower_bound = global_lb.best;
  else
    res.lower_bound = std::max(global_lb.best, std::min(open_lb, inc));
  return res;
}

}  // namespace epsim
