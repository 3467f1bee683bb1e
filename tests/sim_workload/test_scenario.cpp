// Scenario parsing and validation: every rejection names the file and the field.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "sim/scenario/scenario.hpp"

using namespace epsim;

namespace {

Json valid_doc() {
  return Json::parse(R"({
    "schema": "epsim.scenario/1",
    "topology": "topo.json", "model": "model.json", "gemm_efficiency": "g.csv",
    "parallel": {"dp": 16, "tp": 1, "pp": 1, "ep": 16},
    "phase": {"kind": "prefill", "tokens_per_gpu": 4096, "micro_batches": 2},
    "schedule": "two-batch", "network": "flow", "routing": "pxn", "gpu": "h200", "precision": "bf16",
    "placement": {"algorithm": "greedy", "redundant": 16}
  })");
}

std::string error_of(const Json& doc) {
  try {
    scenario_from_json(doc, "/data/s.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const std::string kScenarios = EPSIM_SCENARIOS_DIR;

}  // namespace

TEST_CASE("a valid scenario parses with paths relative to its folder", "[scenario]") {
  Scenario s = scenario_from_json(valid_doc(), "/data/s.json");
  CHECK(s.topology == std::filesystem::path("/data/topo.json"));
  CHECK(s.parallel.ep == 16);
  CHECK(s.phase.sequence_length == 4096);
  CHECK(s.phase.batch == 1);
  CHECK(s.phase.tokens_per_micro_batch() == 2048);  // 4096 tokens / 2 micro-batches
  CHECK(s.schedule == ScheduleKind::two_batch);
  CHECK(s.network == "flow");
  CHECK(s.routing == RoutingPolicy::pxn);
  CHECK(s.precision == Precision::bf16);
  CHECK(s.dispatch_bytes_per_element == 2.0);  // defaults to the precision's bytes
  CHECK(s.redundant == 16);
}

TEST_CASE("scenario rejections name the field", "[scenario]") {
  Json d = valid_doc();
  d["schema"] = "epsim.scenario/0";
  CHECK_THAT(error_of(d), Catch::Contains("/schema"));
  d = valid_doc();
  d["parallel"]["ep"] = 8;  // ep x expert_tp must be dp x tp = 16
  CHECK_THAT(error_of(d), Catch::Contains("/parallel/ep"));
  d = valid_doc();
  d["phase"]["micro_batches"] = 3;  // two-batch needs an even count
  CHECK_THAT(error_of(d), Catch::Contains("/phase/micro_batches"));
  d = valid_doc();
  d["network"] = "packet";
  CHECK_THAT(error_of(d), Catch::Contains("/network"));
  d = valid_doc();
  d["bogus"] = 1;
  CHECK_THAT(error_of(d), Catch::Contains("/bogus"));
  d = valid_doc();
  d["phase"]["kind"] = "decode";  // decode needs batch_per_gpu, context_length, not tokens_per_gpu
  CHECK_THAT(error_of(d), Catch::Contains("/phase/tokens_per_gpu"));
  d = valid_doc();
  d["placement"]["algorithm"] = "magic";
  CHECK_THAT(error_of(d), Catch::Contains("/placement/algorithm"));
  d = valid_doc();
  d.erase("model");
  CHECK_THAT(error_of(d), Catch::Contains("model"));
  d = valid_doc();
  d["parallel"] = {{"dp", 2}, {"tp", 8}, {"ep", 2}, {"expert_tp", 8}};  // expert TP only with ep 1
  CHECK_THAT(error_of(d), Catch::Contains("/parallel/expert_tp"));
}

TEST_CASE("prepare_scenario checks the layout against the topology, model and memory", "[scenario]") {
  Scenario s;
  s.file = "s.json";
  s.topology = kScenarios + "/topologies/dgx-h100-2node.json";
  s.model = kScenarios + "/models/deepseek-v3.config.json";
  s.gemm_efficiency = kScenarios + "/measurements/deepgemm_grouped_fp8_h800.csv";
  s.phase.sequence_length = 1024;
  s.phase.batch = 1;
  s.placement_algorithm = "contiguous";

  SECTION("a file the scenario names is missing: the error names the file, the scenario and the key") {
    s.parallel = ParallelConfig{16, 1, 1, 16, 1};
    s.loads = "/nonexistent/loads.json";
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/nonexistent/loads.json: cannot open") &&
                                               Catch::Contains("the file s.json names at /loads"));
    s.loads.clear();
    s.model = "/nonexistent/model.json";
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("the file s.json names at /model"));
    s.model = kScenarios + "/models/deepseek-v3.config.json";
    s.calibration = "/nonexistent/c.json";
    CHECK_THROWS_AS(prepare_scenario(s), InputError);
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("the file s.json names at /calibration"));
  }
  SECTION("MoE layers whose loads are all 0 are routed uniformly, with a warning naming how many") {
    // 61 layers x 256 experts: MoE layers 3-60 at 1 token each but layers 10 and 20 at 0.
    std::string text = "{\"logical_count\": [";
    for (int layer = 0; layer < 61; ++layer) {
      text += layer ? ",[" : "[";
      const char* count = layer < 3 || layer == 10 || layer == 20 ? "0" : "1";
      for (int e = 0; e < 256; ++e) {
        if (e) text += ',';
        text += count;
      }
      text += "]";
    }
    const std::string path = (std::filesystem::temp_directory_path() / "epsim_test_zero_layers.json").string();
    std::ofstream(path) << text << "]}";
    s.parallel = ParallelConfig{16, 1, 1, 16, 1};
    s.loads = path;
    const ScenarioInputs in = prepare_scenario(s);
    REQUIRE(in.warnings.size() == 1);
    CHECK(in.warnings[0] == "2 of the 58 MoE layers in " + path + " have no load (every expert 0): routed uniformly");
  }
  SECTION("more GPUs than the topology has") {
    s.parallel = ParallelConfig{32, 1, 1, 32, 1};
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/parallel") && Catch::Contains("16 GPUs"));
  }
  SECTION("slots not divisible by ep") {
    s.parallel = ParallelConfig{12, 1, 1, 12, 1};  // 256 % 12 = 4: redundant 8 would do
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/placement/redundant") && Catch::Contains("redundant 8"));
  }
  SECTION("tp not dividing the heads") {
    s.parallel = ParallelConfig{1, 3, 1, 1, 3};  // 128 heads % 3 != 0
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/parallel/tp"));
  }
  SECTION("all of DeepSeek-V3 on one GPU does not fit") {
    s.parallel = ParallelConfig{1, 1, 1, 1, 1};  // 256 experts x 58 layers x 44M x 1 B = 650 GB > 80 GB
    CHECK_THROWS_WITH(prepare_scenario(s), Catch::Contains("/parallel") && Catch::Contains("GB"));
  }
  SECTION("a valid layout plans its placement") {
    s.parallel = ParallelConfig{16, 1, 1, 16, 1};
    ScenarioInputs in = prepare_scenario(s);
    CHECK(in.placement[3].num_gpus == 16);
    CHECK(in.placement[3].slots_per_gpu == 16);  // 256 experts / 16 ranks
    CHECK(in.placement[0].slot_expert.empty());   // dense layer
  }
}

TEST_CASE("serving, placement and generated-cluster fields are read from the table with their defaults", "[scenario]") {
  Scenario s = scenario_from_json(valid_doc(), "/data/s.json");
  // Table defaults (sim/scenario/scenario_params.cpp).
  CHECK_FALSE(s.serving.kernel_tables_off);
  CHECK(s.serving.attention_backend == "fa3");
  CHECK(s.serving.mtp_draft_tokens == 0);
  CHECK(s.serving.decode_step_overhead_us == 0);
  CHECK(s.objective == ObjectiveKind::link);
  CHECK(s.seed == 1);
  CHECK_FALSE(s.cluster);
  Json d = valid_doc();
  d["phase"] = {{"kind", "decode"}, {"batch_per_gpu", 64}, {"context_length", 2000}, {"micro_batches", 2}};
  d["compute"] = "roofline";
  d["kernel_tables"] = "tables";
  d["mtp"] = {{"draft_tokens", 1}, {"acceptance_rate", 0.8}};
  d["decode_step_overhead_us"] = 30;
  d["placement"]["objective"] = "balanced";
  d["placement"]["seed"] = 7;
  d["topology"] = {{"fabric", "fat-tree"}, {"nic_GBps", 25}};
  d.erase("gpu");
  s = scenario_from_json(d, "/data/s.json");
  CHECK(s.serving.kernel_tables_off);
  CHECK(s.serving.kernel_tables == std::filesystem::path("/data/tables"));
  CHECK(s.serving.mtp_draft_tokens == 1);
  CHECK(s.serving.mtp_acceptance_rate == 0.8);
  CHECK(s.serving.decode_step_overhead_us == 30);
  CHECK(s.objective == ObjectiveKind::balanced);
  CHECK(s.seed == 7);
  REQUIRE(s.cluster);
  CHECK(s.cluster->fabric == FabricKind::fat_tree);
  CHECK(s.cluster->nic_GBps == 25);
  CHECK(s.cluster->nodes == 2);  // just enough for dp 16 x tp 1 x pp 1 on 8-GPU nodes
  CHECK(s.topology.empty());
  CHECK(s.gpu == "h100");  // the generated cluster's gpu_model
  // Conditional fields: MTP and the decode step overhead only in decode; kernel tables not in training.
  d = valid_doc();
  d["mtp"] = {{"draft_tokens", 1}};
  CHECK_THAT(error_of(d), Catch::Contains("/mtp") && Catch::Contains("unless /phase/kind is decode"));
  d = valid_doc();
  d["mtp"] = Json::object();
  d["phase"] = {{"kind", "decode"}, {"batch_per_gpu", 64}, {"context_length", 2000}, {"micro_batches", 2}};
  d["mtp"]["acceptance_rate"] = 1.5;
  CHECK_THAT(error_of(d), Catch::Contains("/mtp/acceptance_rate"));
  d = valid_doc();
  d["topology"] = {{"fabric", "rail_optimized"}};
  CHECK_THAT(error_of(d), Catch::Contains("/topology/fabric") && Catch::Contains("rail-optimized, fat-tree"));
}

TEST_CASE("/nccl_buffsize_bytes sets the collectives' pipeline step, NCCL_BUFFSIZE / 8", "[scenario]") {
  // Default: NCCL's 4 MiB (kNcclDefaultBuffsizeBytes).
  CHECK(scenario_from_json(valid_doc(), "/data/s.json").nccl_buffsize_bytes == 4194304);
  Json d = valid_doc();
  d["nccl_buffsize_bytes"] = 8388608;  // the AWS p5 runs' NCCL_BUFFSIZE (docs/validation.md)
  CHECK(scenario_from_json(d, "/data/s.json").nccl_buffsize_bytes == 8388608);
  // Refused: below 64 KiB, above 1 GiB, a fraction, a string, naming the field.
  for (const Json& bad : {Json(1000), Json(2147483648.0), Json(65536.5), Json("8M")}) {
    d["nccl_buffsize_bytes"] = bad;
    CHECK_THAT(error_of(d), Catch::Contains("/nccl_buffsize_bytes") && Catch::Contains("/data/s.json"));
  }
  // prepare_scenario: pipeline_step_bytes = 8 MiB / NCCL_STEPS (8) = 1 MiB, which the TP all-reduce of
  // a tp 8 prefill then pipelines in (comm/collectives.hpp).
  Scenario s = load_scenario(kScenarios + "/ep16-vs-tp8pp2/prefill-tp8pp2.json");
  CHECK(prepare_scenario(s).collective_params.pipeline_step_bytes == 524288);  // 4 MiB / 8
  s.nccl_buffsize_bytes = 8388608;
  CHECK(prepare_scenario(s).collective_params.pipeline_step_bytes == 1048576);
}
