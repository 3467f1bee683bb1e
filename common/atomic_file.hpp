#pragma once
// Outputs are written atomically: a temporary file in the same folder, then rename(2), so a killed
// run leaves any previous file intact and never a half-written one. An output path that is a symbolic
// link is written through: the file the link points to (followed to the end of a chain, even when it
// does not exist yet) is replaced and the link stays a link. A character device or pipe (/dev/stdout,
// /dev/null, a FIFO with a reader) is written directly, never replaced; a block device or socket is
// refused.
#include <filesystem>
#include <string>
#include <string_view>

namespace epsim {

/// Write `content` to resolve_output_path(path) atomically (temp file in its folder + fsync + rename).
/// Throws InputError naming the path when the folder does not exist or is not writable.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// The file a write to `path` lands in: symbolic links of the last component followed (at most 40,
/// relative targets against the link's folder), then made absolute and normal with every existing
/// folder's links resolved (std::filesystem::weakly_canonical). Throws InputError on a link loop.
std::filesystem::path resolve_output_path(const std::filesystem::path& path);

/// Check before any work is done that `path` can be written (the folder of resolve_output_path(path)
/// exists and accepts a new file). Throws InputError naming the path otherwise. Leaves no file behind.
void check_writable(const std::filesystem::path& path);

}  // namespace epsim
