#pragma once
// Running a sweep: the points of a shard on N threads, each result written to
// out/points/<index>.json as soon as it finishes (finished points are never re-run), then the CSV
// and plots of what is done. Stops scheduling on cancellation or on the first error.
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sweep/evaluator.hpp"
#include "sweep/grid.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim {

/// Progress after each finished point (reported under a lock, so calls never overlap).
struct SweepProgress {
  std::size_t total = 0;      ///< points in this shard
  std::size_t reused = 0;     ///< found finished in the folder (resume)
  std::size_t evaluated = 0;  ///< evaluated in this run so far
  std::size_t skipped = 0;    ///< of reused + evaluated: invalid combinations
  double elapsed_s = 0;       ///< since the run started (wall clock)
};

struct SweepRunOptions {
  std::filesystem::path out;  ///< results folder (created)
  int threads = 1;            ///< points evaluated at once (>= 1)
  Shard shard;                ///< which points this process runs
  /// Cancellation token (e.g. set by a SIGINT handler); may be null. When it becomes true no new
  /// point starts; points already running finish and are kept.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const SweepProgress&)> on_progress;  ///< may be empty
  bool plots = true;          ///< write plots (gnuplot) after the CSV; only for an unsharded run
};

struct SweepRunResult {
  SweepProgress progress;
  bool cancelled = false;         ///< stopped early by the token (CSV holds what is done)
  std::filesystem::path csv;      ///< the CSV written
  std::vector<std::string> warnings;  ///< e.g. gnuplot missing
};

/// Run the points of options.shard that are not finished yet. CSV: out/sweep.csv for an unsharded
/// run, out/shard-<i>-of-<n>.csv (this shard's points) for a shard; `epsim merge` combines shards.
/// The CSV bytes do not depend on threads, shards or resumption. Throws InputError from
/// prepare_results_folder / read_point / the evaluator (the first error by point order; finished
/// points are kept), UsageError when threads < 1.
SweepRunResult run_sweep(const SweepSpec& spec, const Evaluator& evaluator, const SweepRunOptions& options);

/// Write out/sweep.csv and (when `plots`) the plots from the points stored in `out`.
/// Returns warnings (missing gnuplot, missing points).
std::vector<std::string> write_sweep_outputs(const std::filesystem::path& out, const Json& manifest, bool plots);

}  // namespace epsim
