// Bad input through the epsim command, loader by loader: malformed JSON, wrong types, missing and
// unknown fields, zero, negative, non-finite and absurd values. Each gives an error naming the file and
// the field, exit 1 for invalid input and exit 2 for usage errors (README.md "Exit codes").
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hardening_support.hpp"

using namespace hardening;
using Json = nlohmann::json;

namespace {

Json read_json(const std::string& path) { return Json::parse(slurp(path)); }

struct Case {
  std::string name;     ///< file name (and what the case is)
  std::string content;  ///< file text
  std::string field;    ///< text the message must contain besides the path: the JSON pointer or expectation
};

// Runs `command(path)` on each case file and checks exit 1 with the path and field named.
template <class Command>
void expect_input_errors(const std::string& dir, const std::vector<Case>& cases, Command command) {
  for (const Case& c : cases) {
    std::string path = write_file(dir, c.name, c.content);
    CliResult r = command(path);
    INFO(c.name << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, path));
    CHECK(has(r.err, c.field));
    CHECK_FALSE(has(r.err, "internal error"));
  }
}

}  // namespace

TEST_CASE("model config.json: every kind of bad value names the file and field, exit 1") {
  std::string dir = fresh_temp_dir("hard_model");
  Json good = read_json(kPhiModel);
  auto with = [&](const char* key, Json value) {
    Json m = good;
    m[key] = std::move(value);
    return m.dump();
  };
  auto without = [&](const char* key) {
    Json m = good;
    m.erase(key);
    return m.dump();
  };
  std::vector<Case> cases = {
      {"malformed.json", good.dump().substr(0, 40), "not valid JSON"},
      {"wrong_type.json", with("num_local_experts", "16"), "/num_local_experts: expected an integer"},
      {"wrong_type_array.json", with("hidden_size", Json::array({4096})), "/hidden_size: expected an integer"},
      {"missing.json", without("hidden_size"), "\"hidden_size\" is missing"},
      {"zero.json", with("num_experts_per_tok", 0), "/num_experts_per_tok: expected an integer in [1,"},
      {"negative.json", with("hidden_size", -4096), "/hidden_size: expected an integer in [1,"},
      {"fraction.json", with("num_hidden_layers", 32.5), "/num_hidden_layers"},
      {"not_finite.json", good.dump().replace(good.dump().find("4096"), 4, "1e999"), "expected a finite number"},
      {"nan.json", good.dump().replace(good.dump().find("4096"), 4, "NaN"), "not valid JSON"},
      {"absurd_experts.json", with("num_local_experts", 1000000), "/num_local_experts: expected an integer in [1, 65536]"},
      {"absurd_layers.json", with("num_hidden_layers", 1000000), "/num_hidden_layers: expected an integer in [1, 1024]"},
      {"huge_int.json", with("hidden_size", Json(18446744073709551615ull)), "/hidden_size"},
      {"top_k_gt_experts.json", with("num_experts_per_tok", 17), "/num_experts_per_tok"},
      {"not_object.json", "[1, 2, 3]", "expected an object"},
  };
  expect_input_errors(dir, cases, [](const std::string& model) { return plan(kTopo2, kPhiLoads, model, "--ep 16"); });

  // Unknown fields: Hugging Face configs carry dozens epsim does not use; they are ignored.
  std::string extra = write_file(dir, "extra.json", with("frobnicate", 1));
  CHECK(plan(kTopo2, kPhiLoads, extra, "--ep 16").exit_code == 0);
}

TEST_CASE("expert loads: every kind of bad value names the file and field, exit 1") {
  std::string dir = fresh_temp_dir("hard_loads");
  Json good = read_json(kPhiLoads);
  auto with_count = [&](std::size_t layer, std::size_t expert, Json value) {
    Json l = good;
    l["logical_count"][layer][expert] = std::move(value);
    return l.dump();
  };
  Json wide = Json::object();
  wide["logical_count"] = Json::array({Json(std::vector<int>(1000000, 1))});
  std::vector<Case> cases = {
      {"malformed.json", good.dump().substr(0, 100), "not valid JSON"},
      {"wrong_type.json", with_count(1, 3, "many"), "/logical_count/1/3: expected a number, found string"},
      {"wrong_type_root.json", R"({"logical_count": {"0": [1]}})", "/logical_count: expected an array"},
      {"missing.json", R"({"physical_count": [[1, 2]]})", "/logical_count: required field is missing"},
      {"negative.json", with_count(2, 5, -1), "/logical_count/2/5: expected a number >= 0"},
      {"null.json", with_count(0, 0, nullptr), "/logical_count/0/0: expected a number"},
      {"not_finite.json", R"({"logical_count": [[1, 1e999]]})", "expected a finite number"},
      {"empty.json", R"({"logical_count": []})", "/logical_count: expected at least one layer"},
      {"ragged.json", R"({"logical_count": [[1, 2], [3]]})", "/logical_count/1"},
      {"absurd_experts.json", wide.dump(), "/logical_count/0: at most 65536 experts"},
      {"absurd_count.json", with_count(3, 1, 1e300), "/logical_count/3/1: a token count <= 1e+15"},
  };
  expect_input_errors(dir, cases, [](const std::string& loads) { return plan(kTopo2, loads, kPhiModel, "--ep 16"); });

  // Zero counts are valid (dense layers are all zero in SGLang's files); unknown keys ("_source") ignored.
  Json zero = good;
  for (auto& row : zero["logical_count"])
    for (auto& v : row) v = 0;
  zero["_comment"] = "all zero";
  CHECK(plan(kTopo2, write_file(dir, "zero.json", zero.dump()), kPhiModel, "--ep 16").exit_code == 0);
}

TEST_CASE("topology JSON: every kind of bad value names the file and field, exit 1") {
  std::string dir = fresh_temp_dir("hard_topo");
  Json good = read_json(kData + "/bad/topo_ok.json");
  auto with = [&](const char* array, std::size_t i, const char* key, Json value) {
    Json t = good;
    t[array][i][key] = std::move(value);
    return t.dump();
  };
  Json no_kind = good;
  no_kind["devices"][0].erase("kind");
  Json no_devices = good;
  no_devices.erase("devices");
  Json top_unknown = good;
  top_unknown["switches"] = Json::array();
  std::vector<Case> cases = {
      {"malformed.json", good.dump().substr(0, 60), "not valid JSON"},
      {"wrong_type.json", with("links", 0, "bandwidth_GBps", "fast"), "/links/0/bandwidth_GBps: expected a number, found string"},
      {"wrong_type_id.json", with("devices", 1, "id", 7), "/devices/1/id: expected a string"},
      {"missing_kind.json", no_kind.dump(), "/devices/0/kind: required field is missing"},
      {"missing_devices.json", no_devices.dump(), "/devices: required field is missing"},
      {"unknown_field.json", with("devices", 0, "colour", "green"), "/devices/0/colour: unknown field"},
      {"unknown_link_field.json", with("links", 1, "bandwith_GBps", 450), "/links/1/bandwith_GBps: unknown field"},
      {"unknown_top_field.json", top_unknown.dump(), "/switches: unknown field"},
      {"zero.json", with("links", 0, "bandwidth_GBps", 0), "/links/0/bandwidth_GBps: expected a number > 0"},
      {"negative.json", with("links", 1, "latency_ns", -1), "/links/1/latency_ns: expected a number >= 0"},
      {"negative_rail.json", with("devices", 0, "rail", -7), "/devices/0/rail"},
      {"absurd_rail.json", with("devices", 0, "rail", 1e12), "/devices/0/rail"},
      {"not_finite.json", R"({"devices": [], "links": [], "x": 1e400})", "expected a finite number"},
      {"no_gpu.json", R"({"devices": [{"id": "s", "kind": "leaf"}], "links": []})", "/devices: expected at least one device"},
  };
  expect_input_errors(dir, cases, [](const std::string& topo) { return run_epsim("topo validate " + topo); });
  // The same files fail `epsim plan` the same way, before any planning.
  CliResult r = plan(dir + "/zero.json", kPhiLoads, kPhiModel);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "/links/0/bandwidth_GBps"));
}

TEST_CASE("topo generate: absurd, zero and negative sizes are usage errors (exit 2), no file written") {
  std::string dir = fresh_temp_dir("hard_generate");
  std::string out = dir + "/t.json";
  for (const char* nodes : {"1000000000", "0", "-5", "4097"}) {
    CliResult r = run_epsim(std::string("topo generate dgx-h100 --nodes ") + nodes + " --out " + out);
    INFO(nodes << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--nodes"));
    CHECK_FALSE(std::filesystem::exists(out));
  }
  // Beyond int: CLI11 rejects the value itself.
  CHECK(run_epsim("topo generate dgx-h100 --nodes 100000000000000000000 --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --oversubscription 0.5 --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --oversubscription nan --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --spines 0 --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --nic-GBps 0 --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --nic-GBps inf --out " + out).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --nic-GBps -50 --out " + out).exit_code == 2);
  // Several NICs per GPU: 1..16, and only scale-out link kinds for the fabric.
  for (const char* flags : {"--nics-per-gpu 0", "--nics-per-gpu 17", "--nics-per-gpu -1"}) {
    CliResult r = run_epsim(std::string("topo generate p5 --nodes 2 ") + flags + " --out " + out);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--nics-per-gpu must be in [1, 16]"));
  }
  CliResult kind = run_epsim("topo generate dgx-h100 --nodes 2 --network-kind nvlink --out " + out);
  CHECK(kind.exit_code == 2);
  CHECK(has(kind.err, "--network-kind must be infiniband or ethernet"));
  CliResult imp = run_epsim("topo import " + std::string(EPSIM_SCENARIOS_DIR) +
                            "/nccl_xml/aws_p5_48xlarge.xml --nodes 2 --gpu h100 --network-kind efa --out " + out);
  CHECK(imp.exit_code == 2);
  CHECK(has(imp.err, "--network-kind must be infiniband or ethernet"));
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("plan: zero, negative and non-finite settings are usage errors (exit 2)") {
  const char* flags[] = {
      "--ep -3",
      "--redundant -1",
      "--tokens-per-gpu -1",
      "--tokens-per-gpu nan",
      "--tokens-per-gpu inf",
      "--tokens-per-gpu 1e300",
      "--dispatch-bytes-per-element 0",
      "--dispatch-bytes-per-element inf",
      "--combine-bytes-per-element -2",
      "--combine-bytes-per-element nan",
      "--threads -1",
      "--objective fastest",
      "--routing magic",
      "--algorithm magic",
      "--baseline magic",
  };
  for (const char* f : flags) {
    CliResult r = plan(kTopo2, kPhiLoads, kPhiModel, std::string("--ep 16 ") + f);
    if (std::string(f).rfind("--ep -3", 0) == 0) r = plan(kTopo2, kPhiLoads, kPhiModel, f);
    INFO(f << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(has(r.err, "internal error"));
  }
}

TEST_CASE("an empty option value is a usage error naming the option, in every command (CLI11 read '' as 0)") {
  // cli/cli_checks.hpp refuse_empty_values: before it, `--bytes ''` ran as 0 B and `--redundant ''` as 0.
  const std::string topo = kTopo2;
  const std::string plan_args = "plan --topology " + topo + " --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 16 ";
  const std::pair<std::string, std::string> cases[] = {
      {"predict collective --topology " + topo + " --op all_reduce --bytes ''", "--bytes"},
      {"predict collective --topology " + topo + " --op '' --bytes 8", "--op"},
      {plan_args + "--redundant ''", "--redundant"},
      {plan_args + "--tokens-per-gpu ''", "--tokens-per-gpu"},
      {plan_args + "--exchange-kernel ''", "--exchange-kernel"},
      // An option with a range check says "empty" too, not the range's "Value  not in range".
      {"plan --topology " + topo + " --loads " + kPhiLoads + " --model " + kPhiModel + " --ep ''", "--ep"},
  };
  for (const auto& [args, flag] : cases) {
    CliResult r = run_epsim(args);
    INFO(args << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, flag));
    CHECK(has(r.err, "an empty value"));
    CHECK_FALSE(has(r.err, "internal error"));
  }
}

TEST_CASE("a whole-number option takes decimal digits only, in every command (CLI11 read 0x10 as 16, 1e3 as 1000)") {
  // cli/cli_checks.hpp refuse_empty_values: an INT / UINT option's text is an optional sign and digits;
  // before, `--ep 16abc` said "Value 16abc not in range" and `-j 0x10` ran 16 threads.
  const std::string plan_args = "plan --topology " + std::string(kTopo2) + " --loads " + kPhiLoads + " --model " + kPhiModel + " ";
  const std::pair<std::string, std::string> cases[] = {
      {plan_args + "--ep 16abc", "--ep: '16abc'"},        {plan_args + "--ep 1.5", "--ep: '1.5'"},
      {plan_args + "--ep 0x10", "--ep: '0x10'"},          {plan_args + "--ep 1e3", "--ep: '1e3'"},
      {plan_args + "--ep 16 -j 0x10", "--threads: '0x10'"}, {plan_args + "--ep 16 --seed 0b1", "--seed: '0b1'"},
      {"sweep spec.json -j 0x10", "--threads: '0x10'"},
  };
  for (const auto& [args, message] : cases) {
    CliResult r = run_epsim(args);
    INFO(args << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, message + ": expected a whole number in decimal digits"));
  }
  // Signs and plain digits still reach the option's own range check.
  CliResult neg = run_epsim(plan_args + "--ep -3");
  CHECK(neg.exit_code == 2);
  CHECK(has(neg.err, "not in range"));
}

TEST_CASE("plan and sweep thread counts beyond 1024 or below their floor are usage errors, as simulate and trace") {
  const std::string plan_args = "plan --topology " + std::string(kTopo2) + " --loads " + kPhiLoads + " --model " + kPhiModel + " --ep 16 ";
  for (const std::string& args : {plan_args + "-j 100000", plan_args + "-j -1", std::string("sweep spec.json -j 0"),
                                  std::string("sweep spec.json -j 5000")}) {
    CliResult r = run_epsim(args);
    INFO(args << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "--threads"));
    CHECK(has(r.err, "not in range"));
  }
}

TEST_CASE("a file of another epsim format is named by its schema, not by its first unknown field") {
  // Before: a calibration given as a topology said "/gpu: unknown field", a topology given as a scenario
  // "/devices: a known field of the document (unknown key 'devices'; ...)".
  const std::string cal = std::string(EPSIM_SCENARIOS_DIR) + "/calibrations/aws-p5-efa.json";
  const std::string topo = kTopo2;
  const std::pair<std::string, std::string> cases[] = {
      {"topo validate " + cal, R"(/schema: expected "epsim.topology/1", found "epsim.calibration/2")"},
      {"simulate --scenario " + cal, R"(/schema: "epsim.scenario/1", found "epsim.calibration/2")"},
      {"simulate --scenario " + topo, R"(/schema: "epsim.scenario/1", found "epsim.topology/1")"},
      {"predict collective --op all_reduce --bytes 8 --topology " + topo + " --calibration " + topo,
       R"(found "epsim.topology/1")"},
  };
  for (const auto& [args, words] : cases) {
    CliResult r = run_epsim(args);
    INFO(args << " -> exit " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, words));
  }
}

TEST_CASE("bad input never loses data: an existing output file is left as it was") {
  std::string dir = fresh_temp_dir("hard_keep_output");
  std::string out = write_file(dir, "plan.json", "previous plan\n");
  std::string bad_model = write_file(dir, "bad_model.json", R"({"num_hidden_layers": "32"})");
  CHECK(plan(kTopo2, kPhiLoads, bad_model, "--ep 16 --out " + out).exit_code == 1);
  CHECK(plan(kTopo2, kPhiLoads, kPhiModel, "--ep 16 --redundant 3 --out " + out).exit_code == 2);
  CHECK(plan(kTopo2, kPhiLoads, kPhiModel, "--ep 16 --tokens-per-gpu -1 --out " + out).exit_code == 2);
  CHECK(slurp(out) == "previous plan\n");

  std::string topo = write_file(dir, "topo.json", "previous topology\n");
  CHECK(run_epsim("topo generate dgx-h100 --nodes 0 --out " + topo).exit_code == 2);
  CHECK(run_epsim("topo generate dgx-h100 --nodes 2 --spines 0 --out " + topo).exit_code == 2);
  CHECK(run_epsim("topo generate tpu-v5 --nodes 2 --out " + topo).exit_code == 2);
  CHECK(slurp(topo) == "previous topology\n");
  // No temporary files are left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 3);
}
