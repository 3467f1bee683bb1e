#include "placement/exact.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>

#include "common/error.hpp"
#include "placement/bounds.hpp"
#include "placement/glpk_model.hpp"

namespace epsim {

// The MILP (G GPUs, S slots per GPU, E experts with loads w_e):
//   z_{e,r} in {0,1}, r = 1..R_e with R_e = min(G, G*S - E + 1):  sum_r z_{e,r} = 1   (r_e = sum_r r z_{e,r})
//   y_{e,g} in {0,1} (a replica of e on GPU g):  sum_g y_{e,g} = sum_r r z_{e,r};  sum_e y_{e,g} <= S
//   l_{e,g} >= 0, tokens of e computed on g:     l_{e,g} >= (w_e / r) (z_{e,r} + y_{e,g} - 1)   for every r
//   T >= sum_e l_{e,g} for every g;  minimize T.
// Exactness: when z_{e,r} = y_{e,g} = 1 the r-th row forces l_{e,g} >= w_e / r and every other row of
// (e,g) reads l >= something <= 0; with y_{e,g} = 0 all rows read l >= <= 0. So l is bounded below by
// the true replica load and is otherwise free: any placement gives a feasible point with T equal to its
// max GPU load (set l to the true loads), and any feasible point has T >= the max GPU load of the
// placement (z, y) it encodes. Hence the MILP optimum equals the minimum max GPU load. This is a
// disaggregated big-M (one row per candidate r, big-M = w_e / r), tighter in LP than one row with
// big-M = w_e. Valid cuts added to help the search: sum_g l_{e,g} >= w_e (every token is computed),
// T >= the combinatorial lower bound of gpu_load_lower_bounds, and GPU symmetry is broken by
// requiring sum_e l_{e,g} >= sum_e l_{e,g+1} (any solution can be relabelled so; l may exceed the
// true loads, which only raises T and is never needed at an optimum).
ExactPlacementResult exact_min_max_load(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                        double time_limit_s) {
  const int E = static_cast<int>(load.size());
  if (num_gpus > kExactMaxGpus || E > kExactMaxExperts)
    throw InputError(fmt::format("exact placement: {} GPUs and {} experts exceed the exact solver's limits ({} GPUs, "
                                 "{} experts); use a heuristic such as EPLB with the lower bounds instead",
                                 num_gpus, E, kExactMaxGpus, kExactMaxExperts));
  if (!(time_limit_s > 0.0) || !std::isfinite(time_limit_s))
    throw InputError(fmt::format("exact placement: time_limit_s = {}; expected a finite number > 0", time_limit_s));
  // Validates load, num_gpus, slots_per_gpu (InputError) and gives the starting lower bound.
  const GpuLoadBounds lb = gpu_load_lower_bounds(load, num_gpus, slots_per_gpu, /*solve_lp=*/false);

  const int G = num_gpus, S = slots_per_gpu;
  const int max_r = std::min(G, G * S - E + 1);
  const double inf = std::numeric_limits<double>::infinity();
  double scale = *std::max_element(load.begin(), load.end());
  if (scale <= 0.0) scale = 1.0;  // all loads zero: any placement is optimal
  auto idx = [&](int e, int g) { return static_cast<std::size_t>(e * G + g); };

  detail::GlpkModel m("exact_min_max_load");
  std::vector<std::vector<int>> z(static_cast<std::size_t>(E));
  std::vector<int> y(static_cast<std::size_t>(E * G)), l(static_cast<std::size_t>(E * G));
  for (int e = 0; e < E; ++e)
    for (int r = 1; r <= max_r; ++r) z[static_cast<std::size_t>(e)].push_back(m.add_col(0, 1, 0, false, true));
  for (auto& c : y) c = m.add_col(0, 1, 0, false, true);
  for (auto& c : l) c = m.add_col(0.0, inf, 0.0);
  const int T = m.add_col(lb.best / scale * (1.0 - 1e-9), inf, 1.0);

  for (int e = 0; e < E; ++e) {
    const double w = load[static_cast<std::size_t>(e)] / scale;
    const auto& ze = z[static_cast<std::size_t>(e)];
    std::vector<std::pair<int, double>> one, count, sum_l;
    for (int r = 1; r <= max_r; ++r) {
      one.emplace_back(ze[static_cast<std::size_t>(r - 1)], 1.0);
      count.emplace_back(ze[static_cast<std::size_t>(r - 1)], -static_cast<double>(r));
    }
    for (int g = 0; g < G; ++g) {
      count.emplace_back(y[idx(e, g)], 1.0);
      sum_l.emplace_back(l[idx(e, g)], 1.0);
      for (int r = 1; r <= max_r; ++r) {
        const double a = w / r;
        m.add_row(-a, inf, {{l[idx(e, g)], 1.0}, {ze[static_cast<std::size_t>(r - 1)], -a}, {y[idx(e, g)], -a}});
      }
    }
    m.add_row(1.0, 1.0, one);
    m.add_row(0.0, 0.0, count);
    m.add_row(w, inf, sum_l);
  }
  for (int g = 0; g < G; ++g) {
    std::vector<std::pair<int, double>> slots, gpu{{T, 1.0}}, order;
    for (int e = 0; e < E; ++e) {
      slots.emplace_back(y[idx(e, g)], 1.0);
      gpu.emplace_back(l[idx(e, g)], -1.0);
      order.emplace_back(l[idx(e, g)], 1.0);
      if (g + 1 < G) order.emplace_back(l[idx(e, g + 1)], -1.0);
    }
    m.add_row(-inf, static_cast<double>(S), slots);
    m.add_row(0.0, inf, gpu);
    if (g + 1 < G) m.add_row(0.0, inf, order);
  }

  const auto t0 = std::chrono::steady_clock::now();
  ExactPlacementResult res;
  res.proven_optimal = m.solve_mip("exact placement MILP", time_limit_s);
  res.solve_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  res.replicas.assign(static_cast<std::size_t>(E), 0);
  res.placement.num_gpus = G;
  res.placement.slots_per_gpu = S;
  res.placement.slot_expert.assign(static_cast<std::size_t>(G * S), -1);
  for (int g = 0; g < G; ++g) {
    int used = 0;
    for (int e = 0; e < E; ++e)
      if (m.mip_col_value(y[idx(e, g)]) > 0.5) {
        if (used == S) throw std::runtime_error("exact placement MILP: solution overfills a GPU (internal error)");
        res.placement.slot_expert[static_cast<std::size_t>(g * S + used++)] = e;
        ++res.replicas[static_cast<std::size_t>(e)];
      }
  }
  check_placement(res.placement, E, "exact placement MILP solution");
  const auto gpu = gpu_token_loads(res.placement, load);
  res.max_load = *std::max_element(gpu.begin(), gpu.end());
  res.lower_bound = res.proven_optimal ? res.max_load : lb.best;
  return res;
}

}  // namespace epsim
