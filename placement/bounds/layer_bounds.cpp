#include "placement/bounds/layer_bounds.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>

#include "placement/bounds/bounds.hpp"

namespace epsim {

namespace {

// Smallest and second-smallest coefficient of every link over all ranks (ranks whose routes miss
// the link count as 0), and which rank has the smallest, so that min over g' != g is O(1).
struct LinkMins {
  std::vector<double> min1, min2;
  std::vector<int> argmin;
};

LinkMins link_minimums(const EpLinkModel& links, Exchange direction) {
  const auto L = static_cast<std::size_t>(links.num_links());
  const int G = links.ep();
  std::vector<int> touched(L, 0);
  LinkMins m{std::vector<double>(L, std::numeric_limits<double>::infinity()),
             std::vector<double>(L, std::numeric_limits<double>::infinity()), std::vector<int>(L, -1)};
  auto offer = [&](std::size_t l, double c, int g) {
    if (c < m.min1[l]) {
      m.min2[l] = m.min1[l];
      m.min1[l] = c;
      m.argmin[l] = g;
    } else if (c < m.min2[l]) {
      m.min2[l] = c;
    }
  };
  for (int g = 0; g < G; ++g)
    for (const auto& [l, c] : direction == Exchange::dispatch ? links.into(g) : links.out_of(g)) {
      offer(static_cast<std::size_t>(l), c, g);
      ++touched[static_cast<std::size_t>(l)];
    }
  for (std::size_t l = 0; l < L; ++l) {
    // Ranks that do not touch the link contribute 0: at least G - touched of them.
    if (touched[l] < G) {
      int zeros = G - touched[l];
      if (zeros >= 2) {
        m.min1[l] = m.min2[l] = 0.0;
        m.argmin[l] = -1;
      } else {
        offer(l, 0.0, -2);  // one rank (unknown which: not the argmin) has 0
      }
    }
  }
  return m;
}

double phase_bound(const EpLinkModel& links, Exchange direction, double gpu_lb, double total, double bytes_per_token) {
  if (total <= 0) return 0.0;
  const int G = links.ep();
  const double scale = links.wire_bytes(bytes_per_token) / G;
  LinkMins mins = link_minimums(links, direction);
  // Links that every rank crosses (m > 0) matter for every g; collect them once.
  std::vector<int> shared;
  for (int l = 0; l < links.num_links(); ++l)
    if (mins.min2[static_cast<std::size_t>(l)] > 0) shared.push_back(l);
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> c_of(static_cast<std::size_t>(links.num_links()), 0.0);
  for (int g = 0; g < G; ++g) {
    const LinkRow& row = direction == Exchange::dispatch ? links.into(g) : links.out_of(g);
    for (const auto& [l, c] : row) c_of[static_cast<std::size_t>(l)] = c;
    auto others_min = [&](int l) {
      auto i = static_cast<std::size_t>(l);
      return mins.argmin[i] == g ? mins.min2[i] : mins.min1[i];
    };
    // max over lines a_l + b_l tau of (tau c + (W - tau) m) / bw, minimized over tau in [gpu_lb, W]:
    // a convex piecewise-linear function of tau; ternary search is exact enough, then shave.
    auto value = [&](double tau) {
      double v = 0;
      for (const auto& [l, c] : row) v = std::max(v, (tau * c + (total - tau) * others_min(l)) / links.bandwidth_Bps(l, direction));
      for (int l : shared) v = std::max(v, (tau * c_of[static_cast<std::size_t>(l)] + (total - tau) * others_min(l)) /
                                               links.bandwidth_Bps(l, direction));
      return v;
    };
    bool increasing = true;
    for (const auto& [l, c] : row) increasing = increasing && c >= others_min(l);
    for (int l : shared) increasing = increasing && c_of[static_cast<std::size_t>(l)] >= others_min(l);
    double lo = std::min(gpu_lb, total), hi = total, v;
    if (increasing) {
      v = value(lo);
    } else {
      for (int it = 0; it < 100; ++it) {
        double a = lo + (hi - lo) / 3, b = hi - (hi - lo) / 3;
        if (value(a) <= value(b)) hi = b;
        else lo = a;
      }
      // The true minimum lies in [lo, hi]; every line is within its slope x (hi - lo) of value(lo).
      v = std::min(value(lo), value(hi)) * (1 - 1e-9);
    }
    best = std::min(best, v);
    for (const auto& [l, c] : row) c_of[static_cast<std::size_t>(l)] = 0.0;
  }
  return best * scale * (1 - 1e-12);
}

// "Busiest-node" bound: the ranks of the EP group are partitioned by host. In any plan the node n
// with the most tokens carries T_n >= node_lb (node_lb = max(W / N, gpu_lb): the average over the N
// nodes, and the node of the busiest rank holds >= gpu_lb), so on every link l
//   bytes_l = sum_g t_g c_gl >= T_n a_nl + (W - T_n) b_nl,  a_nl = min_{g in n} c_gl,
//   b_nl = min_{g not in n} c_gl   (a rank whose row misses l counts as 0),
// and the phase time >= min_n min_{node_lb <= T <= W} max_l (T a_nl + (W - T) b_nl) x bytes / (EP bw_l).
// Node forwarding (deepep-normal with de-duplication) puts every rank of a node on the node's NIC
// links with one coefficient, so a_nl > 0 there while the busiest-rank bound sees only one rank.
double node_phase_bound(const EpLinkModel& links, Exchange direction, double gpu_lb, double total,
                        double bytes_per_token) {
  if (total <= 0) return 0.0;
  const int G = links.ep();
  const auto L = static_cast<std::size_t>(links.num_links());
  std::vector<int> host_ids;
  for (int g = 0; g < G; ++g) host_ids.push_back(links.topology().gpu_host(g));
  std::vector<int> hosts = host_ids;
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  const auto N = hosts.size();
  if (N < 2) return 0.0;  // one node carries everything: nothing beyond the busiest-rank bound
  std::vector<int> node(static_cast<std::size_t>(G)), size(N, 0);
  for (int g = 0; g < G; ++g) {
    node[static_cast<std::size_t>(g)] =
        static_cast<int>(std::lower_bound(hosts.begin(), hosts.end(), host_ids[static_cast<std::size_t>(g)]) - hosts.begin());
    ++size[static_cast<std::size_t>(node[static_cast<std::size_t>(g)])];
  }
  // Per node and link: how many of the node's ranks touch the link and their smallest coefficient.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<int>> count(N, std::vector<int>(L, 0));
  std::vector<std::vector<double>> low(N, std::vector<double>(L, inf));
  for (int g = 0; g < G; ++g) {
    const auto n = static_cast<std::size_t>(node[static_cast<std::size_t>(g)]);
    for (const auto& [l, c] : links.row(g, direction)) {
      const auto li = static_cast<std::size_t>(l);
      ++count[n][li];
      low[n][li] = std::min(low[n][li], c);
    }
  }
  // a[n][l]: min over n's ranks (0 unless all of them touch l); the two smallest a over nodes give
  // b = min over the ranks outside n.
  auto a = [&](std::size_t n, std::size_t l) { return count[n][l] == size[n] ? low[n][l] : 0.0; };
  std::vector<double> min1(L, inf), min2(L, inf);
  std::vector<int> arg(L, -1);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t l = 0; l < L; ++l) {
      const double v = a(n, l);
      if (v < min1[l]) {
        min2[l] = min1[l];
        min1[l] = v;
        arg[l] = static_cast<int>(n);
      } else if (v < min2[l]) {
        min2[l] = v;
      }
    }
  const double lb = std::min(std::max(total / static_cast<double>(N), gpu_lb), total);
  double best = inf;
  std::vector<std::array<double, 2>> lines;  // (a / bw, b / bw) of the links that can carry bytes
  for (std::size_t n = 0; n < N; ++n) {
    lines.clear();
    bool increasing = true;
    for (std::size_t l = 0; l < L; ++l) {
      const double an = a(n, l), bn = arg[l] == static_cast<int>(n) ? min2[l] : min1[l];
      if (an <= 0 && bn <= 0) continue;
      const double bw = links.bandwidth_Bps(static_cast<int>(l), direction);
      lines.push_back({an / bw, bn / bw});
      increasing = increasing && an >= bn;
    }
    if (lines.empty()) {
      best = 0;
      break;
    }
    // Links of one kind on symmetric nodes share their line: keep each line once.
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    auto value = [&](double t) {
      double v = 0;
      for (const auto& [an, bn] : lines) v = std::max(v, t * an + (total - t) * bn);
      return v;
    };
    double lo = lb, hi = total, v;
    if (increasing) {
      v = value(lo);
    } else {
      for (int it = 0; it < 100; ++it) {
        const double x = lo + (hi - lo) / 3, y = hi - (hi - lo) / 3;
        if (value(x) <= value(y)) hi = y;
        else lo = x;
      }
      v = std::min(value(lo), value(hi)) * (1 - 1e-9);  // as in phase_bound
    }
    best = std::min(best, v);
  }
  const double per_token = (bytes_per_token + links.kernel().header_bytes_per_token) / G;
  return best * per_token * (1 - 1e-12);
}

double lp_phase_bound(const EpLinkModel& links, Exchange direction, const std::vector<double>& load, int slots,
                      double bytes_per_token) {
  std::vector<std::vector<std::pair<int, double>>> coef(static_cast<std::size_t>(links.ep()));
  const double scale = links.wire_bytes(bytes_per_token) / links.ep();
  for (int g = 0; g < links.ep(); ++g)
    for (const auto& [l, c] : direction == Exchange::dispatch ? links.into(g) : links.out_of(g))
      coef[static_cast<std::size_t>(g)].emplace_back(l, c * scale);
  std::vector<double> bw(static_cast<std::size_t>(links.num_links()));
  for (int l = 0; l < links.num_links(); ++l) bw[static_cast<std::size_t>(l)] = links.bandwidth_Bps(l, direction);
  return link_time_lower_bound(load, links.ep(), slots, coef, bw).best_s;
}

}  // namespace

double full_slots_bound(const std::vector<double>& load, int num_gpus, int slots_per_gpu) {
  const auto E = load.size();
  if (static_cast<std::size_t>(num_gpus) * static_cast<std::size_t>(slots_per_gpu) != E || E == 0) return 0.0;
  std::vector<double> sorted(load);
  std::sort(sorted.begin(), sorted.end());
  // The rank holding the hottest expert (sorted.back()) fills its other S - 1 slots with distinct
  // other experts, at least the S - 1 lightest ones.
  double sum = sorted.back();
  for (int i = 0; i + 1 < slots_per_gpu; ++i) sum += sorted[static_cast<std::size_t>(i)];
  return sum;
}

LayerBounds layer_lower_bounds(const EpLinkModel& links, const std::vector<double>& load, int slots_per_gpu,
                               double dispatch_bytes_per_token, double combine_bytes_per_token, bool lp) {
  LayerBounds b;
  GpuLoadBounds gpu = gpu_load_lower_bounds(load, links.ep(), slots_per_gpu, false);
  b.gpu_tokens = gpu.best;
  b.gpu_tight = gpu.tight;
  double full = full_slots_bound(load, links.ep(), slots_per_gpu);
  if (full > b.gpu_tokens) {
    b.gpu_tokens = full;
    b.gpu_tight = "full-slots";
    gpu.best = full;
  }
  const double total = std::accumulate(load.begin(), load.end(), 0.0);
  double d_lb = phase_bound(links, Exchange::dispatch, gpu.best, total, dispatch_bytes_per_token);
  double c_lb = phase_bound(links, Exchange::combine, gpu.best, total, combine_bytes_per_token);
  b.link_tight = "busiest-rank";
  b.busiest_rank_link_s =
      exchange_time_s(links, d_lb, total, gpu.best, dispatch_bytes_per_token, Exchange::dispatch) +
      exchange_time_s(links, c_lb, total, gpu.best, combine_bytes_per_token, Exchange::combine);
  {
    const double d = std::max(d_lb, node_phase_bound(links, Exchange::dispatch, gpu.best, total, dispatch_bytes_per_token));
    const double c = std::max(c_lb, node_phase_bound(links, Exchange::combine, gpu.best, total, combine_bytes_per_token));
    if (d + c > d_lb + c_lb) {
      d_lb = d;
      c_lb = c;
      b.link_tight = "busiest-node";
    }
  }
  if (lp && total > 0) {
    double d = lp_phase_bound(links, Exchange::dispatch, load, slots_per_gpu, dispatch_bytes_per_token);
    double c = lp_phase_bound(links, Exchange::combine, load, slots_per_gpu, combine_bytes_per_token);
    if (d + c > d_lb + c_lb) {
      d_lb = d;
      c_lb = c;
      b.link_tight = "lp";
    }
  }
  // The bounds above are on the busiest-link times; the kernel's closed form is non-decreasing in
  // them and in the busiest rank's tokens, so evaluating it there bounds the exchange times.
  b.link_s = exchange_time_s(links, d_lb, total, gpu.best, dispatch_bytes_per_token, Exchange::dispatch) +
             exchange_time_s(links, c_lb, total, gpu.best, combine_bytes_per_token, Exchange::combine);
  return b;
}

}  // namespace epsim
