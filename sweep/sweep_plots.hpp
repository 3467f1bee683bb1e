#pragma once
// Plots of a sweep (gnuplot, one PNG per question) written to out/plots/: for each question a data
// file (.dat), a script (.gp) and the picture (.png). x = EP size (log2 axis); one line per value of
// the "placement" axis; one panel per combination of the other axes with several values.
// Questions of the plan evaluator: all-to-all time, max/mean GPU tokens, busiest link utilization vs
// EP. Of the simulate evaluator: throughput per GPU, latency (TTFT/TPOT), scaling efficiency against
// linear (throughput per GPU / that at the series' smallest EP), exposed communication share, and
// the bottleneck (most utilized) link's utilization vs EP.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/json_input.hpp"

namespace epsim {

/// Write the plots of `records` (index -> point record) into out/plots. Needs an "ep" axis with at
/// least two values (otherwise nothing is drawn and a warning says why). A missing or failing
/// gnuplot is a warning: the .dat and .gp files are still written, the PNG is not. Every file is
/// written atomically. Returns the warnings.
std::vector<std::string> write_sweep_plots(const std::filesystem::path& out, const Json& manifest,
                                           const std::map<std::size_t, Json>& records);

}  // namespace epsim
