// Fuzz target: the measurement readers (csv_table, nccl-tests text output, AWS p5 CSV). The file
// readers take a path, so the input is written to a per-process temporary file first.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_support.hpp"
#include "measurements/csv_table.hpp"
#include "measurements/nccl_tests_table.hpp"

namespace {
const std::filesystem::path& temp_path() {
  static const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("epsim_fuzz_nccl_" + std::to_string(::getpid()) + ".txt");
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  epsim::fuzz::guarded([&] {
    epsim::CsvTable t = epsim::parse_csv(text, "fuzz.csv");
    for (std::size_t r = 0; r < t.rows.size(); ++r)
      for (std::size_t c = 0; c < t.columns.size(); ++c) {
        try {
          (void)t.number(r, c);
        } catch (const epsim::InputError&) {
        }
      }
  });
  {
    std::ofstream out(temp_path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  for (auto cols : {epsim::NcclTestsColumns::out_of_place, epsim::NcclTestsColumns::in_place}) {
    epsim::fuzz::guarded([&] { epsim::read_nccl_tests_output(temp_path(), cols); });
    epsim::fuzz::guarded([&] { epsim::read_aws_p5_csv(temp_path(), cols); });
  }
  return 0;
}
