// `epsim sweep` and `epsim merge` end to end: exit codes, outputs, shards merged by the command.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "../cli/cli_runner.hpp"
#include "common/json_input.hpp"
#include "sweep_test_util.hpp"

namespace fs = std::filesystem;

namespace {

// A spec file with absolute paths: Phi-3.5-MoE, EP 3 (skipped), 8, 16 x greedy, epsim = 6 points.
std::string write_spec(const fs::path& dir, const epsim::Json& axes) {
  fs::create_directories(dir);
  epsim::Json spec = epsim::test::phi_spec_json(axes);
  spec["base"]["model"] = std::string(EPSIM_SCENARIOS_DIR) + "/models/phi-3.5-moe-instruct.config.json";
  spec["base"]["gemm_efficiency"] = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepgemm_grouped_fp8_h800.csv";
  std::string path = (dir / "spec.json").string();
  std::ofstream(path) << spec.dump(1);
  return path;
}

}  // namespace

TEST_CASE("epsim sweep writes the CSV, plots and points, merge of shards gives the same CSV", "[sweep][cli]") {
  fs::path dir = epsim::test::fresh_dir("cli");
  std::string spec = write_spec(dir, {{"ep", {3, 8, 16}}, {"placement", {"greedy", "epsim"}}});
  std::string all = (dir / "all").string();
  CliResult r = run_epsim("sweep " + spec + " -j 2 --out " + all);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("6 points") && Catch::Contains("2 skipped"));
  std::string csv = slurp(all + "/sweep.csv");
  CHECK_THAT(csv, Catch::StartsWith("index,ep,placement,status,skipped_reason,alltoall_us"));
  CHECK(fs::exists(all + "/points/5.json"));
  CHECK(fs::exists(all + "/plots/alltoall_vs_ep.gp"));
  // Plain progress lines when stderr is not a terminal.
  CHECK_THAT(r.err, Catch::Contains("sweep: 6/6 points"));

  std::string a = (dir / "a").string(), b = (dir / "b").string(), m = (dir / "m").string();
  REQUIRE(run_epsim("sweep " + spec + " --no-plots --shard 0/2 --out " + a).exit_code == 0);
  REQUIRE(run_epsim("sweep " + spec + " --no-plots --shard 1/2 --out " + b).exit_code == 0);
  CHECK(fs::exists(a + "/shard-0-of-2.csv"));
  CliResult mr = run_epsim("merge " + m + " " + a + " " + b + " --no-plots");
  INFO(mr.err);
  REQUIRE(mr.exit_code == 0);
  CHECK(slurp(m + "/sweep.csv") == csv);
  // Rerun: nothing left to do.
  CliResult again = run_epsim("sweep " + spec + " --out " + all);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("0 run now, 6 already done"));
}

TEST_CASE("epsim sweep exit codes", "[sweep][cli][rejections]") {
  fs::path dir = epsim::test::fresh_dir("cli_bad");
  std::string bad = write_spec(dir, {{"ep", {0}}});
  CliResult r = run_epsim("sweep " + bad + " --out " + (dir / "o").string());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("spec.json: /axes/ep/0:"));
  std::string good = write_spec(dir / "good", {{"ep", {8}}});
  CHECK(run_epsim("sweep " + good + " --shard 2/2").exit_code == 2);
  // A base that is not a whole scenario (no GEMM efficiency table): exit 1, named with the spec file
  // and the base's pointer, before the results folder is created (nothing left behind).
  epsim::Json no_gemm = epsim::test::phi_spec_json({{"ep", {8}}});
  no_gemm["base"].erase("gemm_efficiency");
  no_gemm["base"]["model"] = std::string(EPSIM_SCENARIOS_DIR) + "/models/phi-3.5-moe-instruct.config.json";
  fs::create_directories(dir / "ng");
  std::ofstream((dir / "ng" / "spec.json").string()) << no_gemm.dump(1);
  CliResult sim = run_epsim("sweep " + (dir / "ng" / "spec.json").string() + " --evaluator simulate --out " + (dir / "s").string());
  CHECK(sim.exit_code == 1);
  CHECK_THAT(sim.err, Catch::Contains("spec.json: /base/gemm_efficiency:"));
  CHECK_FALSE(fs::exists(dir / "s"));
  CHECK(run_epsim("sweep " + good + " --evaluator magic --out " + (dir / "m").string()).exit_code == 2);
  CHECK(run_epsim("sweep " + good + " -j 0 --out " + (dir / "j").string()).exit_code == 2);
  CHECK(run_epsim("merge " + (dir / "none").string()).exit_code == 1);
}
