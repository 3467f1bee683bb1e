// The parameter table machinery (common/param_table): validation of a document against a table,
// defaults, and the generated listings. A small table of its own, so that every rule is visible here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "common/error.hpp"
#include "common/param_table.hpp"

using namespace epsim;
using Catch::Contains;

namespace {

std::vector<ParamSpec> table() {
  std::vector<ParamSpec> t(7);
  t[0].pointer = "/kind";
  t[0].type = ParamType::choice;
  t[0].choices = {"a", "b"};
  t[0].default_value = "a";
  t[1].pointer = "/size";
  t[1].type = ParamType::integer;
  t[1].min = 1;
  t[1].max = 8;
  t[1].default_value = 2;
  t[2].pointer = "/rate_GBps";
  t[2].type = ParamType::number;
  t[2].min = 0;
  t[2].min_exclusive = true;
  t[2].unit = "GB/s";
  t[3].pointer = "/inner";
  t[3].type = ParamType::object;
  t[4].pointer = "/inner/name";
  t[4].type = ParamType::string;
  t[4].required = true;
  t[5].pointer = "/only_b";
  t[5].type = ParamType::boolean;
  t[5].when_pointer = "/kind";
  t[5].when_values = {"b"};
  t[6].pointer = "/file";
  t[6].type = ParamType::path_or_object;
  t[6].alias = "file";
  return t;
}

std::string error_of(const Json& doc) {
  const auto t = table();
  try {
    check_document(doc, "d.json", t);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("param table: a valid document passes and defaults come from the table", "[common][param_table]") {
  const auto t = table();
  const Json doc = {{"kind", "b"}, {"size", 8}, {"rate_GBps", 0.5}, {"inner", {{"name", "x"}}}, {"only_b", true}, {"file", "f.json"}};
  CHECK(error_of(doc).empty());
  CHECK(error_of(Json::object()).empty());  // /inner absent: its required member is not asked for
  CHECK(param_or_default(doc, t, "/size") == 8);
  CHECK(param_or_default(Json::object(), t, "/size") == 2);  // the table's default
  CHECK(param_or_default(Json::object(), t, "/rate_GBps").is_null());  // no default
  CHECK_THROWS_AS(param_or_default(doc, t, "/nope"), std::logic_error);
  CHECK(find_param_alias(t, "file") == &t[6]);
  CHECK(find_param_alias(t, "") == nullptr);
}

TEST_CASE("param table: every rule rejects naming the file and the pointer", "[common][param_table][rejections]") {
  CHECK_THAT(error_of({{"colour", 1}}), Contains("d.json: /colour") && Contains("unknown key 'colour'") && Contains("kind, size"));
  CHECK_THAT(error_of({{"inner", {{"name", "x"}, {"extra", 1}}}}), Contains("d.json: /inner/extra") && Contains("known: name"));
  CHECK_THAT(error_of({{"kind", "c"}}), Contains("d.json: /kind") && Contains("one of a, b"));
  CHECK_THAT(error_of({{"kind", 3}}), Contains("d.json: /kind"));
  CHECK_THAT(error_of({{"size", 9}}), Contains("d.json: /size"));   // above max 8
  CHECK_THAT(error_of({{"size", 0}}), Contains("d.json: /size"));   // below min 1
  CHECK_THAT(error_of({{"size", 1.5}}), Contains("d.json: /size"));  // not an integer
  CHECK_THAT(error_of({{"rate_GBps", 0}}), Contains("d.json: /rate_GBps") && Contains("number > 0"));  // min excluded
  CHECK_THAT(error_of({{"inner", Json::object()}}), Contains("d.json: /inner/name") && Contains("missing"));
  CHECK_THAT(error_of({{"inner", 3}}), Contains("d.json: /inner"));
  CHECK_THAT(error_of({{"inner", {{"name", ""}}}}), Contains("/inner/name") && Contains("non-empty"));
  // Conditional: /only_b only when /kind is b (its default a counts when absent).
  CHECK_THAT(error_of({{"only_b", true}}), Contains("d.json: /only_b") && Contains("unless /kind is b"));
  CHECK_THAT(error_of({{"file", 3}}), Contains("d.json: /file") && Contains("path or an object"));
}

TEST_CASE("param table: a document inside another reports the outer pointer", "[common][param_table][rejections]") {
  const auto t = table();
  CHECK_THROWS_WITH(check_document(Json{{"size", 0}}, "spec.json", t, "/base"), Contains("spec.json: /base/size"));
}

TEST_CASE("param table: type and default texts, listings", "[common][param_table]") {
  const auto t = table();
  CHECK(param_type_text(t[0]) == "one of a, b");
  CHECK(param_type_text(t[1]) == "integer in [1, 8]");
  CHECK(param_type_text(t[2]) == "number > 0");
  CHECK(param_default_text(t[1]) == "2");
  CHECK(param_default_text(t[4]) == "required");
  CHECK(param_default_text(t[2]) == "none");
  // One line per field plus a header; one Markdown row per field plus two header lines.
  const std::string text = param_table_text(t), md = param_table_markdown(t);
  CHECK(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == t.size() + 1);
  CHECK(static_cast<std::size_t>(std::count(md.begin(), md.end(), '\n')) == t.size() + 2);
  CHECK_THAT(md, Contains("| `/only_b` | boolean |") && Contains("(only when `/kind` is b)") && Contains("[alias `file`]"));
  const Json j = param_table_json(t);
  REQUIRE(j.size() == t.size());
  CHECK(j[1]["min"] == 1);
  CHECK(j[1]["max"] == 8);
  CHECK(j[2]["unit"] == "GB/s");
  CHECK(j[5]["when"]["values"] == Json::array({"b"}));
}
