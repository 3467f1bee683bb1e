#pragma once
// Outputs are written atomically: a temporary file in the same folder, then rename(2), so a killed
// run leaves any previous file intact and never a half-written one.
#include <filesystem>
#include <string>
#include <string_view>

namespace epsim {

/// Write `content` to `path` atomically (temp file + fsync + rename). Throws InputError naming the
/// path when the folder does not exist or is not writable.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Check before any work is done that `path` can be written (its folder exists and accepts a new
/// file). Throws InputError naming the path otherwise. Leaves no file behind.
void check_writable(const std::filesystem::path& path);

}  // namespace epsim
