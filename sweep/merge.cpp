#include "sweep/merge.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "sweep/results_store.hpp"
#include "sweep/runner.hpp"

namespace epsim {

namespace fs = std::filesystem;

MergeResult merge_results(const fs::path& out, const std::vector<fs::path>& inputs, bool plots) {
  if (inputs.empty()) throw UsageError("merge: name at least one results folder");
  Json manifest = read_manifest(inputs.front());
  for (const fs::path& in : inputs)
    if (read_manifest(in) != manifest)
      throw InputError((in / "sweep.json").string(), "",
                       fmt::format("the manifest of {}: the folders hold different sweeps", (inputs.front() / "sweep.json").string()));
  prepare_results_folder(out, manifest);
  const auto num_points = manifest.at("num_points").get<std::size_t>();
  MergeResult result;
  result.total = num_points;
  std::error_code ec;
  for (const fs::path& in : inputs) {
    if (fs::equivalent(in, out, ec)) continue;
    auto have = read_all_points(out, num_points);
    for (auto& [index, record] : read_all_points(in, num_points)) {
      auto it = have.find(index);
      if (it != have.end()) {
        if (it->second != record)
          throw InputError(point_file(in, index).string(), "",
                           fmt::format("the same record as {} (two different results of point {})",
                                       point_file(out, index).string(), index));
        continue;
      }
      write_point(out, record);
      ++result.copied;
    }
  }
  result.points = read_all_points(out, num_points).size();
  result.warnings = write_sweep_outputs(out, manifest, plots);
  return result;
}

}  // namespace epsim
