// read_input_file: whole files up to a cap, for regular files and for pipes/devices without a size.
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/input_file.hpp"

using epsim::InputError;
using epsim::read_input_file;

namespace {
std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("epsim_test_input_file_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}
}  // namespace

TEST_CASE("read_input_file returns the bytes of a file within the cap", "[common][input_file]") {
  auto p = temp_file("small", std::string("ab\0cd", 5));
  CHECK(read_input_file(p, 5) == std::string("ab\0cd", 5));  // exactly the cap is allowed
  CHECK(read_input_file(p) == std::string("ab\0cd", 5));
}

TEST_CASE("read_input_file refuses what is over the cap, a device without end, a directory, a missing file",
          "[common][input_file][rejections]") {
  using Catch::Contains;
  auto p = temp_file("large", std::string(2 << 20, 'x'));  // 2 MiB regular file, cap 1 MiB
  CHECK_THROWS_WITH(read_input_file(p, 1 << 20), Contains(p.string()) && Contains("at most 1 MiB") && Contains("found 2 MiB"));
  // /dev/zero has no size: it is read in blocks and refused once past the cap (not read forever).
  if (std::filesystem::exists("/dev/zero"))
    CHECK_THROWS_WITH(read_input_file("/dev/zero", 1 << 20), Contains("/dev/zero") && Contains("at most 1 MiB"));
  CHECK_THROWS_WITH(read_input_file(std::filesystem::temp_directory_path()), Contains("found a directory"));
  CHECK_THROWS_AS(read_input_file("/nonexistent/epsim/file.json"), InputError);
}
