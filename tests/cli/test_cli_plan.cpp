// Golden test of `epsim plan` on a small scenario. To regenerate the expected file on purpose:
//   EPSIM_UPDATE_GOLDEN=1 ctest -R golden
#include <cstdlib>
#include <filesystem>

#include <catch2/catch.hpp>

#include "cli_runner.hpp"

namespace {
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kData = EPSIM_TEST_DATA_DIR;
std::string plan_args(const std::string& out) {
  return "plan --topology " + kScenarios + "/topologies/dgx-h100-2node.json --loads " + kData +
         "/loads_phi16.json --model " + kScenarios + "/models/phi-3.5-moe-instruct.config.json --ep 16 --redundant 16 "
         "--tokens-per-gpu 2048 --out " + out;
}
}  // namespace

TEST_CASE("golden: epsim plan on 2 DGX nodes, 16-expert model, EP 16 + 16 redundant") {
  std::string dir = fresh_temp_dir("golden");
  CliResult r = run_epsim(plan_args(dir + "/plan.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("epsim") != std::string::npos);
  CHECK(r.out.find("total") != std::string::npos);
  std::string produced = slurp(dir + "/plan.json");
  std::string golden_path = kData + "/golden/plan_phi16_ep16.json";
  if (std::getenv("EPSIM_UPDATE_GOLDEN")) {
    std::filesystem::copy_file(dir + "/plan.json", golden_path, std::filesystem::copy_options::overwrite_existing);
  }
  // Input paths differ between machines: compare everything but the flat "inputs" object.
  auto body = [](std::string s) {
    auto begin = s.find("\"inputs\"");
    auto end = s.find('}', begin);
    return begin == std::string::npos ? s : s.erase(begin, end - begin);
  };
  REQUIRE(!slurp(golden_path).empty());
  CHECK(body(produced) == body(slurp(golden_path)));
}

TEST_CASE("identical inputs give a byte-identical plan.json") {
  std::string dir = fresh_temp_dir("determinism");
  REQUIRE(run_epsim(plan_args(dir + "/a.json")).exit_code == 0);
  REQUIRE(run_epsim(plan_args(dir + "/b.json")).exit_code == 0);
  CHECK(slurp(dir + "/a.json") == slurp(dir + "/b.json"));
}

TEST_CASE("epsim plan --json prints the summary as JSON") {
  std::string dir = fresh_temp_dir("json");
  CliResult r = run_epsim(plan_args(dir + "/p.json") + " --json");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("{", 0) == 0);
  CHECK(r.out.find("\"sum_all_to_all_us\"") != std::string::npos);
}

TEST_CASE("version and help flags exit 0") {
  CHECK(run_epsim("--version").exit_code == 0);
  CHECK(run_epsim("--version").out.find("epsim") != std::string::npos);
  CHECK(run_epsim("plan --help").exit_code == 0);
}
