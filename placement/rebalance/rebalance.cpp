#include "placement/rebalance/rebalance.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {

std::size_t sz(int v) { return static_cast<std::size_t>(v); }

// Sum of the raw counts of windows[begin, end).
ExpertLoads pooled_counts(const std::vector<const ExpertLoads*>& windows, int begin, int end) {
  ExpertLoads out;
  out.source = fmt::format("windows {}-{}", begin + 1, end);
  out.count = windows[sz(begin)]->count;
  for (int w = begin + 1; w < end; ++w)
    for (std::size_t l = 0; l < out.count.size(); ++l)
      for (std::size_t e = 0; e < out.count[l].size(); ++e) out.count[l][e] += windows[sz(w)]->count[l][e];
  return out;
}

}  // namespace

int rebalance_count(int windows, int every) {
  if (windows < 0) throw UsageError(fmt::format("a run has >= 0 windows, got {}", windows));
  if (every < 0) throw UsageError(fmt::format("rebalancing every {} windows: expected >= 0 (0 = never)", every));
  return every == 0 ? 0 : windows / every;
}

IterationCost closed_form_iteration_cost(const EpLinkModel& links, const MoeModel& model, const Plan& plan,
                                         const std::vector<LayerPlacement>& placements, const ExpertLoads& loads) {
  AlgorithmResult r = evaluate_placements(links, model, loads, plan, placements, "iteration", false);
  IterationCost c;
  c.link_bytes.assign(sz(links.num_links()), 0.0);
  for (const LayerResult& l : r.layers) {
    c.time_s += l.dispatch.time_s() + l.combine.time_s();
    auto d = exchange_link_bytes(links, l.gpu_tokens, plan.dispatch_bytes_per_token, Exchange::dispatch);
    auto b = exchange_link_bytes(links, l.gpu_tokens, plan.combine_bytes_per_token, Exchange::combine);
    for (std::size_t i = 0; i < c.link_bytes.size(); ++i) c.link_bytes[i] += d[i] + b[i];
  }
  return c;
}

RebalanceReport run_rebalancing(const EpLinkModel& links, const RouteTable& routes, const MoeModel& model,
                                const std::vector<const ExpertLoads*>& windows, const PlanSettings& plan_settings,
                                const RebalanceSettings& settings, const std::vector<LayerPlacement>& initial,
                                const IterationCostFn& cost) {
  const int T = static_cast<int>(windows.size());
  if (T < 1) throw UsageError("a rebalancing run needs at least one window of loads");
  if (settings.iterations_per_window < 1)
    throw UsageError(fmt::format("iterations per window must be >= 1, got {}", settings.iterations_per_window));
  const int K = settings.every;
  const int expected = rebalance_count(T, K);
  for (const ExpertLoads* w : windows) check_loads_match_model(*w, model);
  Plan shape = prepare_plan(links, model, plan_settings);
  const double bytes_per_replica = model.expert_weight_elements() * plan_settings.weight_bytes_per_element;
  const double tokens_per_window = static_cast<double>(settings.iterations_per_window) * plan_settings.ep *
                                   plan_settings.tokens_per_gpu;
  const double iters = settings.iterations_per_window;
  RebalanceReport report;
  std::vector<LayerPlacement> current = initial;
  const Migration* pending = nullptr;
  Migration last;
  for (int t = 1; t <= T; ++t) {
    const ExpertLoads& loads = *windows[sz(t - 1)];
    WindowResult w;
    w.window = t;
    w.loads = loads.source;
    w.tokens = tokens_per_window;
    IterationCost stat = cost(initial, loads);
    IterationCost reb = current == initial ? stat : cost(current, loads);
    w.static_iteration_s = stat.time_s;
    w.rebalanced_iteration_s = reb.time_s;
    w.static_window_s = iters * stat.time_s;
    w.rebalanced_window_s = iters * reb.time_s;
    if (pending != nullptr) {
      // The copies of the rebalance before this window: blocking, they run alone first; overlapped,
      // they take what the window's serving leaves idle on every link.
      double exposed = pending->time_s();
      if (settings.overlapped) {
        exposed = 0;
        const double window_s = w.rebalanced_window_s;
        for (int l = 0; l < links.num_links(); ++l) {
          const double bw = links.bandwidth_Bps(l);
          const double busy = reb.link_bytes.empty() ? 0.0 : iters * reb.link_bytes[sz(l)] / bw;
          exposed = std::max(exposed, pending->link_bytes[sz(l)] / bw - std::max(0.0, window_s - busy));
        }
        if (exposed > 0) exposed += pending->latency_s;
      }
      report.events.back().exposed_s = exposed;
      w.rebalanced_window_s += exposed;
      pending = nullptr;
    }
    report.windows.push_back(w);
    report.static_total_s += w.static_window_s;
    report.rebalanced_total_s += w.rebalanced_window_s;
    if (K > 0 && t % K == 0) {
      ExpertLoads stats = pooled_counts(windows, t - K, t);
      std::vector<LayerPlacement> next = current;
      if (settings.warm) {
        for (int layer = 0; layer < model.num_layers; ++layer) {
          if (!model.is_moe_layer(layer)) continue;
          PlacementProblem p = make_layer_problem(links, model, {&stats}, shape, layer);
          p.warm_start = &current[sz(layer)];
          next[sz(layer)] = match_placement(current[sz(layer)], place_epsim(p), [](const LayerPlacement&) { return false; });
        }
      } else {
        Plan fresh = make_plan(links, model, stats, plan_settings);
        for (LayerResult& lr : fresh.chosen.layers) {
          const auto layer = static_cast<std::size_t>(lr.layer);
          PlacementProblem p = make_layer_problem(links, model, {&stats}, shape, lr.layer);
          const ObjectiveValue planned = evaluate_placement(p, lr.placement);
          next[layer] = match_placement(current[layer], lr.placement, [&](const LayerPlacement& c) {
            return !(planned < evaluate_placement(p, c));
          });
        }
      }
      last = plan_migration(routes, current, next, bytes_per_replica);
      RebalanceEvent ev;
      ev.after_window = t;
      ev.moved_replicas = static_cast<int>(last.copies.size());
      ev.moved_bytes = last.bytes;
      ev.migration_s = last.time_s();
      ev.busiest_link = last.busiest_link >= 0 ? links.topology().link_name(last.busiest_link) : std::string();
      report.moved_bytes += last.bytes;
      report.events.push_back(ev);
      current = std::move(next);
      if (t < T) {
        pending = &last;
      } else {  // nothing is served after the last window: the copies are all exposed
        report.events.back().exposed_s = last.time_s();
        report.rebalanced_total_s += last.time_s();
      }
    }
  }
  if (static_cast<int>(report.events.size()) != expected)
    throw std::logic_error(fmt::format("rebalancing: {} rebalances, expected {}", report.events.size(), expected));
  return report;
}

}  // namespace epsim
