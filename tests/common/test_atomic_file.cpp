#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

using namespace epsim;

TEST_CASE("write_file_atomic replaces the file whole and leaves no temporary") {
  auto dir = std::filesystem::temp_directory_path() / "epsim_atomic_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto path = dir / "out.json";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  CHECK(s.str() == "second");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("Unwritable outputs are reported before any work") {
  CHECK_THROWS_AS(check_writable("/nonexistent-dir/plan.json"), InputError);
  CHECK_THROWS_WITH(check_writable(std::filesystem::temp_directory_path()), Catch::Contains("directory"));
}
