#include "sweep/merge.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "sweep/results_store.hpp"
#include "sweep/runner.hpp"

namespace epsim {

namespace fs = std::filesystem;

MergeResult merge_results(const fs::path& out, const std::vector<fs::path>& inputs, bool plots) {
  if (inputs.empty()) throw UsageError("merge: name at least one results folder");
  // The folders to read: every input except `out` itself (which may not exist yet).
  std::error_code ec;
  std::vector<fs::path> sources;
  auto is_out = [&](const fs::path& in) {
    if (fs::exists(in, ec) && fs::exists(out, ec)) return fs::equivalent(in, out, ec);
    return (fs::absolute(in) / "").lexically_normal() == (fs::absolute(out) / "").lexically_normal();
  };
  for (const fs::path& in : inputs)
    if (!is_out(in)) sources.push_back(in);
  Json manifest = read_manifest(sources.empty() ? out : sources.front());
  for (const fs::path& in : sources)
    if (read_manifest(in) != manifest)
      throw InputError((in / "sweep.json").string(), "",
                       fmt::format("the manifest of {}: the folders hold different sweeps",
                                   (sources.front() / "sweep.json").string()));
  prepare_results_folder(out, manifest);
  const auto num_points = manifest.at("num_points").get<std::size_t>();
  MergeResult result;
  result.total = num_points;
  for (const fs::path& in : sources) {
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
