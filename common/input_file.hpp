#pragma once
// Reading an input file whole, with a size cap that holds for pipes and devices as well as regular
// files (a regular file's size is checked before reading; anything else is read in blocks and refused
// as soon as it passes the cap), so `--loads /dev/zero` is a clear error, not an exhausted memory.
#include <cstdint>
#include <filesystem>
#include <string>

namespace epsim {

/// The bytes of `path`. Throws InputError naming the file when it cannot be opened or holds more than
/// `max_bytes` bytes (default limits::kMaxInputFileBytes, 512 MiB: docs/limits.md).
std::string read_input_file(const std::filesystem::path& path, std::uintmax_t max_bytes);
std::string read_input_file(const std::filesystem::path& path);

}  // namespace epsim
