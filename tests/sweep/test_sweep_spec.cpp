// Spec parsing (epsim.sweep/2) and every rejection: each names the file and the JSON pointer.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "sweep/sweep_spec.hpp"
#include "sweep_test_util.hpp"

using namespace epsim;
using epsim::test::parse_spec;
using epsim::test::phi_base;
using epsim::test::phi_spec_json;

namespace {

// The error message of parsing `doc` (empty when it parses).
std::string error_of(const Json& doc) {
  try {
    parse_spec(doc);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

Json with_axes(const Json& axes) { return phi_spec_json(axes); }

}  // namespace

TEST_CASE("a spec parses into axes in scenario-table order with resolved paths", "[sweep][spec]") {
  // JSON key order differs from the table order of the axes' fields (/phase/kind, /parallel/ep,
  // /placement/algorithm).
  SweepSpec s = parse_spec(with_axes({{"placement", {"contiguous", "greedy"}},
                                      {"ep", {8, 16}},
                                      {"phase", {{{"value", "prefill"}, {"set", {{"/phase/tokens_per_gpu", 4096}}}},
                                                 epsim::test::decode_value(128, 2000)}}}));
  REQUIRE(s.axes.size() == 3);
  CHECK(s.axes[0].name == "phase");
  CHECK(s.axes[1].name == "ep");
  CHECK(s.axes[2].name == "placement");
  CHECK(s.num_points() == 2 * 2 * 2);
  CHECK(s.name == "t");
  CHECK(s.evaluator == "plan");
  CHECK(s.axes[0].values[0].label == "prefill");
  CHECK(s.axes[0].values[0].set["/phase/tokens_per_gpu"] == 4096);
  CHECK(s.axes[1].values[1].label == "16");
  // Base paths resolved against the spec folder (scenarios/) and normalized.
  CHECK(s.base["model"].get<std::string>() == std::string(EPSIM_SCENARIOS_DIR) + "/models/phi-3.5-moe-instruct.config.json");
}

TEST_CASE("a spec without axes members other than known ones and an empty axes object is one point", "[sweep][spec]") {
  SweepSpec s = parse_spec(with_axes(Json::object()));
  CHECK(s.axes.empty());
  CHECK(s.num_points() == 1);
}

TEST_CASE("the shipped DeepSeek-V3 spec has at least 60 points", "[sweep][spec]") {
  SweepSpec s = load_sweep_spec(std::string(EPSIM_SCENARIOS_DIR) + "/sweeps/deepseek-v3-ep16-256.json");
  CHECK(s.num_points() >= 60);
  CHECK(s.name == "deepseek-v3-ep16-256");
  CHECK(s.evaluator == "simulate");
  SweepSpec plan = load_sweep_spec(std::string(EPSIM_SCENARIOS_DIR) + "/sweeps/deepseek-v3-ep16-256-plan.json");
  CHECK(plan.num_points() == 60);  // 2 phases x 2 oversubscriptions x 5 EPs x 3 placements
  CHECK(plan.evaluator == "plan");
}

TEST_CASE("spec rejections name the file and the JSON pointer", "[sweep][spec][rejections]") {
  using Catch::Contains;
  CHECK_THAT(error_of(Json::array()), Contains("spec.json") && Contains("object"));
  Json no_schema = with_axes(Json::object());
  no_schema.erase("schema");
  CHECK_THAT(error_of(no_schema), Contains("epsim.sweep/2"));
  Json bad_schema = with_axes(Json::object());
  bad_schema["schema"] = "epsim.sweep/3";
  CHECK_THAT(error_of(bad_schema), Contains("spec.json: /schema:"));
  // The old format (its base was not a simulate scenario) is named as such.
  Json old_schema = with_axes(Json::object());
  old_schema["schema"] = "epsim.sweep/1";
  CHECK_THAT(error_of(old_schema), Contains("spec.json: /schema:") && Contains("docs/sweep.md"));
  Json unknown = with_axes(Json::object());
  unknown["axis"] = 1;
  CHECK_THAT(error_of(unknown), Contains("spec.json: /axis:"));
  Json bad_eval = with_axes(Json::object());
  bad_eval["evaluator"] = "magic";
  CHECK_THAT(error_of(bad_eval), Contains("spec.json: /evaluator:"));

  Json no_base = with_axes(Json::object());
  no_base.erase("base");
  CHECK_THAT(error_of(no_base), Contains("\"base\""));
  Json num_base = with_axes(Json::object());
  num_base["base"] = 3;
  CHECK_THAT(error_of(num_base), Contains("spec.json: /base:"));
  Json missing_base_file = with_axes(Json::object());
  missing_base_file["base"] = "no/such/scenario.json";
  CHECK_THAT(error_of(missing_base_file), Contains("spec.json: /base:") && Contains("existing file"));
  Json base_schema = with_axes(Json::object());
  base_schema["base"]["schema"] = "epsim.scenario/9";
  CHECK_THAT(error_of(base_schema), Contains("/base/schema"));
  Json base_model = with_axes(Json::object());
  base_model["base"]["model"] = "models/none.json";
  CHECK_THAT(error_of(base_model), Contains("spec.json: /base/model:") && Contains("existing file"));
  // The base is a whole scenario: unknown fields, wrong types and broken rules are named in it.
  Json base_unknown = with_axes(Json::object());
  base_unknown["base"]["tokens_per_gpu"] = 4096;  // the old sweep-only field: /phase/tokens_per_gpu now
  CHECK_THAT(error_of(base_unknown), Contains("spec.json: /base/tokens_per_gpu:") && Contains("unknown key"));
  Json base_rule = with_axes(Json::object());
  base_rule["base"]["parallel"]["ep"] = 4;  // dp 8
  CHECK_THAT(error_of(base_rule), Contains("spec.json: /base/parallel/ep:") && Contains("dp x tp"));

  Json no_axes = with_axes(Json::object());
  no_axes.erase("axes");
  CHECK_THAT(error_of(no_axes), Contains("\"axes\""));
  CHECK_THAT(error_of(with_axes(Json::array())), Contains("spec.json: /axes:"));
  CHECK_THAT(error_of(with_axes({{"tp", {1}}})), Contains("spec.json: /axes/tp:") && Contains("named axis"));
  CHECK_THAT(error_of(with_axes({{"/parallel/xp", {1}}})), Contains("spec.json: /axes/~1parallel~1xp:"));
  CHECK_THAT(error_of(with_axes({{"ep", {8}}, {"/parallel/ep", {8}}})), Contains("one axis per scenario field") ||
                                                                        Contains("spec.json: /axes:"));
  CHECK_THAT(error_of(with_axes({{"ep", Json::array()}})), Contains("spec.json: /axes/ep:") && Contains("non-empty"));
  CHECK_THAT(error_of(with_axes({{"ep", 8}})), Contains("spec.json: /axes/ep:"));
  CHECK_THAT(error_of(with_axes({{"ep", {8, 8}}})), Contains("spec.json: /axes/ep/1:") && Contains("not listed before"));
}

TEST_CASE("axis values of the wrong kind are rejected at their pointer", "[sweep][spec][rejections]") {
  using Catch::Contains;
  CHECK_THAT(error_of(with_axes({{"ep", {"8"}}})), Contains("/axes/ep/0:"));
  CHECK_THAT(error_of(with_axes({{"ep", {0}}})), Contains("/axes/ep/0:"));
  CHECK_THAT(error_of(with_axes({{"ep", {8, 1.5}}})), Contains("/axes/ep/1:"));
  CHECK_THAT(error_of(with_axes({{"nodes", {-1}}})), Contains("/axes/nodes/0:"));
  CHECK_THAT(error_of(with_axes({{"redundant", {0, -1}}})), Contains("/axes/redundant/1:"));
  CHECK_THAT(error_of(with_axes({{"batch_per_gpu", {0}}})), Contains("/axes/batch_per_gpu/0:"));
  CHECK_THAT(error_of(with_axes({{"tokens_per_gpu", {-1}}})), Contains("/axes/tokens_per_gpu/0:"));
  // Token counts: at least one token (common/token_count.hpp), fractions above one allowed.
  CHECK_THAT(error_of(with_axes({{"tokens_per_gpu", {1e-9}}})), Contains("/axes/tokens_per_gpu/0:") && Contains("[1, "));
  CHECK_THAT(error_of(with_axes({{"tokens_per_gpu", {2, 0.5}}})), Contains("/axes/tokens_per_gpu/1:"));
  CHECK_THAT(error_of(with_axes({{"batch_per_gpu", {0.5}}})), Contains("/axes/batch_per_gpu/0:"));
  CHECK_THAT(error_of(with_axes({{"nic_GBps", {0}}})), Contains("/axes/nic_GBps/0:"));
  CHECK_THAT(error_of(with_axes({{"oversubscription", {0.5}}})), Contains("/axes/oversubscription/0:") && Contains(">= 1"));
  CHECK_THAT(error_of(with_axes({{"phase", {"serve"}}})), Contains("/axes/phase/0:") && Contains("prefill"));
  // decode without its fields: the base's prefill fields would remain.
  CHECK_THAT(error_of(with_axes({{"phase", {"decode"}}})), Contains("/base/phase/tokens_per_gpu") && Contains("/axes/phase/0"));
  CHECK_THAT(error_of(with_axes({{"fabric", {"torus"}}})), Contains("/axes/fabric/0:") && Contains("fat-tree"));
  CHECK_THAT(error_of(with_axes({{"layout", {"tp8"}}})), Contains("/axes/layout/0:") && Contains("tp<T>xpp<P>"));
  CHECK_THAT(error_of(with_axes({{"placement", {"random"}}})), Contains("/axes/placement/0:") && Contains("greedy"));
  CHECK_THAT(error_of(with_axes({{"schedule", {""}}})), Contains("/axes/schedule/0:"));
  CHECK_THAT(error_of(with_axes({{"model", {"models/none.json"}}})), Contains("/axes/model/0:") && Contains("existing file"));
}

TEST_CASE("object axis values: value + set of JSON pointers", "[sweep][spec][rejections]") {
  using Catch::Contains;
  CHECK_THAT(error_of(with_axes({{"phase", {{{"set", Json::object()}}}}})), Contains("/axes/phase/0/value:"));
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "decode"}, {"set", 3}}}}})), Contains("/axes/phase/0/set:"));
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "decode"}, {"set", {{"loads", "x"}}}}}}})),
             Contains("/axes/phase/0/set/loads:") && Contains("JSON pointer"));
  // A set pointer to a field that does not exist, or a value the field rejects.
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "prefill"}, {"set", {{"/phase/tokens", 5}}}}}}})),
             Contains("/axes/phase/0/set/~1phase~1tokens:") && Contains("unknown field"));
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "prefill"}, {"set", {{"/chunks", 0}}}}}}})),
             Contains("/axes/phase/0/set/~1chunks:"));
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "decode"}, {"set", {{"/loads", "none.json"}}}}}}})),
             Contains("/axes/phase/0/set/~1loads:") && Contains("existing file"));
  CHECK_THAT(error_of(with_axes({{"phase", {{{"value", "decode"}, {"extra", 1}}}}})), Contains("/axes/phase/0/extra:"));
}

TEST_CASE("a grid over the size limit is rejected", "[sweep][spec][rejections]") {
  Json many = Json::array();
  for (int i = 1; i <= 101; ++i) many.push_back(i);
  CHECK_THAT(error_of(with_axes({{"ep", many}, {"nodes", many}, {"micro_batches", many}})),
             Catch::Contains("spec.json: /axes:") && Catch::Contains("at most"));
}

TEST_CASE("json_label renders CSV cells", "[sweep][spec]") {
  CHECK(json_label(Json(16)) == "16");
  CHECK(json_label(Json(2.5)) == "2.5");
  CHECK(json_label(Json(4096.0)) == "4096");
  CHECK(json_label(Json("greedy")) == "greedy");
  CHECK(json_label(Json(nullptr)).empty());
  CHECK(json_label(Json(true)) == "true");
}
