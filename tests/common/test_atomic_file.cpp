#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

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

TEST_CASE("a character device or pipe as output is written through, never replaced") {
  // /dev/null: written (the bytes vanish), still a character device afterwards.
  check_writable("/dev/null");
  write_file_atomic("/dev/null", "{}\n");
  CHECK(std::filesystem::status("/dev/null").type() == std::filesystem::file_type::character);
  // /dev/full: the write fails with the device's error, and the device stays (a rename over it made
  // it a regular file before).
  if (std::filesystem::exists("/dev/full")) {
    CHECK_THROWS_WITH(write_file_atomic("/dev/full", "{}\n"), Catch::Contains("/dev/full") && Catch::Contains("write failed"));
    CHECK(std::filesystem::status("/dev/full").type() == std::filesystem::file_type::character);
  }
  // A pipe with no reader is refused at once (not waited on) and stays a pipe.
  const auto dir = std::filesystem::temp_directory_path() / "epsim_atomic_fifo_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto fifo = dir / "out.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(write_file_atomic(fifo, "x"), Catch::Contains("a pipe with no reader"));
  CHECK(std::filesystem::status(fifo).type() == std::filesystem::file_type::fifo);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a read-only output file is refused, not replaced around its mode") {
  // The rename that puts an output in place ignores the file's own mode: a 0444 file was replaced and
  // made 0644. Refused by check_writable (before any work) and write_file_atomic, the file unchanged.
  auto dir = std::filesystem::temp_directory_path() / "epsim_atomic_read_only";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto path = dir / "calibration.json";
  std::ofstream(path) << "kept";
  ::chmod(path.c_str(), 0444);
  CHECK_THROWS_WITH(check_writable(path), Catch::Contains("cannot replace the output: the file is read-only (mode 0444)"));
  CHECK_THROWS_WITH(write_file_atomic(path, "new"), Catch::Contains(path.string()) && Catch::Contains("read-only"));
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  CHECK(s.str() == "kept");
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::owner_write) == std::filesystem::perms::none);
  // Writable again: replaced.
  ::chmod(path.c_str(), 0644);
  write_file_atomic(path, "new");
  std::filesystem::remove_all(dir);
}
