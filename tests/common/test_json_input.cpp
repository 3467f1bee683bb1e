#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/json_input.hpp"

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
