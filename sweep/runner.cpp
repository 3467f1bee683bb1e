#include "sweep/runner.hpp"

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "sweep/results_store.hpp"
#include "sweep/sweep_csv.hpp"
#include "sweep/sweep_plots.hpp"

namespace epsim {

namespace fs = std::filesystem;

std::vector<std::string> write_sweep_outputs(const fs::path& out, const Json& manifest, bool plots) {
  std::vector<std::string> warnings;
  const auto num_points = manifest.at("num_points").get<std::size_t>();
  auto records = read_all_points(out, num_points);
  write_file_atomic(out / "sweep.csv", sweep_csv(manifest, records));
  if (records.size() < num_points)
    warnings.push_back(fmt::format("{} of {} points are not finished; sweep.csv holds the {} that are",
                                   num_points - records.size(), num_points, records.size()));
  if (plots) {
    auto w = write_sweep_plots(out, manifest, records);
    warnings.insert(warnings.end(), w.begin(), w.end());
  }
  return warnings;
}

SweepRunResult run_sweep(const SweepSpec& spec, const Evaluator& evaluator, const SweepRunOptions& o) {
  if (o.threads < 1) throw UsageError(fmt::format("-j {}: expected at least 1 thread", o.threads));
  const auto start = std::chrono::steady_clock::now();
  const Json manifest = sweep_manifest(spec);
  // Read every point's scenario (up to 10,000 of this shard's) before the results folder exists, so
  // that a malformed base or axis "set" stops the sweep without leaving an empty folder behind.
  if (evaluator.check) {
    std::size_t checked = 0;
    for (std::size_t index : shard_points(spec.num_points(), o.shard)) {
      if (++checked > 10'000) break;
      evaluator.check(make_point(spec, index));
    }
  }
  prepare_results_folder(o.out, manifest);

  SweepRunResult result;
  SweepProgress& progress = result.progress;
  std::map<std::size_t, Json> done;  // this shard's records, by index
  std::vector<std::size_t> pending;
  for (std::size_t index : shard_points(spec.num_points(), o.shard)) {
    SweepPoint p = make_point(spec, index);
    if (auto r = read_point(o.out, index, p.axes)) {
      if (!(*r)["skipped_reason"].get<std::string>().empty()) ++progress.skipped;
      done.emplace(index, std::move(*r));
      ++progress.reused;
    } else {
      pending.push_back(index);
    }
  }
  progress.total = done.size() + pending.size();

  std::mutex mutex;  // guards done, progress, errors, on_progress
  std::vector<std::exception_ptr> errors(pending.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto stop = [&] { return failed.load() || (o.cancel && o.cancel->load()); };
  auto worker = [&] {
    for (std::size_t i = next++; i < pending.size() && !stop(); i = next++) {
      try {
        SweepPoint p = make_point(spec, pending[i]);
        PointResult r;
        r.skipped_reason = structural_skip_reason(spec, p);
        if (r.skipped_reason.empty()) r = evaluator.evaluate(p);
        Json record = point_record(p, r);
        // Round-trip through the stored text so that fresh and resumed rows are the same values.
        record = Json::parse(record.dump());
        write_point(o.out, record);
        std::lock_guard<std::mutex> lock(mutex);
        if (!r.skipped_reason.empty()) ++progress.skipped;
        ++progress.evaluated;
        done.emplace(pending[i], std::move(record));
        progress.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (o.on_progress) o.on_progress(progress);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        errors[i] = std::current_exception();
        failed = true;
      }
    }
  };
  {
    std::vector<std::thread> pool;
    int extra = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(o.threads), std::max<std::size_t>(1, pending.size()))) - 1;
    for (int t = 0; t < extra; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
  }
  progress.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.cancelled = done.size() < progress.total && !failed.load();

  // The CSV of what is done, also when cancelled or failed.
  if (o.shard.count == 1) {
    result.csv = o.out / "sweep.csv";
    result.warnings = write_sweep_outputs(o.out, manifest, o.plots && !failed.load());
  } else {
    result.csv = o.out / fmt::format("shard-{}-of-{}.csv", o.shard.index, o.shard.count);
    write_file_atomic(result.csv, sweep_csv(manifest, done));
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return result;
}

}  // namespace epsim
