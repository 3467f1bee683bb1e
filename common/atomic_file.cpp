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

int open_temp(const std::filesystem::path& path, std::string& temp_name) {
  std::string leaf = ".";
  leaf.append(path.filename().string()).append(".tmpXXXXXX");
  std::string pattern = (parent_or_dot(path) / leaf).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    throw InputError(path.string(), "", fmt::format("cannot write the output file: {}", std::strerror(errno)));
  }
  temp_name = buf.data();
  return fd;
}
}  // namespace

void check_writable(const std::filesystem::path& path) {
  if (path.empty()) throw InputError("", "", "an output path is empty");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path.string(), "", "expected a file path for the output, found a directory");
  std::string temp;
  int fd = open_temp(path, temp);
  ::close(fd);
  ::unlink(temp.c_str());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  std::string temp;
  int fd = open_temp(path, temp);
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw InputError(path.string(), "", fmt::format("write failed: {}", std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, 0644);
  // A full disk or an I/O error may only show at fsync/close: the previous file must then stay.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw InputError(path.string(), "", fmt::format("write failed: {}", std::strerror(err)));
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw InputError(path.string(), "", fmt::format("write failed: {}", std::strerror(err)));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw InputError(path.string(), "", fmt::format("cannot rename the output into place: {}", std::strerror(err)));
  }
}

}  // namespace epsim
