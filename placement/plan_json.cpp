#include "placement/plan_json.hpp"

#include "common/json_output.hpp"

#include <cmath>

namespace epsim {

namespace {

// Round to 12 significant digits so that outputs do not depend on the last bits of floating-point
// sums (identical inputs still give identical text either way).
double tidy(double v) { return round_significant(v, 12); }

Json exchange_json(const ExchangeCost& c, const EpLinkModel& links) {
  Json j = Json::object();
  j["time_us"] = tidy(c.time_s() * 1e6);
  j["bottleneck_us"] = tidy(c.bottleneck_s * 1e6);
  j["latency_us"] = tidy(c.latency_s * 1e6);
  j["busiest_link"] = c.busiest_link >= 0 ? links.topology().link_name(c.busiest_link) : std::string();
  j["busiest_link_bytes"] = tidy(c.busiest_link_bytes);
  return j;
}

}  // namespace

Json algorithm_summary_json(const AlgorithmResult& r, const EpLinkModel& links) {
  Json j = Json::object();
  j["algorithm"] = r.algorithm;
  j["moe_layers"] = r.layers.size();
  j["sum_dispatch_us"] = tidy(r.sum_dispatch_s * 1e6);
  j["sum_combine_us"] = tidy(r.sum_combine_s * 1e6);
  j["sum_all_to_all_us"] = tidy((r.sum_dispatch_s + r.sum_combine_s) * 1e6);
  j["max_gpu_tokens"] = tidy(r.max_gpu_tokens);
  j["mean_max_over_mean_gpu_tokens"] = tidy(r.mean_imbalance);
  j["worst_layer"] = r.worst_layer;
  j["sum_link_us"] = tidy(r.sum_link_s * 1e6);
  if (r.replica_choice != ReplicaChoice::rule) {
    // The same placements with the rule's equal shares: the per-batch LP's gain.
    j["replica_choice"] = std::string(to_string(r.replica_choice));
    j["rule_sum_link_us"] = tidy(r.rule_sum_link_s * 1e6);
    j["rule_mean_max_over_mean_gpu_tokens"] = tidy(r.rule_mean_imbalance);
  }
  if (r.sum_link_lb_s > 0) {
    j["sum_link_lower_bound_us"] = tidy(r.sum_link_lb_s * 1e6);
    j["sum_link_gap"] = tidy(r.sum_link_s / r.sum_link_lb_s - 1);
    j["max_layer_link_gap"] = tidy(r.max_link_gap);
    j["max_layer_gpu_gap"] = tidy(r.max_gpu_gap);
  }
  if (r.worst_layer >= 0) {
    for (const auto& l : r.layers)
      if (l.layer == r.worst_layer) {
        j["worst_layer_dispatch"] = exchange_json(l.dispatch, links);
        j["worst_layer_combine"] = exchange_json(l.combine, links);
      }
  }
  return j;
}

Json holdout_json(const std::vector<WindowFigures>& windows, const PlanSettings& settings) {
  Json list = Json::array();
  for (const WindowFigures& w : windows) {
    Json j = Json::object();
    j["loads"] = w.source;
    j["in_sample_link_us"] = tidy(w.in_sample_s * 1e6);
    j["held_out_link_us"] = tidy(w.holdout_s * 1e6);
    j["own_plan_link_us"] = tidy(w.own_s * 1e6);
    j["link_lower_bound_us"] = tidy(w.bound_s * 1e6);
    j["in_sample_over_own"] = w.own_s > 0 ? tidy(w.in_sample_s / w.own_s) : 0.0;
    j["held_out_over_own"] = w.own_s > 0 ? tidy(w.holdout_s / w.own_s) : 0.0;
    list.push_back(std::move(j));
  }
  return {{"robust", std::string(to_string(settings.robust))}, {"windows", std::move(list)}};
}

Json plan_to_json(const Plan& plan, const EpLinkModel& links, const PlanInputs& inputs) {
  Json out = Json::object();
  out["schema"] = kPlanSchema;
  out["inputs"] = {{"topology", inputs.topology}, {"loads", inputs.loads}, {"model", inputs.model}};
  const PlanSettings& s = plan.settings;
  out["settings"] = {{"ep", s.ep},
                     {"redundant", s.redundant},
                     {"slots_per_gpu", plan.slots_per_gpu},
                     {"num_experts", plan.num_experts},
                     {"algorithm", s.algorithm},
                     {"baseline", s.baseline},
                     {"tokens_per_gpu", s.tokens_per_gpu},
                     {"dispatch_bytes_per_token", plan.dispatch_bytes_per_token},
                     {"combine_bytes_per_token", plan.combine_bytes_per_token},
                     {"objective", std::string(to_string(s.objective))},
                     {"exchange_kernel", std::string(to_string(links.kernel().kind))},
                     {"seed", s.seed}};
  // Written only when they differ from the defaults, so that single-window plans keep their form.
  if (plan.windows.size() > 1) out["settings"]["robust"] = std::string(to_string(s.robust));
  if (s.node_local_replicas) out["settings"]["replicas"] = "node-local";
  if (s.replica_choice != ReplicaChoice::rule) out["settings"]["replica_choice"] = std::string(to_string(s.replica_choice));
  out["gpus"] = plan.gpu_ids;
  Json layers = Json::array();
  for (const LayerResult& l : plan.chosen.layers) {
    Json j = Json::object();
    j["layer"] = l.layer;
    j["slot_expert"] = l.placement.slot_expert;
    Json expert_gpus = Json::array();
    for (int e = 0; e < plan.num_experts; ++e) expert_gpus.push_back(l.placement.gpus_of_expert(e));
    j["expert_gpus"] = std::move(expert_gpus);
    Json tokens = Json::array();
    for (double t : l.gpu_tokens) tokens.push_back(tidy(t));
    j["gpu_tokens"] = std::move(tokens);
    j["max_gpu_tokens"] = tidy(l.max_gpu_tokens);
    j["mean_gpu_tokens"] = tidy(l.mean_gpu_tokens);
    j["dispatch"] = exchange_json(l.dispatch, links);
    j["combine"] = exchange_json(l.combine, links);
    j["link_us"] = tidy(l.link_s() * 1e6);
    j["bounds"] = {{"gpu_tokens", tidy(l.bounds.gpu_tokens)},
                   {"gpu_tight", l.bounds.gpu_tight},
                   {"link_us", tidy(l.bounds.link_s * 1e6)},
                   {"link_tight", l.bounds.link_tight}};
    j["gap_link"] = l.bounds.link_s > 0 ? tidy(l.link_s() / l.bounds.link_s - 1) : 0.0;
    j["gap_gpu"] = l.bounds.gpu_tokens > 0 ? tidy(l.max_gpu_tokens / l.bounds.gpu_tokens - 1) : 0.0;
    if (!l.note.empty()) j["note"] = l.note;
    layers.push_back(std::move(j));
  }
  out["layers"] = std::move(layers);
  out["summary"] = algorithm_summary_json(plan.chosen, links);
  out["baseline_summary"] = algorithm_summary_json(plan.baseline, links);
  return out;
}

}  // namespace epsim
