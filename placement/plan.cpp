#include "placement/plan.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <numeric>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "common/error.hpp"
#include "placement/algorithms/node_local.hpp"
#include "placement/bounds/bounds.hpp"
#include "placement/replica_choice.hpp"
#include "placement/trace_objective.hpp"
#include "common/limits.hpp"

namespace epsim {

std::vector<double> scaled_layer_load(const std::vector<double>& count, const MoeModel& model, int ep,
                                      double tokens_per_gpu) {
  if (tokens_per_gpu <= 0) return count;
  double sum = std::accumulate(count.begin(), count.end(), 0.0);
  double direct = tokens_per_gpu * ep * model.top_k / sum;
  if (sum > 0 && std::isfinite(sum) && std::isfinite(direct)) {
    std::vector<double> out(count.size());
    for (std::size_t e = 0; e < count.size(); ++e) out[e] = count[e] * direct;
    return out;
  }
  // Extreme counts: shares relative to the largest count first, so that neither the sum (counts near
  // 1e308) nor the scale (a total of denormal counts) overflows to infinity and turns loads into NaN.
  double largest = count.empty() ? 0.0 : *std::max_element(count.begin(), count.end());
  if (!(largest > 0))  // no routed tokens in the file: uniform, as simulate and predict exchange route it
    return std::vector<double>(count.size(), count.empty() ? 0.0 : tokens_per_gpu * ep * model.top_k / static_cast<double>(count.size()));
  double total = 0;
  for (double c : count) total += c / largest;
  double scale = tokens_per_gpu * ep * model.top_k / total;
  std::vector<double> out(count.size());
  for (std::size_t e = 0; e < count.size(); ++e) out[e] = count[e] / largest * scale;
  return out;
}

namespace {

LayerResult evaluate_layer(const EpLinkModel& links, int layer, LayerPlacement placement,
                           const std::vector<double>& load, const Plan& plan) {
  LayerResult r;
  r.layer = layer;
  r.placement = std::move(placement);
  // The replica choice splits each expert's tokens over its replicas (replica_choice.hpp); the LP's
  // stage 2 minimizes the same kernel's link times as below.
  const ReplicaSplitLinks split_links{&links, plan.dispatch_bytes_per_token, plan.combine_bytes_per_token};
  auto exchanges = [&](const std::vector<double>& gpu_tokens) {
    auto d = exchange_link_bytes(links, gpu_tokens, plan.dispatch_bytes_per_token, Exchange::dispatch);
    auto c = exchange_link_bytes(links, gpu_tokens, plan.combine_bytes_per_token, Exchange::combine);
    return std::pair{exchange_cost(links, d, gpu_tokens, plan.dispatch_bytes_per_token, Exchange::dispatch),
                     exchange_cost(links, c, gpu_tokens, plan.combine_bytes_per_token, Exchange::combine)};
  };
  r.gpu_tokens = split_replicas(r.placement, load, plan.settings.replica_choice, &split_links).gpu_tokens;
  r.max_gpu_tokens = *std::max_element(r.gpu_tokens.begin(), r.gpu_tokens.end());
  r.mean_gpu_tokens = std::accumulate(r.gpu_tokens.begin(), r.gpu_tokens.end(), 0.0) / static_cast<double>(r.gpu_tokens.size());
  std::tie(r.dispatch, r.combine) = exchanges(r.gpu_tokens);
  r.rule_max_gpu_tokens = r.max_gpu_tokens;
  r.rule_link_s = r.link_s();
  if (plan.settings.replica_choice != ReplicaChoice::rule) {
    const std::vector<double> rule = gpu_token_loads(r.placement, load);
    const auto [d, c] = exchanges(rule);
    r.rule_max_gpu_tokens = *std::max_element(rule.begin(), rule.end());
    r.rule_link_s = d.time_s() + c.time_s();
  }
  return r;
}

int num_hosts_of_ranks(const EpLinkModel& links) {
  std::vector<int> hosts;
  for (int g = 0; g < links.ep(); ++g) hosts.push_back(links.topology().gpu_host(g));
  std::sort(hosts.begin(), hosts.end());
  return std::max(1, static_cast<int>(std::unique(hosts.begin(), hosts.end()) - hosts.begin()));
}

// The trace objective input of one layer, or nothing when the layer is not in the trace.
std::optional<TraceObjectiveInput> trace_input(const PlanTrace* trace, const Plan& plan, int layer) {
  if (trace == nullptr || trace->trace == nullptr) return std::nullopt;
  const TraceLayer* tl = trace->trace->find_layer(layer);
  if (tl == nullptr) return std::nullopt;
  TraceObjectiveInput in;
  in.layer = tl;
  in.top_k = trace->trace->top_k;
  in.routes = trace->routes;
  in.delivery = trace->delivery;
  in.bytes_per_token = plan.dispatch_bytes_per_token;
  in.max_nodes_per_token = plan.settings.max_nodes_per_token;
  return in;
}

LayerBounds bounds_of(const EpLinkModel& links, const std::vector<double>& load, const Plan& plan) {
  bool lp = plan.settings.lp_bounds < 0 ? plan.settings.ep <= 16 : plan.settings.lp_bounds > 0;
  return layer_lower_bounds(links, load, plan.slots_per_gpu, plan.dispatch_bytes_per_token, plan.combine_bytes_per_token,
                            lp);
}

using Windows = std::vector<const ExpertLoads*>;

// One layer's placement problem over the windows: load = the mean of the windows' scaled loads;
// with >= 2 windows also each window's load (and for RobustKind::max its certified link bound).
PlacementProblem layer_problem(const EpLinkModel& links, const MoeModel& model, const Windows& windows, const Plan& plan,
                               int layer, const RowSplit* split = nullptr) {
  PlacementProblem problem;
  problem.num_gpus = plan.settings.ep;
  problem.slots_per_gpu = plan.slots_per_gpu;
  problem.load.assign(static_cast<std::size_t>(model.num_experts), 0.0);
  for (const ExpertLoads* w : windows) {
    auto l = scaled_layer_load(w->count[static_cast<std::size_t>(layer)], model, plan.settings.ep,
                               plan.settings.tokens_per_gpu);
    for (std::size_t e = 0; e < l.size(); ++e) problem.load[e] += l[e] / static_cast<double>(windows.size());
    if (windows.size() > 1) problem.windows.push_back(std::move(l));
  }
  problem.robust = plan.settings.robust;
  if (windows.size() > 1 && problem.robust == RobustKind::max)
    for (const auto& l : problem.windows) {
      double b = layer_lower_bounds(links, l, plan.slots_per_gpu, plan.dispatch_bytes_per_token,
                                    plan.combine_bytes_per_token, false)
                     .link_s;
      problem.window_scale.push_back(b > 0 ? b : 1.0);
    }
  problem.links = &links;
  problem.row_split = split;
  problem.dispatch_bytes_per_token = plan.dispatch_bytes_per_token;
  problem.combine_bytes_per_token = plan.combine_bytes_per_token;
  problem.seed = plan.settings.seed + static_cast<std::uint64_t>(layer);
  problem.num_groups = model.n_group;
  problem.objective = plan.settings.objective;
  problem.num_nodes = num_hosts_of_ranks(links);
  problem.node_of_gpu = node_of_ranks(links.topology(), plan.settings.ep);
  if (plan.settings.node_local_replicas)
    problem.expert_node = assign_groups_to_nodes(problem.load, model.n_group, problem.node_of_gpu, plan.slots_per_gpu);
  return problem;
}

LayerResult plan_one_layer(const EpLinkModel& links, const MoeModel& model, const Windows& windows, const Plan& plan,
                           const std::string& algorithm, int layer, bool with_bounds, const PlanTrace* trace,
                           const RowSplit* split) {
  PlacementProblem problem = layer_problem(links, model, windows, plan, layer, split);
  std::optional<TraceObjectiveInput> tin = algorithm == "epsim" ? trace_input(trace, plan, layer) : std::nullopt;
  if (tin) problem.trace = &*tin;
  std::string note;
  LayerPlacement placement = run_placement(algorithm, problem, &note);
  check_placement(placement, model.num_experts, fmt::format("{} placement of layer {}", algorithm, layer));
  LayerResult r = evaluate_layer(links, layer, std::move(placement), problem.load, plan);
  // A MoE layer whose loads are all 0 in every window (a window that routed nothing there, or a dense
  // layer's row given to a model that calls it MoE): said, so that its figures are not read as measured.
  const bool all_zero = std::all_of(windows.begin(), windows.end(), [&](const ExpertLoads* w) {
    const auto& row = w->count[static_cast<std::size_t>(layer)];
    return std::all_of(row.begin(), row.end(), [](double x) { return x == 0; });
  });
  if (all_zero)
    note = fmt::format("every expert's load is 0 in this layer (no routed tokens): {}{}{}",
                       plan.settings.tokens_per_gpu > 0
                           ? "priced as uniform routing over the experts, as simulate and predict exchange route it"
                           : "with --tokens-per-gpu 0 (counts as they are) nothing is exchanged",
                       note.empty() ? "" : "; ", note);
  r.note = std::move(note);
  if (with_bounds) r.bounds = bounds_of(links, problem.load, plan);
  return r;
}

// Plans the MoE layers on `threads` threads; layer i always lands in slot i, so the result does not
// depend on the thread count. The first exception (in layer order) is rethrown.
std::vector<LayerResult> plan_layers_parallel(const EpLinkModel& links, const MoeModel& model, const Windows& loads,
                                              const Plan& plan, const std::string& algorithm, bool with_bounds,
                                              const PlanTrace* trace) {
  // The local search's moves touch only the residual rows (objective.hpp RowSplit): built once.
  std::optional<RowSplit> split;
  if (algorithm == "epsim") split.emplace(links);
  std::vector<int> layers;
  for (int layer = 0; layer < model.num_layers; ++layer)
    if (model.is_moe_layer(layer)) layers.push_back(layer);
  std::vector<LayerResult> results(layers.size());
  std::vector<std::exception_ptr> errors(layers.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < layers.size(); i = next++) {
      try {
        results[i] = plan_one_layer(links, model, loads, plan, algorithm, layers[i], with_bounds, trace,
                                    split ? &*split : nullptr);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    // GLPK keeps an environment per thread (bounds and exact starts solve LPs here): free it.
    release_lp_solver_thread_state();
  };
  int threads = plan.settings.threads > 0 ? plan.settings.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, static_cast<int>(std::max<std::size_t>(1, layers.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return results;
}

// Totals over the layers of `out` (out.layers filled).
void summarize(AlgorithmResult& out) {
  out.sum_dispatch_s = out.sum_combine_s = out.max_gpu_tokens = out.sum_link_s = out.sum_link_lb_s = 0;
  out.max_link_gap = out.max_gpu_gap = out.rule_sum_link_s = 0;
  out.worst_layer = -1;
  double worst = -1;
  double imbalance_sum = 0, rule_imbalance_sum = 0;
  for (const LayerResult& r : out.layers) {
    out.rule_sum_link_s += r.rule_link_s;
    rule_imbalance_sum += r.mean_gpu_tokens > 0 ? r.rule_max_gpu_tokens / r.mean_gpu_tokens : 1.0;
    out.sum_dispatch_s += r.dispatch.time_s();
    out.sum_combine_s += r.combine.time_s();
    out.max_gpu_tokens = std::max(out.max_gpu_tokens, r.max_gpu_tokens);
    imbalance_sum += r.mean_gpu_tokens > 0 ? r.max_gpu_tokens / r.mean_gpu_tokens : 1.0;
    out.sum_link_s += r.link_s();
    out.sum_link_lb_s += r.bounds.link_s;
    if (r.bounds.link_s > 0) out.max_link_gap = std::max(out.max_link_gap, r.link_s() / r.bounds.link_s - 1);
    if (r.bounds.gpu_tokens > 0) out.max_gpu_gap = std::max(out.max_gpu_gap, r.max_gpu_tokens / r.bounds.gpu_tokens - 1);
    double t = r.dispatch.time_s() + r.combine.time_s();
    if (t > worst) {
      worst = t;
      out.worst_layer = r.layer;
    }
  }
  out.mean_imbalance = out.layers.empty() ? 1.0 : imbalance_sum / static_cast<double>(out.layers.size());
  out.rule_mean_imbalance = out.layers.empty() ? 1.0 : rule_imbalance_sum / static_cast<double>(out.layers.size());
}

AlgorithmResult plan_all_layers(const EpLinkModel& links, const MoeModel& model, const Windows& loads,
                                const Plan& plan, const std::string& algorithm, bool with_bounds,
                                const PlanTrace* trace) {
  AlgorithmResult out;
  out.algorithm = algorithm;
  out.replica_choice = plan.settings.replica_choice;
  out.layers = plan_layers_parallel(links, model, loads, plan, algorithm, with_bounds, trace);
  summarize(out);
  return out;
}

// Inter-layer post-pass on the layers present in the trace (consecutive in trace order). A
// permutation is acceptable when the layer's own objective (trace objective for trace layers) keeps
// its penalty and does not raise its primary value (relative tolerance 1e-9).
void inter_layer_pass(AlgorithmResult& result, const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads,
                      const Plan& plan, const PlanTrace& trace) {
  std::vector<std::size_t> index;
  std::vector<LayerPlacement> placements;
  std::vector<const TraceLayer*> layers;
  for (const TraceLayer& tl : trace.trace->layers)
    for (std::size_t i = 0; i < result.layers.size(); ++i)
      if (result.layers[i].layer == tl.layer) {
        index.push_back(i);
        placements.push_back(result.layers[i].placement);
        layers.push_back(&tl);
      }
  if (placements.size() < 2) return;
  auto acceptable = [&](std::size_t j, const LayerPlacement& cand) {
    const LayerResult& lr = result.layers[index[j]];
    auto tin = trace_input(&trace, plan, lr.layer);
    ObjectiveValue before, after;
    if (tin) {
      before = trace_objective(*tin, placements[j], model.num_experts, plan.settings.objective);
      after = trace_objective(*tin, cand, model.num_experts, plan.settings.objective);
    } else {
      PlacementProblem p;
      p.num_gpus = plan.settings.ep;
      p.slots_per_gpu = plan.slots_per_gpu;
      p.load = scaled_layer_load(loads.count[static_cast<std::size_t>(lr.layer)], model, plan.settings.ep,
                                 plan.settings.tokens_per_gpu);
      p.links = &links;
      p.dispatch_bytes_per_token = plan.dispatch_bytes_per_token;
      p.combine_bytes_per_token = plan.combine_bytes_per_token;
      p.objective = plan.settings.objective;
      before = evaluate_placement(p, placements[j]);
      after = evaluate_placement(p, cand);
    }
    return after.penalty <= before.penalty && after.primary <= before.primary * (1 + 1e-9);
  };
  result.inter_layer = align_consecutive_layers(placements, layers, trace.trace->top_k, links.topology(), acceptable);
  for (std::size_t j = 0; j < placements.size(); ++j) {
    LayerResult& lr = result.layers[index[j]];
    if (placements[j].slot_expert == lr.placement.slot_expert) continue;
    auto load = scaled_layer_load(loads.count[static_cast<std::size_t>(lr.layer)], model, plan.settings.ep,
                                  plan.settings.tokens_per_gpu);
    LayerResult fresh = evaluate_layer(links, lr.layer, std::move(placements[j]), load, plan);
    fresh.bounds = lr.bounds;
    fresh.note = lr.note;
    lr = std::move(fresh);
  }
  summarize(result);
}

}  // namespace

double expert_weight_bytes_per_gpu(const MoeModel& model, int slots_per_gpu, double weight_bytes_per_element) {
  return static_cast<double>(slots_per_gpu) * model.num_moe_layers() * model.expert_weight_elements() *
         weight_bytes_per_element;
}

Plan prepare_plan(const EpLinkModel& links, const MoeModel& model, const PlanSettings& settings) {
  const int E = model.num_experts;
  const int G = settings.ep;
  if (G < 1 || G > links.topology().num_gpus())
    throw SettingError("ep", std::to_string(G),
                       fmt::format("between 1 and the {} GPUs of the topology", links.topology().num_gpus()), true);
  if (G != links.ep()) throw SettingError("ep", std::to_string(G), fmt::format("the link model's EP {}", links.ep()), true);
  if (settings.redundant < 0) throw SettingError("redundant", std::to_string(settings.redundant), ">= 0");
  if ((E + settings.redundant) % G != 0)
    throw SettingError("redundant", std::to_string(settings.redundant),
                       fmt::format("{} experts + {} redundant slots do not divide evenly over EP {}; the smallest valid "
                                   "value is {}",
                                   E, settings.redundant, G, smallest_valid_redundant(E, G)));
  if (!(settings.dispatch_bytes_per_element > 0) || !(settings.combine_bytes_per_element > 0) ||
      !std::isfinite(settings.dispatch_bytes_per_element) || !std::isfinite(settings.combine_bytes_per_element))
    throw UsageError("bytes per element on the wire must be finite and > 0");
  // [0, 1e15], not the user-facing token-count rule (common/token_count.hpp, >= 1): a scenario's setting
  // is a replica's tokens / tp (plan_settings), an average per GPU that may be below one token.
  if (!(settings.tokens_per_gpu >= 0 && settings.tokens_per_gpu <= limits::kMaxTokenCount))
    throw SettingError("tokens_per_gpu", fmt::format("{:g}", settings.tokens_per_gpu),
                       fmt::format("in [0, {:g}]", limits::kMaxTokenCount));
  if (settings.threads < 0) throw SettingError("threads", std::to_string(settings.threads), ">= 0");
  const int slots_per_gpu = (E + settings.redundant) / G;
  const double weights = expert_weight_bytes_per_gpu(model, slots_per_gpu, settings.weight_bytes_per_element);
  const double budget = (settings.hbm_GiB - settings.hbm_reserve_GiB) * 1073741824.0;
  if (weights > budget)
    throw InputError(fmt::format(
        "expert weights do not fit: every GPU (e.g. {}) holds {} slots x {} MoE layers x {:.1f} MB = {:.1f} GiB, "
        "{:.1f} GiB more than the {:.1f} GiB left of {:.1f} GiB HBM after a {:.1f} GiB reserve; use a larger EP, "
        "fewer redundant slots, or expert-TP",
        links.topology().device(links.topology().gpu_device(0)).id, slots_per_gpu, model.num_moe_layers(),
        model.expert_weight_elements() * settings.weight_bytes_per_element / 1e6, weights / 1073741824.0,
        (weights - budget) / 1073741824.0, budget / 1073741824.0, settings.hbm_GiB, settings.hbm_reserve_GiB));
  if (settings.max_nodes_per_token < 0)
    throw SettingError("max_nodes_per_token", std::to_string(settings.max_nodes_per_token), ">= 0");
  if (settings.node_local_replicas && model.n_group < 2)
    throw InputError(fmt::format("node-local replicas keep every replica on the node of its expert's group, but the "
                                 "model {} has no expert groups (n_group = {}); give a config.json with n_group >= 2 "
                                 "or place replicas on any node",
                                 model.name, model.n_group));
  Plan plan;
  plan.settings = settings;
  plan.num_experts = E;
  plan.slots_per_gpu = slots_per_gpu;
  plan.dispatch_bytes_per_token = model.hidden_size * settings.dispatch_bytes_per_element;
  plan.combine_bytes_per_token = model.hidden_size * settings.combine_bytes_per_element;
  for (int g = 0; g < G; ++g) plan.gpu_ids.push_back(links.topology().device(links.topology().gpu_device(g)).id);
  return plan;
}

Plan make_plan(const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads, const PlanSettings& settings,
               const PlanTrace* trace) {
  return make_plan(links, model, Windows{&loads}, settings, trace);
}

Plan make_plan(const EpLinkModel& links, const MoeModel& model, const Windows& windows, const PlanSettings& settings,
               const PlanTrace* trace) {
  if (windows.empty()) throw std::invalid_argument("make_plan: no load window");
  for (const ExpertLoads* w : windows) check_loads_match_model(*w, model);
  if (trace != nullptr && windows.size() > 1)
    throw UsageError("a per-token trace is one window of traffic: plan on a trace with one loads file");
  Plan plan = prepare_plan(links, model, settings);
  for (const ExpertLoads* w : windows) plan.windows.push_back(w->source);
  if (trace != nullptr && (trace->trace == nullptr || trace->routes == nullptr))
    throw std::invalid_argument("make_plan: PlanTrace needs the trace and the routes");
  plan.chosen = plan_all_layers(links, model, windows, plan, settings.algorithm, settings.bounds, trace);
  if (trace != nullptr && settings.algorithm == "epsim") {
    plan.chosen.trace_objective = true;
    if (settings.inter_layer) inter_layer_pass(plan.chosen, links, model, *windows.front(), plan, *trace);
  }
  plan.baseline = settings.baseline == settings.algorithm
                      ? plan.chosen
                      : plan_all_layers(links, model, windows, plan, settings.baseline, false, nullptr);
  return plan;
}

AlgorithmResult evaluate_placements(const EpLinkModel& links, const MoeModel& model, const ExpertLoads& loads,
                                    const Plan& plan, const std::vector<LayerPlacement>& placements,
                                    const std::string& name, bool with_bounds) {
  check_loads_match_model(loads, model);
  AlgorithmResult out;
  out.algorithm = name;
  out.replica_choice = plan.settings.replica_choice;
  for (int layer = 0; layer < model.num_layers; ++layer) {
    if (!model.is_moe_layer(layer)) continue;
    if (static_cast<std::size_t>(layer) >= placements.size() || placements[static_cast<std::size_t>(layer)].slot_expert.empty())
      throw InputError(fmt::format("{}: no placement for MoE layer {}", name, layer));
    const LayerPlacement& pl = placements[static_cast<std::size_t>(layer)];
    if (pl.num_gpus != plan.settings.ep || pl.slots_per_gpu != plan.slots_per_gpu)
      throw InputError(fmt::format("{}: layer {} has {} GPUs x {} slots, expected EP {} x {} slots", name, layer,
                                   pl.num_gpus, pl.slots_per_gpu, plan.settings.ep, plan.slots_per_gpu));
    check_placement(pl, model.num_experts, fmt::format("{} layer {}", name, layer));
    auto load = scaled_layer_load(loads.count[static_cast<std::size_t>(layer)], model, plan.settings.ep,
                                  plan.settings.tokens_per_gpu);
    LayerResult r = evaluate_layer(links, layer, pl, load, plan);
    if (with_bounds) r.bounds = bounds_of(links, load, plan);
    out.layers.push_back(std::move(r));
  }
  summarize(out);
  return out;
}

PlacementProblem make_layer_problem(const EpLinkModel& links, const MoeModel& model, const Windows& windows,
                                    const Plan& plan, int layer) {
  return layer_problem(links, model, windows, plan, layer);
}

std::vector<LayerPlacement> placements_by_layer(const AlgorithmResult& result, const MoeModel& model) {
  std::vector<LayerPlacement> out(static_cast<std::size_t>(model.num_layers));
  for (const LayerResult& l : result.layers) out[static_cast<std::size_t>(l.layer)] = l.placement;
  return out;
}

}  // namespace epsim
