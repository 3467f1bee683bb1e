// `epsim trace generate`: seeded per-token traces (schema epsim.trace/1) from per-expert loads.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "common/limits.hpp"
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

// Progress on stderr: a line rewritten in place on a terminal, else a line every 10 s (logs).
class LayerProgress {
 public:
  LayerProgress() : tty_(::isatty(::fileno(stderr)) == 1), start_(std::chrono::steady_clock::now()), last_(start_) {}
  void operator()(int done, int total) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - start_).count();
    if (tty_) {
      fmt::print(stderr, "\rtrace: {}/{} layers, {:.0f} s", done, total, s);
      if (done == total) fmt::print(stderr, "\n");
    } else if (now - last_ >= std::chrono::seconds(10) && done < total) {
      fmt::print(stderr, "trace: {}/{} layers, {:.0f} s\n", done, total, s);
      last_ = now;
    }
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

void run_generate(const TraceOptions& o) {
  check_output_paths({{"--loads", o.loads}, {"--model", o.model}}, {{"--out", o.out}, {"--per-source-out", o.per_source_out}});
  check_writable(o.out);
  if (!o.per_source_out.empty()) check_writable(o.per_source_out);
  MoeModel model = load_moe_model(o.model);
  ExpertLoads loads = load_expert_loads_any(o.loads);
  check_loads_match_model(loads, model);
  const TraceSize size = check_trace_size(loads, model, o.gen);
  if (!o.per_source_out.empty()) {
    const double counts = static_cast<double>(model.num_layers) * o.gen.ep * model.num_experts;
    if (counts > static_cast<double>(limits::kMaxLoadCounts))
      throw InputError(fmt::format("--per-source-out: {} layers x {} ranks x {} experts = {:.3g} counts, above the {} "
                                   "counts of one loads file (docs/limits.md)",
                                   model.num_layers, o.gen.ep, model.num_experts, counts, limits::kMaxLoadCounts));
  }
  TraceGeneratorOptions gen = o.gen;
  LayerProgress progress;
  gen.on_layer_done = [&progress](int done, int total) { progress(done, total); };
  std::vector<LayerFit> fits;
  Trace trace = generate_trace(loads, model, gen, &fits);
  if (trace.layers.empty())
    throw InputError(o.loads, "", "every MoE layer's counts are zero: no token to route, so no trace (plan and simulate "
                                  "take such loads as uniform; a trace needs counts)");
  write_file_atomic(o.out, trace_to_json_text(trace) + "\n");
  if (!o.per_source_out.empty())
    write_file_atomic(o.per_source_out, json_output_text(per_source_loads_to_json(trace_per_source_loads(trace, model.num_layers)), -1,
                                                        "the per-source loads"));
  double worst = 0, l1 = 0;
  int worst_layer = -1, max_it = 0;
  for (const LayerFit& f : fits) {
    if (f.max_rel_error >= worst) worst = f.max_rel_error, worst_layer = f.layer;
    l1 = std::max(l1, f.l1_rel_error);
    max_it = std::max(max_it, f.iterations);
  }
  fmt::print("trace: {} MoE layers x {} tokens ({} ranks x {}), top_k {}, seed {}; {:.3g} ids, ~{:.1f} MiB of JSON\n",
             trace.layers.size(), size.tokens_per_layer, o.gen.ep, o.gen.tokens_per_gpu, model.top_k, o.gen.seed,
             static_cast<double>(size.ids), static_cast<double>(size.text_bytes) / 1048576.0);
  fmt::print("load match: max relative error {:.4f} (layer {}, experts with target >= {} pairs; tolerance {}), "
             "max L1 error {:.4f}, iterations <= {}\n",
             worst, worst_layer, o.gen.min_target_count, o.gen.tolerance, l1, max_it);
  if (worst > o.gen.tolerance)
    fmt::print(stderr,
               "epsim: warning: the trace misses the loads by up to {:.4f} (layer {}), above the tolerance {} after {} "
               "iterations: more tokens per GPU (--tokens-per-gpu), more iterations (--max-iterations) or a higher "
               "--min-target bring it closer\n",
               worst, worst_layer, o.gen.tolerance, max_it);
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
  g->add_option("--loads", o->loads, "expert loads: {\"logical_count\": ...} or {\"per_source_count\": ...}")
      ->required()
      ->check(non_empty_path());
  g->add_option("--model", o->model, "Hugging Face config.json of the MoE model")->required()->check(non_empty_path());
  g->add_option("--tokens-per-gpu", o->gen.tokens_per_gpu, "tokens each EP rank originates per MoE layer")
      ->required()
      ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  g->add_option("--ep", o->gen.ep, "EP ranks")->required()->check(CLI::Range(1, limits::kMaxEpRanks));
  g->add_option("--seed", o->gen.seed, "random seed (same seed, same trace on every platform)")
      ->capture_default_str()
      ->check(non_negative_integer());
  g->add_option("--tolerance", o->gen.tolerance, "relative load error allowed per expert")
      ->capture_default_str()
      ->check(finite_non_negative());
  g->add_option("--min-target", o->gen.min_target_count,
                "experts with fewer target token-expert pairs are not held to --tolerance")
      ->capture_default_str()
      ->check(finite_non_negative());
  g->add_option("--max-iterations", o->gen.max_iterations, "weight corrections per layer")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxTraceIterations));
  g->add_option("-j,--threads", o->gen.threads, "layers in parallel (0 = all cores); output does not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  g->add_option("--out", o->out, "write the trace here")->required()->check(non_empty_path());
  g->add_option("--per-source-out", o->per_source_out, "also write {\"per_source_count\": [layer][rank][expert]}")
      ->check(non_empty_path());
  g->callback([o] { run_generate(*o); });
}

}  // namespace epsim::cli
