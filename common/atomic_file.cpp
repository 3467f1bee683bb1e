#include "common/atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {
std::filesystem::path parent_or_dot(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// A temporary file next to `path`; `shown` names the output in messages (the path as given).
int open_temp(const std::filesystem::path& path, const std::filesystem::path& shown, std::string& temp_name) {
  std::string leaf = ".";
  leaf.append(path.filename().string()).append(".tmpXXXXXX");
  std::string pattern = (parent_or_dot(path) / leaf).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    throw InputError(shown.string(), "", fmt::format("cannot write the output file: {}", std::strerror(errno)));
  }
  temp_name = buf.data();
  return fd;
}

// The type of what `given` names (symbolic links followed by the kernel, /proc/self/fd/N included), or
// not_found. A character device or a pipe (/dev/stdout, /dev/null, a FIFO) is written through: renaming a
// file over it would replace the device node. Anything else that is not a regular file or a folder (a
// block device, a socket) is refused.
std::filesystem::file_type special_output(const std::filesystem::path& given) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(given, ec);
  if (ec) return std::filesystem::file_type::not_found;
  const std::filesystem::file_type t = st.type();
  if (t == std::filesystem::file_type::character || t == std::filesystem::file_type::fifo) return t;
  if (t == std::filesystem::file_type::block || t == std::filesystem::file_type::socket ||
      t == std::filesystem::file_type::unknown)
    throw InputError(given.string(), "",
                     "expected a regular file path for the output (or a character device or pipe such as "
                     "/dev/stdout), found a block device, socket or other special file");
  return std::filesystem::file_type::not_found;
}

// Open a character device or pipe for writing (a pipe without a reader is refused, not waited on).
int open_special(const std::filesystem::path& given, std::filesystem::file_type t) {
  const bool fifo = t == std::filesystem::file_type::fifo;
  int fd = ::open(given.c_str(), O_WRONLY | (fifo ? O_NONBLOCK : 0));
  if (fd < 0 && fifo && errno == ENXIO)
    throw InputError(given.string(), "", "cannot write the output: a pipe with no reader");
  if (fd < 0)
    throw InputError(given.string(), "", fmt::format("cannot write the output: {}", std::strerror(errno)));
  if (fifo) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}
// The rename that puts an output in place replaces a file whatever its own mode: refuse an existing file
// that has no write bit, or that this user may not write (a 0444 calibration.json was replaced and
// made 0644), as a write into it would be refused.
void refuse_read_only(const std::filesystem::path& path, const std::filesystem::path& shown) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if ((st.st_mode & 0222) == 0 || ::access(path.c_str(), W_OK) != 0)
    throw InputError(shown.string(), "",
                     fmt::format("cannot replace the output: the file is read-only (mode {:04o})", st.st_mode & 07777));
}

}  // namespace

std::filesystem::path resolve_output_path(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  std::error_code ec;
  for (int hops = 0; std::filesystem::is_symlink(p, ec); ++hops) {
    if (hops == 40) throw InputError(path.string(), "", "a path that does not loop (more than 40 symbolic links)");
    std::filesystem::path target = std::filesystem::read_symlink(p, ec);
    if (ec) break;
    p = target.is_absolute() ? target : parent_or_dot(p) / target;
  }
  std::filesystem::path canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  return ec ? p.lexically_normal() : canonical;
}

void check_writable(const std::filesystem::path& given) {
  if (given.empty()) throw InputError("", "", "an output path is empty");
  if (const std::filesystem::file_type t = special_output(given); t != std::filesystem::file_type::not_found) {
    if (t == std::filesystem::file_type::character && ::access(given.c_str(), W_OK) != 0)
      throw InputError(given.string(), "", fmt::format("cannot write the output: {}", std::strerror(errno)));
    return;  // a pipe is opened when written (a reader may come later)
  }
  const std::filesystem::path path = resolve_output_path(given);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(given.string(), "", "expected a file path for the output, found a directory");
  refuse_read_only(path, given);
  std::string temp;
  int fd = open_temp(path, given, temp);
  ::close(fd);
  ::unlink(temp.c_str());
}

void write_file_atomic(const std::filesystem::path& given, std::string_view content) {
  if (const std::filesystem::file_type t = special_output(given); t != std::filesystem::file_type::not_found) {
    const int fd = open_special(given, t);
    for (std::size_t written = 0; written < content.size();) {
      const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        throw InputError(given.string(), "", fmt::format("write failed: {}", std::strerror(err)));
      }
      written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw InputError(given.string(), "", fmt::format("write failed: {}", std::strerror(errno)));
    return;
  }
  const std::filesystem::path path = resolve_output_path(given);
  refuse_read_only(path, given);
  std::string temp;
  int fd = open_temp(path, given, temp);
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw InputError(given.string(), "", fmt::format("write failed: {}", std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, 0644);
  // A full disk or an I/O error may only show at fsync/close: the previous file must then stay.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw InputError(given.string(), "", fmt::format("write failed: {}", std::strerror(err)));
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw InputError(given.string(), "", fmt::format("write failed: {}", std::strerror(err)));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw InputError(given.string(), "", fmt::format("cannot rename the output into place: {}", std::strerror(err)));
  }
}

}  // namespace epsim
