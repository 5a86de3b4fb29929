// A file tree seen from its own root: the seam between algorithms that build or change an image
// tree (applying a layer, COPY) and the disk.
//
// Every path given to a TreeFs is relative to the tree's root, '/'-separated, with no empty, "."
// or ".." components and no leading or trailing '/'; "" names the root itself. Callers clean
// paths first (a layer's "a/../b" becomes "b"); an unclean path is a kInvalidArgument error.
//
// Confinement contract (what makes a hostile tree safe to work on): symlinks met in the
// directories leading to a path are followed as if the root were "/" — an absolute target
// starts again at the root and ".." never climbs above it — so no operation ever reaches outside
// the tree. The last component of a path is never followed: lstat describes a symlink, remove
// removes it, set_owner/set_mtime/set_xattr change the link itself, and create_file, mkdir,
// symlink, link and mknod fail with kAlreadyExists if anything, a symlink included, is there.
//
// sys::RootFs is the real implementation (openat2 with RESOLVE_IN_ROOT); tests use an in-memory
// fake with the same semantics. Implementations are not thread-safe unless they say otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"
#include "util/io.h"

namespace bonsai::util {

enum class FileType { kRegular, kDirectory, kSymlink, kCharDevice, kBlockDevice, kFifo, kSocket };

inline std::string_view file_type_name(FileType type) {
  switch (type) {
    case FileType::kRegular:
      return "regular file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kSymlink:
      return "symlink";
    case FileType::kCharDevice:
      return "character device";
    case FileType::kBlockDevice:
      return "block device";
    case FileType::kFifo:
      return "fifo";
    case FileType::kSocket:
      return "socket";
  }
  return "file";
}

struct FileInfo {
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits with setuid/setgid/sticky (07777), no type bits
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;  // bytes of a regular file, length of a symlink's target
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t nlink = 1;
  uint64_t dev = 0, ino = 0;  // identify the inode: hard links to one file share (dev, ino)
  uint32_t rdev_major = 0, rdev_minor = 0;  // for device nodes
};

class TreeFs {
 public:
  virtual ~TreeFs() = default;

  // What is at path, without following a final symlink. nullopt when nothing is there (ENOENT);
  // a path through a non-directory (ENOTDIR) is an error.
  virtual Result<std::optional<FileInfo>> lstat(std::string_view path) = 0;
  // The entry names of a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> list(std::string_view dir) = 0;
  // The entries of a directory with what lstat says of each, sorted by name. Implementations
  // may do this in fewer system calls than list() plus lstat() per entry (the default).
  struct DirEntry {
    std::string name;
    FileInfo info;
  };
  virtual Result<std::vector<DirEntry>> list_info(std::string_view dir) {
    std::vector<DirEntry> out;
    for (std::string& name : TRY(list(dir))) {
      std::string path = dir.empty() ? name : std::string(dir) + "/" + name;
      std::optional<FileInfo> info = TRY(lstat(path));
      if (info) out.push_back({std::move(name), *info});  // gone meanwhile: skipped
    }
    return out;
  }
  // The target of the symlink at path, as stored.
  virtual Result<std::string> read_link(std::string_view path) = 0;
  // Opens the regular file at path for reading. A final symlink is not followed (an error).
  virtual Result<std::unique_ptr<Reader>> open_read(std::string_view path) = 0;

  // Creates a directory. The process umask may narrow mode; set_mode sets exact bits.
  virtual Status mkdir(std::string_view path, uint32_t mode) = 0;
  // Creates a new, empty regular file (never opens an existing one) and returns a writer for its
  // contents; the writer's close() reports late write errors. umask may narrow mode.
  virtual Result<std::unique_ptr<Writer>> create_file(std::string_view path, uint32_t mode) = 0;
  // Creates a symlink at path holding target verbatim (the target is data, never resolved here).
  virtual Status symlink(std::string_view target, std::string_view path) = 0;
  // Creates path as a new hard link to the inode at existing. A final symlink at existing is
  // linked itself, not followed. Linking a directory is an error.
  virtual Status link(std::string_view existing, std::string_view path) = 0;
  // Creates a device node or fifo. type must be kCharDevice, kBlockDevice or kFifo.
  virtual Status mknod(std::string_view path, FileType type, uint32_t mode, uint32_t major,
                       uint32_t minor) = 0;

  // Removes a file, symlink, node or empty directory.
  virtual Status remove(std::string_view path) = 0;
  // Removes path and everything below it, never following symlinks. Absent is not an error.
  // The root itself cannot be removed; remove its children instead.
  virtual Status remove_all(std::string_view path) = 0;

  // Changes the owner of path itself (a symlink is not followed).
  virtual Status set_owner(std::string_view path, uint32_t uid, uint32_t gid) = 0;
  // Sets the 07777 bits. Symlinks have no mode of their own: kUnsupported.
  virtual Status set_mode(std::string_view path, uint32_t mode) = 0;
  // Sets the modification time (and the access time to the same value) of path itself.
  virtual Status set_mtime(std::string_view path, int64_t sec, uint32_t nsec) = 0;
  // Sets an extended attribute on path itself. Fails with the errno of the filesystem (ENOTSUP,
  // EPERM) kept in Error::sys_errno(), so callers can decide what is best effort.
  virtual Status set_xattr(std::string_view path, std::string_view name,
                           std::string_view value) = 0;
};

// True for a path a TreeFs accepts: "" or components that are neither empty, "." nor "..".
inline bool is_clean_tree_path(std::string_view path) {
  if (path.empty()) return true;
  for (;;) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace bonsai::util
