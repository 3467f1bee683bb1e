#include "placement/bounds/bounds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <numeric>
#include <queue>

#include "common/error.hpp"
#include "placement/bounds/glpk_model.hpp"

namespace epsim {
namespace {

using std::size_t;

/// LP optima are shaved by this relative amount so that simplex tolerances cannot lift a bound above
/// the true optimum (GLPK's default primal/dual feasibility tolerances are 1e-7 on scaled data).
constexpr double kLpSafety = 1e-6;

void check_layer(const std::vector<double>& load, int num_gpus, int slots_per_gpu, const char* what) {
  if (load.empty()) throw InputError(fmt::format("{}: no expert loads; expected [experts] tokens", what));
  for (size_t e = 0; e < load.size(); ++e)
    if (!std::isfinite(load[e]) || load[e] < 0.0)
      throw InputError(fmt::format("{}: load[{}] = {}; expected a finite token count >= 0", what, e, load[e]));
  if (num_gpus <= 0) throw InputError(fmt::format("{}: num_gpus = {}; expected >= 1", what, num_gpus));
  if (slots_per_gpu <= 0)
    throw InputError(fmt::format("{}: slots_per_gpu = {}; expected >= 1", what, slots_per_gpu));
  if (static_cast<long long>(num_gpus) * slots_per_gpu < static_cast<long long>(load.size()))
    throw InputError(fmt::format("{}: {} GPUs x {} slots cannot hold {} experts", what, num_gpus, slots_per_gpu,
                                 load.size()));
}

/// min over 1 <= r_e <= G, sum r_e <= R of max_e load_e / r_e: repeatedly split the largest replica.
double replica_budget_bound(const std::vector<double>& load, int num_gpus, long long slots) {
  using Item = std::pair<double, size_t>;  // (per-replica load, expert)
  std::priority_queue<Item> heap;
  std::vector<int> r(load.size(), 1);
  for (size_t e = 0; e < load.size(); ++e) heap.push({load[e], e});
  long long spare = slots - static_cast<long long>(load.size());
  while (spare > 0) {
    const auto [v, e] = heap.top();
    if (r[e] == num_gpus) break;  // the largest replica cannot be split further
    heap.pop();
    ++r[e];
    --spare;
    heap.push({load[e] / r[e], e});
  }
  return heap.top().first;
}

/// Adds the load-region variables: x_{e,g} (column xcol + e*G + g) with its rows, and L_g (returned
/// columns) with L_g = sum_e load_e x_{e,g}.
std::vector<int> add_load_region(detail::GlpkModel& m, const std::vector<double>& load, int G, int S) {
  const size_t E = load.size();
  std::vector<int> x(E * static_cast<size_t>(G));
  for (auto& c : x) c = m.add_col(0.0, 1.0, 0.0);
  auto xe = [&](size_t e, int g) { return x[e * static_cast<size_t>(G) + static_cast<size_t>(g)]; };
  for (size_t e = 0; e < E; ++e) {
    std::vector<std::pair<int, double>> t;
    for (int g = 0; g < G; ++g) t.emplace_back(xe(e, g), 1.0);
    m.add_row(1.0, 1.0, t);
  }
  std::vector<int> L(static_cast<size_t>(G));
  const double inf = std::numeric_limits<double>::infinity();
  for (int g = 0; g < G; ++g) {
    std::vector<std::pair<int, double>> slots, def;
    L[static_cast<size_t>(g)] = m.add_col(0.0, inf, 0.0);
    def.emplace_back(L[static_cast<size_t>(g)], -1.0);
    for (size_t e = 0; e < E; ++e) {
      slots.emplace_back(xe(e, g), 1.0);
      def.emplace_back(xe(e, g), load[e]);
    }
    m.add_row(-inf, static_cast<double>(S), slots);
    m.add_row(0.0, 0.0, def);
  }
  return L;
}

}  // namespace

GpuLoadBounds gpu_load_lower_bounds(const std::vector<double>& load, int num_gpus, int slots_per_gpu, bool solve_lp) {
  check_layer(load, num_gpus, slots_per_gpu, "GPU load bound");
  const long long slots = static_cast<long long>(num_gpus) * slots_per_gpu;
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  const double hottest = *std::max_element(load.begin(), load.end());
  GpuLoadBounds b;
  b.average = total / num_gpus;
  b.hottest_expert =
      hottest / static_cast<double>(std::min<long long>(num_gpus, slots - static_cast<long long>(load.size()) + 1));
  b.replica_budget = replica_budget_bound(load, num_gpus, slots);
  if (solve_lp) {
    detail::GlpkModel m("gpu_load_lp");
    const double inf = std::numeric_limits<double>::infinity();
    const double scale = total > 0.0 ? total : 1.0;  // solve in units of W for conditioning
    std::vector<double> scaled(load.size());
    for (size_t e = 0; e < load.size(); ++e) scaled[e] = load[e] / scale;
    const auto L = add_load_region(m, scaled, num_gpus, slots_per_gpu);
    const int T = m.add_col(0.0, inf, 1.0);
    for (int l : L) m.add_row(-inf, 0.0, {{l, 1.0}, {T, -1.0}});
    m.solve_lp("GPU load LP bound");
    b.lp = m.objective() * scale * (1.0 - kLpSafety);
  }
  b.best = std::max({b.average, b.hottest_expert, b.replica_budget, b.lp});
  const std::pair<const char*, double> named[] = {
      {"average", b.average}, {"hottest_expert", b.hottest_expert}, {"replica_budget", b.replica_budget}, {"lp", b.lp}};
  for (const auto& [name, v] : named)
    if (v >= b.best * (1.0 - 1e-9)) {
      b.tight = name;
      break;
    }
  return b;
}

LinkTimeBounds link_time_lower_bound(const std::vector<double>& load, int num_gpus, int slots_per_gpu,
                                     const std::vector<std::vector<std::pair<int, double>>>& coef,
                                     const std::vector<double>& link_bw_Bps) {
  check_layer(load, num_gpus, slots_per_gpu, "link time bound");
  if (coef.size() != static_cast<size_t>(num_gpus))
    throw InputError(fmt::format("link time bound: coef has {} GPUs; expected num_gpus = {}", coef.size(), num_gpus));
  const size_t num_links = link_bw_Bps.size();
  for (size_t l = 0; l < num_links; ++l)
    if (!std::isfinite(link_bw_Bps[l]) || link_bw_Bps[l] <= 0.0)
      throw InputError(fmt::format("link time bound: link_bw_Bps[{}] = {}; expected a finite bandwidth > 0 bytes/s",
                                   l, link_bw_Bps[l]));
  // sec[l][g] = seconds on link l per token computed on GPU g.
  std::vector<std::vector<double>> sec(num_links, std::vector<double>(static_cast<size_t>(num_gpus), 0.0));
  for (size_t g = 0; g < coef.size(); ++g)
    for (size_t k = 0; k < coef[g].size(); ++k) {
      const auto [l, c] = coef[g][k];
      if (l < 0 || static_cast<size_t>(l) >= num_links)
        throw InputError(fmt::format("link time bound: coef[{}][{}] names link {}; expected 0..{}", g, k, l,
                                     static_cast<long long>(num_links) - 1));
      if (!std::isfinite(c) || c < 0.0)
        throw InputError(
            fmt::format("link time bound: coef[{}][{}] = {} bytes/token; expected finite and >= 0", g, k, c));
      sec[static_cast<size_t>(l)][g] += c / link_bw_Bps[static_cast<size_t>(l)];
    }
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  std::vector<double> sorted = load;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const double gpu_cap = std::accumulate(sorted.begin(), sorted.begin() + std::min<long long>(
                                                                             slots_per_gpu, static_cast<long long>(sorted.size())),
                                         0.0);

  LinkTimeBounds b;
  // Single link: fill GPUs cheapest-first, each up to gpu_cap, until W tokens are placed.
  double max_sec = 0.0;
  for (const auto& row : sec) {
    std::vector<double> c = row;
    std::sort(c.begin(), c.end());
    double left = total, t = 0.0;
    for (double cg : c) {
      const double take = std::min(left, gpu_cap);
      t += take * cg;
      left -= take;
    }
    b.single_link_s = std::max(b.single_link_s, t);
    max_sec = std::max(max_sec, *std::max_element(row.begin(), row.end()));
  }

  b.gpu_loads.assign(static_cast<size_t>(num_gpus), 0.0);
  if (max_sec == 0.0 || total == 0.0) {  // no link carries bytes
    b.best_s = b.single_link_s;
    b.tight = "single_link";
    return b;
  }
  // Solve in scaled units: loads in units of W, times in units of W * max_sec.
  detail::GlpkModel m("link_time_lp");
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> scaled(load.size());
  for (size_t e = 0; e < load.size(); ++e) scaled[e] = load[e] / total;
  const auto L = add_load_region(m, scaled, num_gpus, slots_per_gpu);
  const int T = m.add_col(0.0, inf, 1.0);
  for (const auto& row : sec) {
    std::vector<std::pair<int, double>> t{{T, -1.0}};
    for (size_t g = 0; g < row.size(); ++g)
      if (row[g] > 0.0) t.emplace_back(L[g], row[g] / max_sec);
    if (t.size() > 1) m.add_row(-inf, 0.0, t);
  }
  m.solve_lp("link time LP bound");
  const double unit = total * max_sec;
  b.lp_s = m.objective() * unit * (1.0 - kLpSafety);
  for (size_t g = 0; g < L.size(); ++g) b.gpu_loads[g] = m.col_value(L[g]) * total;
  double worst = -1.0;
  for (size_t l = 0; l < num_links; ++l) {
    double t = 0.0;
    for (size_t g = 0; g < b.gpu_loads.size(); ++g) t += sec[l][g] * b.gpu_loads[g];
    if (t > worst) {
      worst = t;
      b.bottleneck_link = static_cast<int>(l);
    }
  }
  b.best_s = std::max(b.lp_s, b.single_link_s);
  b.tight = b.lp_s > b.single_link_s * (1.0 + 1e-9) ? "lp" : "single_link";
  return b;
}

}  // namespace epsim
