#pragma once
// Helpers of the calibrate-from-tables tests (test_table_calibration.cpp, test_table_rejections.cpp).
#include <filesystem>
#include <fstream>
#include <string>

#include "comm/table_calibration.hpp"
#include "common/error.hpp"
#include "measurements/comm_tables.hpp"

namespace epsim::test {

/// The copies of the measured tables (tests/data/comm/).
inline const std::string kData = EPSIM_TEST_DATA_DIR "/comm/";

/// Write `text` to a file named epsim_test_<name> in the temporary folder; its path.
inline std::string temp_file(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / ("epsim_test_" + name);
  std::ofstream(p) << text;
  return p.string();
}

/// What add_table says of the file (as detected), "no error" when it reads it.
inline std::string add_error(const std::string& path) {
  TableSamples s;
  try {
    add_table(s, path, detect_comm_table(path));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace epsim::test
