// Golden tests of whole commands: the report numbers of every shipped simulate scenario and the CSV
// of a small sweep, stored under tests/data/golden/ and compared field by field (numbers to a relative
// 1e-9, so that -O1 sanitizer builds agree with Release builds; everything else exactly).
// To regenerate the expected files on purpose (and review the diff before committing):
//   EPSIM_UPDATE_GOLDEN=1 ctest --test-dir build -R golden
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {

using Json = nlohmann::json;
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kData = EPSIM_TEST_DATA_DIR;

bool update() { return std::getenv("EPSIM_UPDATE_GOLDEN") != nullptr; }

// Numbers equal to a relative 1e-9 (absolute 1e-12 near zero); other values exactly.
bool same_value(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= 1e-9 * std::max(std::fabs(x), std::fabs(y)) + 1e-12;
  }
  return a == b;
}

// Every leaf of `want` and `got` that differs, as "pointer: want -> got" lines.
void diff(const Json& want, const Json& got, const std::string& at, std::vector<std::string>& out) {
  if (want.is_object() && got.is_object()) {
    for (const auto& [k, v] : want.items())
      if (!got.contains(k)) out.push_back(at + "/" + k + ": missing");
      else diff(v, got.at(k), at + "/" + k, out);
    for (const auto& [k, v] : got.items())
      if (!want.contains(k)) out.push_back(at + "/" + k + ": new");
    return;
  }
  if (want.is_array() && got.is_array() && want.size() == got.size()) {
    for (std::size_t i = 0; i < want.size(); ++i) diff(want[i], got[i], at + "/" + std::to_string(i), out);
    return;
  }
  if (!same_value(want, got)) out.push_back(at + ": " + want.dump() + " -> " + got.dump());
}

void check_golden(const std::string& golden_path, const Json& produced) {
  if (update()) std::ofstream(golden_path) << produced.dump(1) << "\n";
  const std::string text = slurp(golden_path);
  REQUIRE(!text.empty());
  std::vector<std::string> diffs;
  diff(Json::parse(text), produced, "", diffs);
  std::string all;
  for (const auto& d : diffs) all += d + "\n";
  INFO(golden_path << " differs (regenerate on purpose with EPSIM_UPDATE_GOLDEN=1 ctest -R golden):\n" << all);
  CHECK(diffs.empty());
}

// The report without what depends on the machine (paths) or is long (per-GPU, per-layer rows and the
// critical path: their sums are in "totals" and "step").
Json report_summary(Json report) {
  for (const char* k : {"gpus", "layers", "critical_path", "scenario", "compute_source", "notices"}) report.erase(k);
  return report;
}

// CSV rows as cells; numeric cells compared as numbers.
Json csv_cells(const std::string& csv) {
  Json rows = Json::array();
  std::stringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    Json row = Json::array();
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (!cell.empty() && end == cell.c_str() + cell.size()) row.push_back(v);
      else row.push_back(cell);
    }
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("golden: epsim simulate of every shipped scenario", "[golden]") {
  const std::vector<std::string> scenarios = {
      "deepseek-v3/prefill-ep32",  "deepseek-v3/decode-ep32",   "deepseek-v3/prefill-ep256",
      "deepseek-v3/train-ep32-pp8", "ep16-vs-tp8pp2/prefill-ep16", "ep16-vs-tp8pp2/decode-ep16",
      "ep16-vs-tp8pp2/prefill-tp8pp2", "ep16-vs-tp8pp2/decode-tp8pp2"};
  for (const std::string& name : scenarios) {
    CliResult r = run_epsim("simulate --scenario " + kScenarios + "/" + name + ".json --json");
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    std::string file = name;
    for (char& c : file)
      if (c == '/') c = '_';
    check_golden(kData + "/golden/simulate_" + file + ".json", report_summary(Json::parse(r.out)));
  }
}

TEST_CASE("golden: a small plan sweep's CSV", "[golden]") {
  // Phi-3.5-MoE on generated DGX H100 clusters: EP 8 and 16 x greedy / epsim x spine 1:1 / 2:1.
  std::string dir = fresh_temp_dir("golden_sweep");
  Json spec = {{"schema", "epsim.sweep/2"},
               {"name", "golden"},
               {"evaluator", "plan"},
               {"base",
                {{"schema", "epsim.scenario/1"},
                 {"model", kScenarios + "/models/phi-3.5-moe-instruct.config.json"},
                 {"loads", kData + "/loads_phi16.json"},
                 {"gemm_efficiency", kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv"},
                 {"topology", {{"fabric", "rail-optimized"}}},
                 {"parallel", {{"dp", 8}, {"ep", 8}}},
                 {"phase", {{"kind", "prefill"}, {"tokens_per_gpu", 2048}}},
                 {"placement", {{"algorithm", "greedy"}}}}},
               {"axes", {{"ep", {8, 16}}, {"placement", {"greedy", "epsim"}}, {"oversubscription", {1, 2}}}}};
  std::ofstream(dir + "/spec.json") << spec.dump(1);
  CliResult r = run_epsim("sweep " + dir + "/spec.json --no-plots -j 2 --out " + dir + "/out");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  check_golden(kData + "/golden/sweep_phi16_plan.json", csv_cells(slurp(dir + "/out/sweep.csv")));
}
