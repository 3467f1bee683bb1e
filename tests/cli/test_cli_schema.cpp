// `epsim schema` and the scenario overrides of `epsim simulate` that come from the parameter table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>

#include "cli_runner.hpp"

namespace {
const std::string kScenarios = EPSIM_SCENARIOS_DIR;
const std::string kDecode = kScenarios + "/ep16-vs-tp8pp2/decode-ep16.json";
}  // namespace

TEST_CASE("epsim schema scenario lists every field, as text, Markdown and JSON") {
  CliResult json = run_epsim("schema scenario --json");
  REQUIRE(json.exit_code == 0);
  auto fields = nlohmann::json::parse(json.out);
  REQUIRE(fields.size() > 40);
  std::size_t with_pointer = 0;
  for (const auto& f : fields) {
    CHECK(f.contains("type"));
    CHECK(f.contains("default"));
    CHECK(f.contains("meaning"));
    with_pointer += f["pointer"].get<std::string>().front() == '/' ? 1 : 0;
  }
  CHECK(with_pointer == fields.size());
  CliResult text = run_epsim("schema scenario");
  REQUIRE(text.exit_code == 0);
  // A header and one line per field.
  CHECK(static_cast<std::size_t>(std::count(text.out.begin(), text.out.end(), '\n')) == fields.size() + 1);
  for (const char* p : {"/parallel/ep", "/phase/micro_batches", "/topology/nic_GBps", "/training/grad_reduce"})
    CHECK_THAT(text.out, Catch::Contains(p));
  CliResult md = run_epsim("schema scenario --markdown");
  REQUIRE(md.exit_code == 0);
  CHECK_THAT(md.out, Catch::StartsWith("| field | type | unit | default | meaning |"));
  CliResult axes = run_epsim("schema sweep-axes --json");
  REQUIRE(axes.exit_code == 0);
  CHECK_THAT(axes.out, Catch::Contains("\"layout\"") && Catch::Contains("\"nic_GBps\""));
  CHECK(run_epsim("schema").exit_code == 2);
  CHECK(run_epsim("schema plan").exit_code == 2);
  CHECK(run_epsim("schema scenario --json --markdown").exit_code == 2);
}

TEST_CASE("every shipped sweep spec's base runs unchanged with epsim simulate") {
  for (const char* spec : {"deepseek-v3-ep16-256.json", "deepseek-v3-ep16-256-plan.json"}) {
    std::ifstream in(kScenarios + "/sweeps/" + spec);
    auto doc = nlohmann::json::parse(in);
    // The base's paths are relative to the spec's folder: write it beside the spec's own files.
    std::string dir = fresh_temp_dir(std::string("sweep_base_") + spec);
    auto base = doc["base"];
    for (const char* key : {"model", "loads", "gemm_efficiency"})
      base[key] = kScenarios + "/sweeps/" + base[key].get<std::string>();
    std::ofstream(dir + "/base.json") << base.dump(1);
    CliResult r = run_epsim("simulate --scenario " + dir + "/base.json --json");
    INFO(spec << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("simulate overrides come from the parameter table") {
  auto iteration = [](const std::string& args) {
    CliResult r = run_epsim("simulate --scenario " + kDecode + " --json " + args);
    INFO(args << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  };
  // --schedule (the alias of /schedule) and --set /schedule=... are the same override.
  auto a = iteration("--schedule serial");
  auto b = iteration("--set /schedule=serial");
  CHECK(a["iteration_ps"] == b["iteration_ps"]);
  CHECK(a["settings"]["schedule"] == "serial");
  // A field without a flag: /phase/micro_batches through --set (4 micro-batches of the 16 sequences).
  auto c = iteration("--set /phase/micro_batches=4");
  CHECK(c["settings"]["micro_batches"] == 4);
  // Rejections are usage errors naming the flag or pointer.
  CliResult bad = run_epsim("simulate --scenario " + kDecode + " --set /phase/nope=1");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("/phase/nope") && Catch::Contains("not a scenario field"));
  CliResult chunks = run_epsim("simulate --scenario " + kDecode + " --chunks 0");
  CHECK(chunks.exit_code == 2);
  CHECK_THAT(chunks.err, Catch::Contains("--chunks") && Catch::Contains("[1, 64]"));
  CliResult type = run_epsim("simulate --scenario " + kDecode + " --chunks four");
  CHECK(type.exit_code == 2);
  CHECK_THAT(type.err, Catch::Contains("--chunks 'four': expected an integer"));
  // /topology is a file here: a generated cluster's member cannot be set.
  CliResult nic = run_epsim("simulate --scenario " + kDecode + " --nic-GBps 25");
  CHECK(nic.exit_code == 2);
  CHECK_THAT(nic.err, Catch::Contains("/topology is not an object"));
  // A rule between fields broken by an override: usage error that names the override.
  CliResult odd = run_epsim("simulate --scenario " + kDecode + " --schedule two-batch --set /phase/micro_batches=3");
  CHECK(odd.exit_code == 2);
  CHECK_THAT(odd.err, Catch::Contains("even number of micro-batches") && Catch::Contains("--schedule two-batch"));
  CliResult eq = run_epsim("simulate --scenario " + kDecode + " --set chunks");
  CHECK(eq.exit_code == 2);
  // An object field given as a JSON object that does not parse is read by epsim's JSON reader (syntax
  // error's byte, the member whose number no double holds, a repeated key), not taken for a string
  // ("expected an object, found string" before).
  for (const auto& [value, expect] : std::vector<std::pair<std::string, std::string>>{
           {R"('/placement={"redundant":1e999}')", "/redundant: expected a finite number"},
           {R"('/placement={"redundant":32')", "not valid JSON (byte 16)"},
           {R"('/placement={"redundant":32, "redundant":64}')", "key \"redundant\" appears twice"}}) {
    CliResult obj = run_epsim("simulate --scenario " + kDecode + " --set " + value);
    INFO(value << " -> " << obj.err);
    CHECK(obj.exit_code == 2);
    CHECK_THAT(obj.err, Catch::Contains("--set /placement=") && Catch::Contains(expect));
  }
  // A list field through --set as a JSON array: one KV length per DP replica (dp 16); all at the scenario's own
  // context (2048) is the scenario itself, one replica at 8192 makes the step longer (it gates every MoE layer).
  const std::string same = "'/replica_lengths/lengths=[2048,2048,2048,2048,2048,2048,2048,2048,2048,2048,2048,2048,2048,"
                           "2048,2048,2048]'";
  auto plain = iteration("");
  auto equal = iteration("--set " + same);
  CHECK(equal["iteration_ps"] == plain["iteration_ps"]);
  std::string one_long = same;
  one_long.replace(one_long.find("2048"), 4, "8192");
  auto longer = iteration("--set " + one_long);
  CHECK(longer["iteration_ps"].get<long long>() > plain["iteration_ps"].get<long long>());
  CliResult list = run_epsim("simulate --scenario " + kDecode + " --set /replica_lengths/lengths=2048");
  CHECK(list.exit_code == 2);
  CHECK_THAT(list.err, Catch::Contains("expected a JSON array of numbers"));
}
