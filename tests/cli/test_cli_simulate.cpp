// Whole-command tests of `epsim simulate`: outputs, overrides, rejections and their exit codes.
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kDecode = kScenarios + "/ep16-vs-tp8pp2/decode-ep16.json";
}  // namespace

TEST_CASE("epsim simulate writes the report and a trace of the chosen GPUs") {
  std::string dir = fresh_temp_dir("simulate_outputs");
  CliResult r = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/report.json --trace " + dir +
                          "/trace.json --trace-gpus 0,3");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("tpot") != std::string::npos);
  CHECK(r.out.find("critical path") != std::string::npos);
  auto report = nlohmann::json::parse(slurp(dir + "/report.json"));
  CHECK(report["schema"] == "epsim.report/1");
  CHECK(report["settings"]["ep"] == 16);
  CHECK(report["layers"].size() == 32);
  CHECK(report["gpus"].size() == 16);
  auto trace = nlohmann::json::parse(slurp(dir + "/trace.json"));
  bool gpu3 = false, gpu1 = false;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] != "X") continue;
    gpu3 = gpu3 || e["pid"] == 3;
    gpu1 = gpu1 || e["pid"] == 1;
    CHECK(e["dur"].get<double>() >= 0);
  }
  CHECK(gpu3);
  CHECK_FALSE(gpu1);
  // Identical inputs give byte-identical outputs.
  CliResult again = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/report2.json");
  REQUIRE(again.exit_code == 0);
  CHECK(slurp(dir + "/report.json") == slurp(dir + "/report2.json"));
}

TEST_CASE("epsim simulate overrides the schedule and the network") {
  CliResult r = run_epsim("simulate --scenario " + kDecode + " --schedule serial --network flow --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["settings"]["schedule"] == "serial");
  CHECK(j["settings"]["network"] == "flow");
}

TEST_CASE("epsim simulate rejections") {
  std::string dir = fresh_temp_dir("simulate_rejections");
  SECTION("unwritable report path: exit 1 before any work") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --report " + dir + "/no/such/dir/report.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no/such/dir") != std::string::npos);
  }
  SECTION("unknown schedule: usage error") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --schedule eager");
    CHECK(r.exit_code == 2);
  }
  SECTION("trace GPU outside the scenario: usage error") {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --trace-gpus 0,16");
    CHECK(r.exit_code == 2);
  }
  SECTION("a scenario whose sizes do not multiply: exit 1 naming the field") {
    auto doc = nlohmann::json::parse(slurp(kDecode));
    doc["parallel"]["ep"] = 8;
    for (const char* k : {"topology", "model", "gemm_efficiency"})
      doc[k] = kScenarios + "/ep16-vs-tp8pp2/" + doc[k].get<std::string>();
    std::ofstream(dir + "/bad.json") << doc.dump();
    CliResult r = run_epsim("simulate --scenario " + dir + "/bad.json");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("/parallel/ep") != std::string::npos);
  }
  SECTION("missing scenario file: exit 1") {
    CliResult r = run_epsim("simulate --scenario " + dir + "/missing.json");
    CHECK(r.exit_code == 1);
  }
}
