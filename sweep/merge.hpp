#pragma once
// `epsim merge`: combine the results folders of a sharded sweep into one.
#include <filesystem>
#include <string>
#include <vector>

namespace epsim {

struct MergeResult {
  std::size_t points = 0;   ///< finished points in the merged folder
  std::size_t total = 0;    ///< points of the grid
  std::size_t copied = 0;   ///< point files copied into `out`
  std::vector<std::string> warnings;
};

/// Copy every point of `inputs` into out/points (out may be one of the inputs; it is created when
/// missing and then takes the manifest of the first input), then write out/sweep.csv and the plots
/// from all of them. The CSV equals that of an
/// unsharded run of the same grid. Throws InputError when an input has no manifest, manifests
/// differ (different sweeps), or two folders hold different records of the same point.
MergeResult merge_results(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs,
                          bool plots = true);

}  // namespace epsim
