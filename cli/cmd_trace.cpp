// `epsim trace generate`: seeded per-token traces (schema epsim.trace/1) from per-expert loads.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "model/trace.hpp"
#include "model/trace_generator.hpp"

namespace epsim::cli {

namespace {

struct TraceOptions {
  std::string loads;
  std::string model;
  std::string out;
  std::string per_source_out;
  TraceGeneratorOptions gen;
};

void run_generate(const TraceOptions& o) {
  if (o.gen.ep < 1) throw UsageError("--ep must be >= 1");
  if (o.gen.tokens_per_gpu < 1) throw UsageError("--tokens-per-gpu must be >= 1");
  check_writable(o.out);
  if (!o.per_source_out.empty()) check_writable(o.per_source_out);
  MoeModel model = load_moe_model(o.model);
  ExpertLoads loads = load_expert_loads_any(o.loads);
  check_loads_match_model(loads, model);
  std::vector<LayerFit> fits;
  Trace trace = generate_trace(loads, model, o.gen, &fits);
  write_file_atomic(o.out, trace_to_json(trace).dump() + "\n");
  if (!o.per_source_out.empty())
    write_file_atomic(o.per_source_out, per_source_loads_to_json(trace_per_source_loads(trace, model.num_layers)).dump() + "\n");
  double worst = 0, l1 = 0;
  int worst_layer = -1, max_it = 0;
  for (const LayerFit& f : fits) {
    if (f.max_rel_error >= worst) worst = f.max_rel_error, worst_layer = f.layer;
    l1 = std::max(l1, f.l1_rel_error);
    max_it = std::max(max_it, f.iterations);
  }
  fmt::print("trace: {} MoE layers x {} tokens ({} ranks x {}), top_k {}, seed {}\n", trace.layers.size(),
             o.gen.ep * o.gen.tokens_per_gpu, o.gen.ep, o.gen.tokens_per_gpu, model.top_k, o.gen.seed);
  fmt::print("load match: max relative error {:.4f} (layer {}, experts with target >= {} pairs; tolerance {}), "
             "max L1 error {:.4f}, iterations <= {}\n",
             worst, worst_layer, o.gen.min_target_count, o.gen.tolerance, l1, max_it);
  fmt::print("wrote {}\n", o.out);
  if (!o.per_source_out.empty()) fmt::print("wrote {}\n", o.per_source_out);
}

}  // namespace

void add_trace_commands(CLI::App& app) {
  CLI::App* t = app.add_subcommand("trace", "Per-token routing traces");
  t->require_subcommand(1);
  auto o = std::make_shared<TraceOptions>();
  CLI::App* g = t->add_subcommand("generate", "Sample a seeded trace that reproduces per-expert loads under "
                                              "group-limited routing (n_group, topk_group)");
  g->add_option("--loads", o->loads, "expert loads: {\"logical_count\": ...} or {\"per_source_count\": ...}")->required();
  g->add_option("--model", o->model, "Hugging Face config.json of the MoE model")->required();
  g->add_option("--tokens-per-gpu", o->gen.tokens_per_gpu, "tokens each EP rank originates per MoE layer")->required();
  g->add_option("--ep", o->gen.ep, "EP ranks")->required();
  g->add_option("--seed", o->gen.seed, "random seed (same seed, same trace on every platform)")->capture_default_str();
  g->add_option("--tolerance", o->gen.tolerance, "relative load error allowed per expert")->capture_default_str();
  g->add_option("--min-target", o->gen.min_target_count,
                "experts with fewer target token-expert pairs are not held to --tolerance")
      ->capture_default_str();
  g->add_option("--max-iterations", o->gen.max_iterations, "weight corrections per layer")->capture_default_str();
  g->add_option("-j,--threads", o->gen.threads, "layers in parallel (0 = all cores); output does not depend on it")
      ->capture_default_str();
  g->add_option("--out", o->out, "write the trace here")->required();
  g->add_option("--per-source-out", o->per_source_out, "also write {\"per_source_count\": [layer][rank][expert]}");
  g->callback([o] { run_generate(*o); });
}

}  // namespace epsim::cli
