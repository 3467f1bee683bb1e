// `epsim sweep`: run a what-if grid (docs/sweep.md); `epsim merge`: combine shard folders.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/names.hpp"
#include "sweep/evaluator.hpp"
#include "sweep/merge.hpp"
#include "sweep/progress.hpp"
#include "sweep/runner.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim::cli {

namespace {

// Set by the SIGINT/SIGTERM handler (Ctrl-C; Slurm sends SIGTERM at a job's time limit). A signal
// handler can only reach a static object; these are the only mutable statics of the sweep, and the
// library sees the flag as a const cancellation token.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the stop flag must be async-signal-safe");

extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
  stop_requested.store(true);
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once
}

struct SweepOptions {
  std::string spec;
  std::string out = "results";
  int threads = 1;
  std::string shard = "0/1";
  std::string evaluator;
  bool no_plots = false;
};

struct MergeOptions {
  std::vector<std::string> folders;
  bool no_plots = false;
};

void print_warnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) fmt::print(stderr, "epsim: warning: {}\n", w);
}

void run_sweep_command(const SweepOptions& o) {
  check_output_paths({{"spec", o.spec}}, {{"--out", o.out}});
  Shard shard = parse_shard(o.shard);
  SweepSpec spec = load_sweep_spec(o.spec);
  if (!o.evaluator.empty()) spec.evaluator = o.evaluator;
  Evaluator evaluator = make_evaluator(spec.evaluator);

  ProgressPrinter printer(stderr, ::isatty(::fileno(stderr)) == 1);
  SweepRunOptions run;
  run.out = o.out;
  run.threads = o.threads;
  run.shard = shard;
  run.cancel = &stop_requested;
  run.plots = !o.no_plots;
  run.on_progress = [&printer](const SweepProgress& p) { printer.update(p); };
  stop_requested.store(false);
  stop_signal.store(0);
  auto previous_int = std::signal(SIGINT, on_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_stop_signal);
  auto restore = [&] {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  };
  SweepRunResult r;
  try {
    r = run_sweep(spec, evaluator, run);
  } catch (...) {
    printer.finish();
    restore();
    throw;
  }
  printer.finish();
  restore();
  print_warnings(r.warnings);
  const SweepProgress& p = r.progress;
  fmt::print("{} points ({} run now, {} already done, {} skipped) in {:.1f} s; wrote {}\n", p.reused + p.evaluated,
             p.evaluated, p.reused, p.skipped, p.elapsed_s, r.csv.string());
  if (r.cancelled) {
    const int sig = stop_signal.load() == SIGTERM ? SIGTERM : SIGINT;
    fmt::print(stderr, "epsim: {}: {} of {} points done and kept in {}; run the same command to resume\n",
               sig == SIGTERM ? "terminated (SIGTERM)" : "interrupted", p.reused + p.evaluated, p.total,
               (run.out / "points").string());
    std::fflush(stdout);
    std::fflush(stderr);
    std::signal(sig, SIG_DFL);
    std::raise(sig);  // exit the way a signalled program does (status 130 / 143 in a shell)
  }
}

void run_merge_command(const MergeOptions& o) {
  std::vector<std::filesystem::path> inputs(o.folders.begin(), o.folders.end());
  MergeResult r = merge_results(inputs.front(), inputs, !o.no_plots);
  print_warnings(r.warnings);
  fmt::print("{} of {} points ({} copied); wrote {}\n", r.points, r.total, r.copied,
             (inputs.front() / "sweep.csv").string());
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* s = app.add_subcommand("sweep", "Run a what-if grid of scenarios (spec: epsim.sweep/1, docs/sweep.md)");
  s->add_option("spec", o->spec, "sweep spec JSON")->required()->check(non_empty_path());
  s->add_option("-j,--threads", o->threads, "points evaluated in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));  // as simulate's and trace's -j: more threads than any host has cores
  s->add_option("--out", o->out, "results folder (points/, sweep.csv, plots/); reruns resume it")
      ->capture_default_str()
      ->check(non_empty_path());
  s->add_option("--shard", o->shard, "run only the points with index % n == i (i/n), e.g. for a Slurm job array")
      ->capture_default_str();
  s->add_option("--evaluator", o->evaluator, fmt::format("override the spec's evaluator ({})", names_text(evaluator_names())));
  s->add_flag("--no-plots", o->no_plots, "write the CSV only");
  s->callback([o] { run_sweep_command(*o); });

  auto m = std::make_shared<MergeOptions>();
  CLI::App* g = app.add_subcommand("merge", "Combine sweep shard folders into the first one: sweep.csv + plots");
  g->add_option("folders", m->folders, "output folder, then the shard folders to merge into it")->required();
  g->add_flag("--no-plots", m->no_plots, "write the CSV only");
  g->callback([m] { run_merge_command(*m); });
}

}  // namespace epsim::cli
