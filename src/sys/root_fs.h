// The real util::TreeFs: a directory on disk, reached only through directory handles.
//
// RootFs holds an O_PATH descriptor of the root. Every operation resolves the directory that
// holds its target with openat2(root_fd, dir, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so the
// kernel treats the root as "/" while walking: absolute symlinks restart at the root and ".."
// stops there, whatever the tree contains. The last component is then handled with an *at()
// call on that directory handle that does not follow symlinks (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW,
// mkdirat/symlinkat/linkat/mknodat/unlinkat, which never follow). Paths must be clean (see
// util/fs.h), so the last component is never ".." either.
//
// set_xattr goes through /proc/self/fd/<dir handle>/<name> with lsetxattr, since Linux has no
// descriptor-relative, no-follow setxattr before 6.13; chmod uses glibc's fchmodat with
// AT_SYMLINK_NOFOLLOW, which refuses symlinks. Both need /proc mounted.
//
// Every failure names the operation and the path as "<root>/<path>".
#pragma once

#include <memory>
#include <string>

#include "sys/fd.h"
#include "util/fs.h"

struct stat;

namespace bonsai::sys {

// The file type and FileInfo of an lstat(2) result.
util::FileType file_type_of(unsigned mode);
util::FileInfo file_info_of(const struct stat& st);

class RootFs final : public util::TreeFs {
 public:
  // Opens the existing directory dir as the root of a tree. dir itself is resolved normally
  // (it is trusted); only paths inside it are confined.
  static Result<std::unique_ptr<RootFs>> open(const std::string& dir);

  // The directory this tree was opened at, as given to open().
  const std::string& root_path() const { return root_path_; }

  Result<std::optional<util::FileInfo>> lstat(std::string_view path) override;
  Result<std::vector<std::string>> list(std::string_view dir) override;
  // One directory handle and an fstatat per entry.
  Result<std::vector<util::TreeFs::DirEntry>> list_info(std::string_view dir) override;
  Result<std::string> read_link(std::string_view path) override;
  Result<std::unique_ptr<util::Reader>> open_read(std::string_view path) override;
  Status mkdir(std::string_view path, uint32_t mode) override;
  Result<std::unique_ptr<util::Writer>> create_file(std::string_view path, uint32_t mode) override;
  Status symlink(std::string_view target, std::string_view path) override;
  Status link(std::string_view existing, std::string_view path) override;
  Status mknod(std::string_view path, util::FileType type, uint32_t mode, uint32_t major,
               uint32_t minor) override;
  Status remove(std::string_view path) override;
  Status remove_all(std::string_view path) override;
  Status set_owner(std::string_view path, uint32_t uid, uint32_t gid) override;
  Status set_mode(std::string_view path, uint32_t mode) override;
  Status set_mtime(std::string_view path, int64_t sec, uint32_t nsec) override;
  Status set_xattr(std::string_view path, std::string_view name, std::string_view value) override;

 private:
  // The directory holding a path's last component, and that component ("." for the root).
  struct Parent {
    UniqueFd dir;
    std::string name;
  };

  RootFs(UniqueFd root, std::string root_path)
      : root_(std::move(root)), root_path_(std::move(root_path)) {}

  // "<root>/<path>", for messages.
  std::string display(std::string_view path) const;
  // openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); "" opens the root.
  // A failure reads "<op> <root>/<for_path>: <errno text>".
  Result<UniqueFd> open_in_root(std::string_view path, int flags, std::string_view op,
                                std::string_view for_path) const;
  // Checks path is clean and opens its parent directory inside the root.
  Result<Parent> parent_of(std::string_view path, std::string_view op) const;
  // Opens path's last component itself (never followed) as a directory for reading.
  Result<UniqueFd> open_dir(std::string_view path, std::string_view op) const;
  // Removes everything inside the open directory dir_fd; `path` is its name for messages.
  Status remove_children(int dir_fd, const std::string& path);

  UniqueFd root_;
  std::string root_path_;
};

}  // namespace bonsai::sys
