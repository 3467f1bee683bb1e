#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "model/expert_loads.hpp"

using namespace epsim;

namespace {
ExpertLoads parse(const char* text) { return expert_loads_from_json(Json::parse(text), "loads.json"); }
MoeModel tiny_model(int layers, int experts) {
  MoeModel m;
  m.name = "tiny";
  m.num_layers = layers;
  m.num_experts = experts;
  m.top_k = 1;
  return m;
}
}  // namespace

TEST_CASE("SGLang expert-distribution files are read as is") {
  ExpertLoads l = load_expert_loads(std::string(EPSIM_SCENARIOS_DIR) + "/loads/deepseek-v3/prefill_in4096.json");
  CHECK(l.num_layers() == 61);
  CHECK(l.num_experts() == 256);
  // Dense layers 0-2 carry no routed tokens in SGLang's files.
  double dense = 0;
  for (double v : l.count[0]) dense += v;
  CHECK(dense == 0);
}

TEST_CASE("Load rejections name the file, the pointer and the layer") {
  CHECK_THROWS_WITH(parse(R"({"counts": [[1]]})"), Catch::Contains("loads.json: /logical_count") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(parse(R"({"logical_count": [[1, 2], [3]]})"), Catch::Contains("/logical_count/1") && Catch::Contains("ragged"));
  CHECK_THROWS_WITH(parse(R"({"logical_count": [[1, -2]]})"), Catch::Contains("/logical_count/0/1") && Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(parse(R"({"logical_count": [[1, "x"]]})"), Catch::Contains("/logical_count/0/1") && Catch::Contains("number"));
  CHECK_THROWS_WITH(parse(R"({"logical_count": []})"), Catch::Contains("at least one layer"));
  CHECK_THROWS_WITH(parse(R"({"logical_count": 5})"), Catch::Contains("expected an array"));
  // JSON has no NaN literal; the parser rejects it with the file name.
  CHECK_THROWS_WITH(read_json_file("/nonexistent/loads.json"), Catch::Contains("/nonexistent/loads.json"));
}

TEST_CASE("Loads must match the model, naming the first layer that disagrees") {
  ExpertLoads l = parse(R"({"logical_count": [[1, 2, 3], [4, 5, 6]]})");
  CHECK_NOTHROW(check_loads_match_model(l, tiny_model(2, 3)));
  CHECK_THROWS_WITH(check_loads_match_model(l, tiny_model(3, 3)), Catch::Contains("2 layers") && Catch::Contains("3"));
  CHECK_THROWS_WITH(check_loads_match_model(l, tiny_model(2, 4)), Catch::Contains("layer 0 has 3 experts"));
}
