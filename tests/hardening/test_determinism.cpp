// Determinism (issue 8): the same inputs give byte-identical outputs
//   - `epsim plan`: across runs and thread counts (-j 1 vs -j 2), greedy and the local search (epsim);
//   - `epsim simulate`: report JSON, Chrome trace and --json stdout across runs (simulate has no
//     thread option), analytical and flow networks, overlap and two-batch schedules;
//   - `epsim sweep`: sweep.csv and every points/<i>.json with -j 1 vs -j 2, and shards 0/2 + 1/2 put
//     together by `epsim merge` vs the unsharded run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "hardening_support.hpp"

using namespace hardening;

namespace {
struct Run {
  int exit_code;
  std::string plan_json;
  std::string stdout_json;
};

Run plan_run(const std::string& dir, const std::string& name, const std::string& loads, const std::string& model,
             const std::string& flags) {
  std::string out = dir + "/" + name;
  CliResult r = plan(kTopo2, loads, model, flags + " --json --out " + out);
  INFO(r.err);
  return Run{r.exit_code, slurp(out), r.out};
}
}  // namespace

TEST_CASE("plan is byte-identical across runs and across -j 1 / -j 2") {
  std::string dir = fresh_temp_dir("hard_determinism");
  struct Setting {
    std::string loads, model, flags;
  };
  const Setting settings[] = {
      {kPhiLoads, kPhiModel, "--ep 16 --redundant 16 --algorithm greedy"},
      {kPhiLoads, kPhiModel, "--ep 16 --redundant 16 --algorithm epsim --routing pxn --seed 3"},
      {kLoads, kModel, "--ep 16 --redundant 16 --algorithm epsim --objective balanced"},
  };
  int i = 0;
  for (const Setting& s : settings) {
    INFO(s.flags);
    Run a = plan_run(dir, std::to_string(i) + "a.json", s.loads, s.model, s.flags + " -j 1");
    Run b = plan_run(dir, std::to_string(i) + "b.json", s.loads, s.model, s.flags + " -j 2");
    Run c = plan_run(dir, std::to_string(i) + "c.json", s.loads, s.model, s.flags + " -j 2");
    ++i;
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    REQUIRE(c.exit_code == 0);
    REQUIRE(!a.plan_json.empty());
    CHECK(a.plan_json == b.plan_json);
    CHECK(b.plan_json == c.plan_json);
    CHECK(a.stdout_json == b.stdout_json);
    CHECK(b.stdout_json == c.stdout_json);
  }
}

namespace {
// Tiny prefill: 8 EP ranks of a 2-node DGX H100, a 2-layer 8-expert model (fuzz/inputs/).
const std::string kTinyScenario = std::string(EPSIM_FUZZ_INPUTS_DIR) + "/tiny_scenario.json";
const std::string kDecode16 = kScenarios + "/ep16-vs-tp8pp2/decode-ep16.json";

struct SimOutputs {
  std::string report, trace, stdout_json;
};

SimOutputs simulate_run(const std::string& dir, const std::string& tag, const std::string& args) {
  const std::string report = dir + "/" + tag + "_report.json", trace = dir + "/" + tag + "_trace.json";
  CliResult files = run_epsim("simulate " + args + " --report " + report + " --trace " + trace + " --trace-gpus 0,1,5");
  INFO(files.err);
  REQUIRE(files.exit_code == 0);
  CliResult json = run_epsim("simulate " + args + " --json");
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  return SimOutputs{slurp(report), slurp(trace), json.out};
}
}  // namespace

TEST_CASE("simulate: report, Chrome trace and --json are byte-identical across runs") {
  std::string dir = fresh_temp_dir("hard_determinism_simulate");
  const std::string cases[] = {
      "--scenario " + kTinyScenario + " --network flow",
      "--scenario " + kTinyScenario + " --network analytical --schedule two-batch",
      "--scenario " + kDecode16 + " --network flow",
  };
  int i = 0;
  for (const std::string& args : cases) {
    INFO(args);
    SimOutputs a = simulate_run(dir, std::to_string(i) + "a", args);
    SimOutputs b = simulate_run(dir, std::to_string(i) + "b", args);
    ++i;
    // Non-trivial outputs: a report with an iteration time, a trace with slices.
    auto report = nlohmann::json::parse(a.report);
    CHECK(report["iteration_ps"].get<std::int64_t>() > 0);
    CHECK(!nlohmann::json::parse(a.trace)["traceEvents"].empty());
    CHECK(a.report == b.report);
    CHECK(a.trace == b.trace);
    CHECK(a.stdout_json == b.stdout_json);
    // --json prints the report that --report writes.
    CHECK(nlohmann::json::parse(a.stdout_json) == report);
  }
}

namespace {
// A plan sweep of 2 EP sizes x 3 placement algorithms = 6 points (Phi-3.5-MoE, 16 experts).
std::string write_sweep_spec(const std::string& dir) {
  nlohmann::json spec = {
      {"schema", "epsim.sweep/2"},
      {"name", "determinism"},
      {"evaluator", "plan"},
      {"base",
       {{"schema", "epsim.scenario/1"},
        {"model", kPhiModel},
        {"loads", kPhiLoads},
        {"gemm_efficiency", kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv"},
        {"phase", {{"kind", "prefill"}, {"tokens_per_gpu", 1024}}},
        {"topology", {{"fabric", "rail-optimized"}}},
        {"parallel", {{"dp", 8}, {"ep", 8}}},
        {"placement", {{"algorithm", "greedy"}, {"seed", 5}}}}},
      {"axes", {{"ep", {8, 16}}, {"placement", {"contiguous", "greedy", "epsim"}}}}};
  return write_file(dir, "spec.json", spec.dump(1));
}

std::string sweep_ok(const std::string& args) {
  CliResult r = run_epsim(args);
  INFO(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}
}  // namespace

TEST_CASE("sweep: CSV and point files are byte-identical with -j 1, -j 2 and merged shards") {
  namespace fs = std::filesystem;
  std::string dir = fresh_temp_dir("hard_determinism_sweep");
  std::string spec = write_sweep_spec(dir);
  const std::string j1 = dir + "/j1", j2 = dir + "/j2", s0 = dir + "/s0", s1 = dir + "/s1", merged = dir + "/merged";
  sweep_ok("sweep " + spec + " --no-plots -j 1 --out " + j1);
  sweep_ok("sweep " + spec + " --no-plots -j 2 --out " + j2);
  sweep_ok("sweep " + spec + " --no-plots -j 2 --shard 0/2 --out " + s0);
  sweep_ok("sweep " + spec + " --no-plots -j 1 --shard 1/2 --out " + s1);
  sweep_ok("merge " + merged + " " + s0 + " " + s1 + " --no-plots");
  const std::string csv = slurp(j1 + "/sweep.csv");
  // 6 points, none skipped: a header and 6 rows with a metric.
  REQUIRE(std::count(csv.begin(), csv.end(), '\n') == 7);
  CHECK(slurp(j2 + "/sweep.csv") == csv);
  CHECK(slurp(merged + "/sweep.csv") == csv);
  CHECK(slurp(j1 + "/sweep.json") == slurp(merged + "/sweep.json"));
  for (int i = 0; i < 6; ++i) {
    INFO("point " << i);
    const std::string point = "/points/" + std::to_string(i) + ".json";
    REQUIRE(fs::exists(j1 + point));
    CHECK(slurp(j2 + point) == slurp(j1 + point));
    CHECK(slurp(merged + point) == slurp(j1 + point));
  }
}
