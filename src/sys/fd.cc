#include "sys/fd.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace bonsai::sys {

using util::ErrorKind;
using util::fail;
using util::sys_fail;

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys_fail("open " + path);
  return UniqueFd(fd);
}

Result<UniqueFd> open_file(const std::string& path, int flags, unsigned mode) {
  return open_at(AT_FDCWD, path, flags, mode);
}

Result<size_t> FdReader::read(std::span<char> buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return sys_fail("read " + name_);
  }
}

Status FdWriter::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_fail("write " + name_);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd = TRY(open_file(path, O_RDONLY));
  FdReader r(fd.get(), path);
  return TRY_CTX(util::read_all(r, max_bytes), path);
}

Status fsync_fd(int fd, std::string_view name) {
  if (::fsync(fd) != 0) return sys_fail("fsync " + std::string(name));
  return {};
}

void start_writeback(int fd, uint64_t offset, uint64_t length) {
  (void)::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(length),
                          SYNC_FILE_RANGE_WRITE);
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd = TRY(open_file(dir, O_RDONLY | O_DIRECTORY));
  return fsync_fd(fd.get(), dir);
}

Status mkdir_p(const std::string& path, unsigned mode) {
  if (path.empty()) return {};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail(ErrorKind::kAlreadyExists, "mkdir " + path + ": exists and is not a directory");
  }
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdir_p(path.substr(0, slash), mode));
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_fail("mkdir " + path);
  return {};
}

Status rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return sys_fail("rename " + from + " to " + to);
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    UniqueFd fd = TRY(open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    FdWriter w(fd.get(), tmp);
    if (auto st = w.write(data); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (auto st = fsync_fd(fd.get(), tmp); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (auto st = rename_file(tmp, path); !st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(dir);
}

Status remove_all(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return sys_fail("stat " + path);
  }
  auto rm = [](const char* p, const struct stat*, int, struct FTW*) -> int {
    return ::remove(p) == 0 || errno == ENOENT ? 0 : -1;
  };
  if (::nftw(path.c_str(), rm, 64, FTW_DEPTH | FTW_PHYS) != 0) return sys_fail("remove " + path);
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace bonsai::sys
