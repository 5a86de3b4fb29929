// File descriptors and the plain file operations the rest of bonsai needs. Every failure names
// the operation and the path ("open /var/lib/bonsai/index.json: Permission denied").
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::sys {

using util::Result;
using util::Status;

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) relative to dirfd (AT_FDCWD for plain paths); O_CLOEXEC is always added.
Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, unsigned mode = 0644);
Result<UniqueFd> open_file(const std::string& path, int flags, unsigned mode = 0644);

class FdReader final : public util::Reader {
 public:
  // `name` is used in error messages.
  FdReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<size_t> read(std::span<char> buf) override;

 private:
  int fd_;
  std::string name_;
};

class FdWriter final : public util::Writer {
 public:
  FdWriter(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Status write(std::string_view data) override;

 private:
  int fd_;
  std::string name_;
};

// A file opened for reading, with its reader.
struct InputFile {
  UniqueFd fd;
  FdReader reader;
};

Result<std::string> read_file(const std::string& path, size_t max_bytes = 64 << 20);
Status fsync_fd(int fd, std::string_view name);
// Starts writing back a range of a file without waiting (sync_file_range), so that a later
// fsync of a large file has little left to do. Best effort: errors are ignored.
void start_writeback(int fd, uint64_t offset, uint64_t length);
Status fsync_dir(const std::string& dir);
Status mkdir_p(const std::string& path, unsigned mode = 0755);
Status rename_file(const std::string& from, const std::string& to);
// Writes data to path atomically: temp file in the same directory, fsync, rename, fsync dir.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// Removes path and everything below it; absent is not an error. Does not follow symlinks.
Status remove_all(const std::string& path);
bool exists(const std::string& path);

}  // namespace bonsai::sys
