#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/error.hpp"
#include "common/json_budget.hpp"
#include "common/json_input.hpp"
#include "common/json_output.hpp"
#include "common/limits.hpp"

using namespace epsim;

TEST_CASE("JsonCursor errors name the file, the pointer and the expectation") {
  Json doc = Json::parse(R"({"links": [{"bandwidth_GBps": -1, "n": 2.5, "s": 3, "a/b": true}]})");
  JsonCursor root(doc, "t.json");
  JsonCursor link = root.at("links").at(0);
  CHECK_THROWS_WITH(link.at("bandwidth_GBps").as_positive(), "t.json: /links/0/bandwidth_GBps: expected a number > 0, found -1");
  CHECK_THROWS_WITH(link.at("n").as_int(0, 10), Catch::Contains("/links/0/n") && Catch::Contains("integer"));
  CHECK_THROWS_WITH(link.at("s").as_string(), Catch::Contains("expected a string"));
  CHECK_THROWS_WITH(link.at("missing"), "t.json: /links/0/missing: required field is missing");
  CHECK_THROWS_WITH(root.at("links").at(3), Catch::Contains("out of range"));
  // RFC 6901 escaping of '/' in keys.
  CHECK(link.at("a/b").pointer() == "/links/0/a~1b");
  CHECK(link.number_or("absent", 7.0) == 7.0);
}

TEST_CASE("read_json_file reports syntax errors with the file name") {
  CHECK_THROWS_WITH(read_json_file(std::string(EPSIM_TEST_DATA_DIR) + "/bad/truncated.json"),
                    Catch::Contains("truncated.json") && Catch::Contains("not valid JSON"));
}

TEST_CASE("parse_json_text: the JSON library's error tag is not shown, the pointer and the problem are") {
  // nlohmann's messages start "[json.exception.<kind>.<id>] "; the user reads what is wrong.
  CHECK_THROWS_WITH(parse_json_text(R"({"links": {"bandwidth_GBps": 1e999}})", "big.json"),
                    "big.json: /links/bandwidth_GBps: expected a finite number: number overflow parsing '1e999'");
  CHECK_THROWS_WITH(parse_json_text("{\"schema\": ", "cut.json"),
                    Catch::StartsWith("cut.json: not valid JSON (byte 12): parse error at line 1, column 12: syntax error"));
}

TEST_CASE("parse_json_text: nesting deeper than kMaxJsonDepth is refused with its line and column, before parsing") {
  // 64 levels parse; 65 are refused (the scan stops at the first bracket past the limit).
  const int limit = limits::kMaxJsonDepth;
  std::string ok = std::string(static_cast<std::size_t>(limit), '[') + std::string(static_cast<std::size_t>(limit), ']');
  CHECK(parse_json_text(ok, "d.json").is_array());
  std::string deep = "{\"a\":\n" + std::string(100000, '[') + std::string(100000, ']') + "}";
  // '{' is level 1 (line 1); the 64th '[' is level 65 at line 2, column 64.
  CHECK_THROWS_WITH(parse_json_text(deep, "d.json"),
                    Catch::Contains("d.json") && Catch::Contains("nesting deeper than 64") &&
                        Catch::Contains("line 2, column 64"));
  // Brackets inside strings are not nesting.
  std::string quoted = "[\"" + std::string(1000, '[') + "\\\"\"]";
  CHECK(parse_json_text(quoted, "q.json")[0].get<std::string>().size() == 1001);
}

TEST_CASE("parse_json_text: a key repeated in one object is refused, naming the key and its pointer") {
  CHECK_THROWS_WITH(parse_json_text(R"({"links": [{"a": 1}, {"bandwidth_GBps": 450, "bandwidth_GBps": 1}]})", "t.json"),
                    Catch::Contains("t.json: /links/1/bandwidth_GBps") && Catch::Contains("\"bandwidth_GBps\" appears twice"));
  CHECK_THROWS_WITH(parse_json_text(R"({"x": 1, "x": 1})", "t.json"), Catch::Contains("t.json: /x"));
  // The same key in different objects, or nested under itself, is fine.
  CHECK(parse_json_text(R"({"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]})", "t.json")["b"][1]["a"] == 3);
}

TEST_CASE("json_array_parsed_bytes: vector object + power-of-two storage of 16-byte values") {
  // 32 B vector object (heap block of 24 B); 3 elements -> capacity 4 -> 64 B + 8 B header -> 80 B block.
  CHECK(json_array_parsed_bytes(0) == 32);
  CHECK(json_array_parsed_bytes(3) == 32 + 80);
  // 2^20 elements: 16 MiB + 16 B.
  CHECK(json_array_parsed_bytes(1u << 20) == 32 + (16u << 20) + 16);
}

TEST_CASE("check_json_text: a document whose parsed form passes kMaxJsonParsedBytes is refused with the estimate") {
  // [{}, {}, ...]: each empty object is a 16 B value + a 64 B map object. 2^25 of them: 16 B x 2^25
  // (storage) + 64 B x 2^25 = 2.5 GiB > 2 GiB; the text is ~100 MiB and nothing is parsed.
  const std::size_t n = 1u << 25;
  std::string text;
  text.reserve(3 * n + 2);
  text += '[';
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) text.push_back(',');
    text.append("{}");
  }
  text += ']';
  CHECK_THROWS_WITH(check_json_text(text, "big.json"),
                    Catch::Contains("big.json") && Catch::Contains("at most 2048 MiB") && Catch::Contains("~2560 MiB"));
  // A small document: [1, "short", "a string longer than fifteen"] = root 16 + array 32 + storage
  // (4 x 16 + 8 -> 80) + short string 48 + long string 48 + block(28 + 1) 48.
  JsonTextShape s = check_json_text(R"([1, "short", "a string longer than fifteen"])", "s.json");
  CHECK(s.max_depth == 1);
  CHECK(s.parsed_bytes == 16 + 32 + 80 + 48 + 48 + 48);
}

TEST_CASE("json_output_text: inf or NaN in an output is an internal error naming its pointer, never a null") {
  Json ok = {{"a", 1.5}, {"b", {1, 2}}};
  CHECK(json_output_text(ok, -1, "the plan") == "{\"a\":1.5,\"b\":[1,2]}\n");
  Json bad = {{"layers", {{{"time_us", 1.0}}, {{"time_us", std::numeric_limits<double>::infinity()}}}}};
  CHECK_THROWS_AS(json_output_text(bad, 1, "the plan"), std::logic_error);
  CHECK_THROWS_WITH(json_output_text(bad, 1, "the plan"), Catch::Contains("the plan") && Catch::Contains("/layers/1/time_us"));
  CHECK_THROWS_WITH(json_output_text(Json(std::nan("")), 1, "x"), Catch::Contains("at /"));
}

TEST_CASE("round_significant and round_decimals", "[json]") {
  // 12 significant digits of 1/3: 0.333333333333 (the 13th digit, 3, rounds down).
  CHECK(epsim::round_significant(1.0 / 3.0, 12) == 0.333333333333);
  CHECK(epsim::round_significant(123456.789, 3) == 123000.0);
  CHECK(epsim::round_significant(-0.0012345, 2) == -0.0012);
  CHECK(epsim::round_significant(0.0, 5) == 0.0);
  CHECK(std::isinf(epsim::round_significant(INFINITY, 5)));
  CHECK(epsim::round_decimals(1.23456, 3) == 1.235);  // round(1234.56) / 1000
}

TEST_CASE("reject_unknown_keys names the unknown member and the allowed ones", "[json]") {
  epsim::Json doc = epsim::Json::parse(R"({"a": 1, "b": {"c": 2, "typo": 3}})");
  epsim::JsonCursor root(doc, "f.json");
  CHECK_NOTHROW(root.reject_unknown_keys({"a", "b"}));
  CHECK_THROWS_WITH(root.at("b").reject_unknown_keys({"c"}),
                    Catch::Contains("f.json") && Catch::Contains("/b/typo") && Catch::Contains("expected one of c"));
  CHECK_THROWS_WITH(root.at("a").reject_unknown_keys({"x"}), Catch::Contains("/a"));  // not an object
}
