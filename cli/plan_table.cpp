#include "cli/plan_table.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace epsim::cli {

namespace {

struct GroupStats {
  double max_tokens = 0;       // max over layers of max GPU tokens
  double imbalance = 0;        // mean of max/mean
  double max_link_us = 0;      // max over layers of the dispatch bottleneck link time
  double a2a_us = 0;           // sum of dispatch + combine
  int busiest_link = -1;
  double gap = 0;              // max over layers of link time / lower bound - 1
};

GroupStats stats(const AlgorithmResult& r, std::size_t begin, std::size_t end) {
  GroupStats s;
  for (std::size_t i = begin; i < end; ++i) {
    const LayerResult& l = r.layers[i];
    s.max_tokens = std::max(s.max_tokens, l.max_gpu_tokens);
    s.imbalance += l.mean_gpu_tokens > 0 ? l.max_gpu_tokens / l.mean_gpu_tokens : 1.0;
    double link_us = (l.dispatch.bottleneck_s + l.combine.bottleneck_s) * 1e6;
    if (link_us >= s.max_link_us) {
      s.max_link_us = link_us;
      s.busiest_link = l.dispatch.busiest_link;
    }
    s.a2a_us += (l.dispatch.time_s() + l.combine.time_s()) * 1e6;
    if (l.bounds.link_s > 0) s.gap = std::max(s.gap, l.link_s() / l.bounds.link_s - 1);
  }
  if (end > begin) s.imbalance /= static_cast<double>(end - begin);
  return s;
}

}  // namespace

std::string format_plan_table(const Plan& plan, const EpLinkModel& links, int group_size, std::string_view command) {
  const std::string& a = plan.baseline.algorithm;
  const std::string& b = plan.chosen.algorithm;
  std::string out;
  // --tokens-per-gpu 0 keeps the loads' own counts (placement/plan.hpp scaled_layer_load).
  const double tokens = plan.settings.tokens_per_gpu;
  const std::string token_text = tokens == 0 ? std::string("the loads' own token counts")
                                             : fmt::format("{} token{} per GPU", tokens, tokens == 1 ? "" : "s");
  out += fmt::format("epsim {}: EP {}, {} experts + {} redundant = {} slot{} per GPU, {}, "
                     "{} B/token dispatch, {} B/token combine\n",
                     command, plan.settings.ep, plan.num_experts, plan.settings.redundant, plan.slots_per_gpu,
                     plan.slots_per_gpu == 1 ? "" : "s", token_text, plan.dispatch_bytes_per_token,
                     plan.combine_bytes_per_token);
  out += fmt::format("columns: max/mean = busiest GPU's tokens over the mean (1.00 = balanced); link us = slowest "
                     "layer's dispatch+combine bottleneck link time; a2a us = dispatch+combine summed over the layers;\n"
                     "gap = largest (link time / certified lower bound - 1) of the layers: the plan is at most this far "
                     "from the optimum\n\n");
  // Columns as wide as the algorithm names (contiguous: 10 characters), never cut.
  const std::size_t wa = std::max<std::size_t>(9, a.size()), wb = std::max<std::size_t>(9, b.size());
  const std::size_t wa2 = std::max<std::size_t>(10, a.size()), wb2 = std::max<std::size_t>(10, b.size());
  const std::size_t wg = std::max<std::size_t>(6, b.size());
  out += fmt::format("{:<12} | {:^{}} | {:^{}} | {:^{}} | {:>{}} | {}\n", "layers", "GPU max/mean", wa + wb + 1,
                     "link us", wa + wb + 1, "a2a us", wa2 + wb2 + 1, "gap", wg, "busiest link (" + b + ")");
  out += fmt::format("{:<12} | {:>{}} {:>{}} | {:>{}} {:>{}} | {:>{}} {:>{}} | {:>{}} |\n", "", a, wa, b, wb, a, wa, b, wb,
                     a, wa2, b, wb2, b, wg);
  const std::size_t rule = 12 + 3 + (wa + wb + 1) * 2 + 6 + (wa2 + wb2 + 1) + 3 + wg + 3 + 40;
  out += std::string(rule, '-') + "\n";
  const auto n = plan.chosen.layers.size();
  auto row = [&](const std::string& label, std::size_t begin, std::size_t end) {
    GroupStats sa = stats(plan.baseline, begin, end);
    GroupStats sb = stats(plan.chosen, begin, end);
    return fmt::format("{:<12} | {:>{}.2f} {:>{}.2f} | {:>{}.1f} {:>{}.1f} | {:>{}.1f} {:>{}.1f} | {:>{}.1f}% | {}\n", label,
                       sa.imbalance, wa, sb.imbalance, wb, sa.max_link_us, wa, sb.max_link_us, wb, sa.a2a_us, wa2,
                       sb.a2a_us, wb2, sb.gap * 100, wg - 1,
                       sb.busiest_link >= 0 ? links.topology().link_name(sb.busiest_link) : "-");
  };
  for (std::size_t i = 0; i < n; i += static_cast<std::size_t>(group_size)) {
    std::size_t end = std::min(n, i + static_cast<std::size_t>(group_size));
    out += row(fmt::format("{}-{}", plan.chosen.layers[i].layer, plan.chosen.layers[end - 1].layer), i, end);
  }
  out += std::string(rule, '-') + "\n";
  out += row("total", 0, n);
  double base = plan.baseline.sum_dispatch_s + plan.baseline.sum_combine_s;
  double chosen = plan.chosen.sum_dispatch_s + plan.chosen.sum_combine_s;
  if (plan.chosen.sum_link_lb_s > 0)
    out += fmt::format("\n{}: bottleneck-link time summed over layers {:.1f} us, certified lower bound {:.1f} us "
                       "(gap {:.2f}%, worst layer {:.2f}%)",
                       b, plan.chosen.sum_link_s * 1e6, plan.chosen.sum_link_lb_s * 1e6,
                       (plan.chosen.sum_link_s / plan.chosen.sum_link_lb_s - 1) * 100, plan.chosen.max_link_gap * 100);
  if (plan.chosen.replica_choice != ReplicaChoice::rule && plan.chosen.sum_link_s > 0)
    out += fmt::format("\n{}: replica choice {}: bottleneck-link time summed over layers {:.1f} us, {:.1f} us with the "
                       "rule's equal shares on the same placements ({:.4f}x); mean max/mean GPU tokens {:.4f} "
                       "(rule {:.4f})",
                       b, to_string(plan.chosen.replica_choice), plan.chosen.sum_link_s * 1e6,
                       plan.chosen.rule_sum_link_s * 1e6, plan.chosen.rule_sum_link_s / plan.chosen.sum_link_s,
                       plan.chosen.mean_imbalance, plan.chosen.rule_mean_imbalance);
  int noted = 0;
  for (const LayerResult& l : plan.chosen.layers) {
    if (l.note.empty()) continue;
    if (noted++ == 0) out += fmt::format("\nnote (layer {}): {}", l.layer, l.note);
  }
  if (noted > 1) out += fmt::format("\n({} more layers carry notes: see \"note\" in plan.json)", noted - 1);
  if (chosen > 0)
    out += fmt::format("\n{} all-to-all time over {} MoE layers: {:.1f} us ({:.2f}x faster than {}: {:.1f} us)\n", b, n,
                       chosen * 1e6, base / chosen, a, base * 1e6);
  return out;
}

TraceEvaluation evaluate_trace(const RouteTable& routes, const AlgorithmResult& r, const Trace& trace,
                               double bytes_per_token, TokenDelivery delivery, const std::string& delivery_name,
                               int max_nodes) {
  TraceEvaluation e;
  e.delivery = delivery_name;
  e.max_nodes_limit = max_nodes;
  for (const LayerResult& l : r.layers) {
    const TraceLayer* tl = trace.find_layer(l.layer);
    if (!tl) continue;
    TraceTraffic t = trace_layer_traffic(routes, l.placement, *tl, trace.top_k, trace.num_experts, bytes_per_token, delivery);
    accumulate(e, t, l.layer, routes.topology());
    e.tokens += tl->num_tokens();
  }
  return e;
}

std::string format_windows_table(const Plan& plan, const std::vector<WindowFigures>& holdout) {
  std::string out = fmt::format("\nplanned on {} load windows (--robust {}); the table above evaluates the plans on their "
                                "mean load\n",
                                plan.windows.size(), to_string(plan.settings.robust));
  if (holdout.empty()) {
    for (const auto& w : plan.windows) out += fmt::format("  {}\n", w);
    return out;
  }
  out += "link time summed over layers on each window, relative to a plan made on that window alone (own plan):\n"
         "in-sample = this plan; held-out = a plan made on the other windows (leave-one-window-out)\n";
  out += fmt::format("  {:<40} {:>10} {:>10} {:>13} {:>13}\n", "window", "in-sample", "held-out", "own plan us",
                     "bound us");
  for (const WindowFigures& w : holdout) {
    auto rel = [&](double v) { return w.own_s > 0 ? v / w.own_s : 0.0; };
    out += fmt::format("  {:<40} {:>10.4f} {:>10.4f} {:>13.1f} {:>13.1f}\n", w.source, rel(w.in_sample_s),
                       rel(w.holdout_s), w.own_s * 1e6, w.bound_s * 1e6);
  }
  return out;
}

}  // namespace epsim::cli
