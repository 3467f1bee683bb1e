#include "common/input_file.hpp"

#include <fstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

namespace {
[[noreturn]] void too_large(const std::filesystem::path& path, std::uintmax_t max_bytes, const std::string& found) {
  throw InputError(path.string(), "",
                   fmt::format("a file of at most {} MiB ({}; see docs/limits.md)", max_bytes >> 20, found));
}
}  // namespace

std::string read_input_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path.string(), "", "a file, found a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "", "cannot open the file for reading");
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto bytes = std::filesystem::file_size(path, ec);
    if (!ec && bytes > max_bytes) too_large(path, max_bytes, fmt::format("found {} MiB", bytes >> 20));
  }
  std::string out;
  std::vector<char> block(1 << 16);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (out.size() + got > max_bytes) too_large(path, max_bytes, "more was given; a pipe or device without end?");
    out.append(block.data(), got);
  }
  if (in.bad()) throw InputError(path.string(), "", "a readable file (a read error occurred)");
  return out;
}

std::string read_input_file(const std::filesystem::path& path) {
  return read_input_file(path, limits::kMaxInputFileBytes);
}

}  // namespace epsim
