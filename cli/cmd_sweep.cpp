// `epsim sweep`: run a what-if grid (docs/sweep.md); `epsim merge`: combine shard folders.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "sweep/evaluator.hpp"
#include "sweep/merge.hpp"
#include "sweep/progress.hpp"
#include "sweep/runner.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim::cli {

namespace {

// Set by the SIGINT handler. A signal handler can only reach a static object; this is the only
// mutable static of the sweep, and the library sees it as a const cancellation token.
std::atomic<bool> sigint_received{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT flag must be async-signal-safe");

extern "C" void on_sigint(int) {
  sigint_received.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
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
  Shard shard = parse_shard(o.shard);
  SweepSpec spec = load_sweep_spec(o.spec);
  if (!o.evaluator.empty()) spec.evaluator = o.evaluator;
  Evaluator evaluator = make_evaluator(spec.evaluator);

  ProgressPrinter printer(stderr, ::isatty(::fileno(stderr)) == 1);
  SweepRunOptions run;
  run.out = o.out;
  run.threads = o.threads;
  run.shard = shard;
  run.cancel = &sigint_received;
  run.plots = !o.no_plots;
  run.on_progress = [&printer](const SweepProgress& p) { printer.update(p); };
  sigint_received.store(false);
  auto previous = std::signal(SIGINT, on_sigint);
  SweepRunResult r;
  try {
    r = run_sweep(spec, evaluator, run);
  } catch (...) {
    printer.finish();
    std::signal(SIGINT, previous);
    throw;
  }
  printer.finish();
  std::signal(SIGINT, previous);
  print_warnings(r.warnings);
  const SweepProgress& p = r.progress;
  fmt::print("{} points ({} run now, {} already done, {} skipped) in {:.1f} s; wrote {}\n", p.reused + p.evaluated,
             p.evaluated, p.reused, p.skipped, p.elapsed_s, r.csv.string());
  if (r.cancelled) {
    fmt::print(stderr, "epsim: interrupted: {} of {} points done and kept in {}; run the same command to resume\n",
               p.reused + p.evaluated, p.total, (run.out / "points").string());
    std::fflush(stdout);
    std::fflush(stderr);
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);  // exit the way an interrupted program does (status 130 in a shell)
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
  s->add_option("spec", o->spec, "sweep spec JSON")->required();
  s->add_option("-j,--threads", o->threads, "points evaluated in parallel")->capture_default_str();
  s->add_option("--out", o->out, "results folder (points/, sweep.csv, plots/); reruns resume it")->capture_default_str();
  s->add_option("--shard", o->shard, "run only the points with index % n == i (i/n), e.g. for a Slurm job array")
      ->capture_default_str();
  s->add_option("--evaluator", o->evaluator, "override the spec's evaluator (plan or simulate)");
  s->add_flag("--no-plots", o->no_plots, "write the CSV only");
  s->callback([o] { run_sweep_command(*o); });

  auto m = std::make_shared<MergeOptions>();
  CLI::App* g = app.add_subcommand("merge", "Combine sweep shard folders into the first one: sweep.csv + plots");
  g->add_option("folders", m->folders, "output folder, then the shard folders to merge into it")->required();
  g->add_flag("--no-plots", m->no_plots, "write the CSV only");
  g->callback([m] { run_merge_command(*m); });
}

}  // namespace epsim::cli
