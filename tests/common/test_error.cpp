// Error-message helpers (common/error.hpp).
#include <string>

#include <catch2/catch.hpp>

#include "common/error.hpp"

TEST_CASE("echo_for_message: short text whole, long text clipped with its length") {
  using epsim::echo_for_message;
  CHECK(echo_for_message("8M") == "8M");
  CHECK(echo_for_message(std::string(80, 'x')) == std::string(80, 'x'));  // at the limit: whole
  // 81 characters, limit 80: the first 80 - 16 = 64, then "... (81 characters)".
  CHECK(echo_for_message(std::string(81, 'x')) == std::string(64, 'x') + "... (81 characters)");
  CHECK(echo_for_message(std::string(100000, '9'), 20) == "9999... (100000 characters)");
  // A limit below 16 is taken as 16: nothing of the text, only its length.
  CHECK(echo_for_message("abcdefghijklmnopqrstuvwxyz", 4) == "... (26 characters)");
}
