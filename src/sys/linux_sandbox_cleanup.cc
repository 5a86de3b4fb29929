// Removing the sandbox's mountpoint placeholders from the upper directory (see
// remove_placeholders in linux_sandbox_internal.h). The upper directory was written by the
// command, so it is walked with O_NOFOLLOW on every component: a symlink planted by the command
// never leads the cleanup outside.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>

#include "sys/fd.h"
#include "sys/linux_sandbox_internal.h"

namespace bonsai::sys::sandbox_internal {
namespace {

using util::sys_fail;

std::string dir_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Opens the directory rel ("" for the root) below root_fd without following symlinks; nullopt
// when it is missing or something else than a directory is on the way.
Result<std::optional<UniqueFd>> open_dir_nofollow(int root_fd, const std::string& root,
                                                  const std::string& rel) {
  UniqueFd cur(::dup(root_fd));
  if (!cur.valid()) return sys_fail("dup " + root);
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t end = std::min(rel.find('/', pos), rel.size());
    std::string part = rel.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;
    int fd = ::openat(cur.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return std::nullopt;
    if (fd < 0) return sys_fail("open " + root + "/" + rel);
    cur.reset(fd);
  }
  return std::optional<UniqueFd>(std::move(cur));
}

// lstat of root/rel, nullopt when absent.
Result<std::optional<struct stat>> lstat_in(int root_fd, const std::string& root,
                                            const std::string& rel) {
  auto parent = TRY(open_dir_nofollow(root_fd, root, dir_name(rel)));
  if (!parent) return std::nullopt;
  struct stat st;
  if (::fstatat(parent->get(), base_name(rel).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return st;
  if (errno == ENOENT) return std::nullopt;
  return sys_fail("stat " + root + "/" + rel);
}

Status remove_stub(int upper_fd, const std::string& upper, const std::string& rel) {
  auto parent = TRY(open_dir_nofollow(upper_fd, upper, dir_name(rel)));
  if (!parent) return {};
  std::string name = base_name(rel);
  struct stat st;
  if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sys_fail("stat " + upper + "/" + rel);
  }
  int flags = 0;
  if (S_ISDIR(st.st_mode)) {
    flags = AT_REMOVEDIR;
  } else if (!S_ISREG(st.st_mode) || st.st_size != 0) {
    return {};  // no longer our placeholder
  }
  if (::unlinkat(parent->get(), name.c_str(), flags) == 0) return {};
  if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT) return {};
  return sys_fail("remove placeholder " + upper + "/" + rel);
}

Result<bool> is_empty_transparent_dir(int upper_fd, const std::string& upper,
                                      const std::string& rel) {
  auto parent = TRY(open_dir_nofollow(upper_fd, upper, dir_name(rel)));
  if (!parent) return false;
  int fd = ::openat(parent->get(), base_name(rel).c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return false;
  if (fd < 0) return sys_fail("open " + upper + "/" + rel);
  char value[8];
  if (::fgetxattr(fd, "trusted.overlay.opaque", value, sizeof value) >= 0) {
    ::close(fd);
    return false;
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return sys_fail("opendir " + upper + "/" + rel);
  }
  bool empty = true;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(dir);
  return empty;
}

// Removes the copied-up directory rel if it is empty and equal in mode and owner to the lower
// directory that was copied.
Status remove_copied_up(const std::vector<std::string>& lower_dirs, int upper_fd,
                        const std::string& upper, const std::string& rel) {
  if (!TRY(is_empty_transparent_dir(upper_fd, upper, rel))) return {};
  auto in_upper = TRY(lstat_in(upper_fd, upper, rel));
  for (const std::string& lower : lower_dirs) {
    UniqueFd lower_fd = TRY(open_file(lower, O_PATH | O_DIRECTORY));
    auto in_lower = TRY(lstat_in(lower_fd.get(), lower, rel));
    if (!in_lower) continue;
    bool same = S_ISDIR(in_lower->st_mode) && in_upper &&
                (in_lower->st_mode & 07777) == (in_upper->st_mode & 07777) &&
                in_lower->st_uid == in_upper->st_uid && in_lower->st_gid == in_upper->st_gid;
    if (!same) return {};
    auto parent = TRY(open_dir_nofollow(upper_fd, upper, dir_name(rel)));
    if (parent && ::unlinkat(parent->get(), base_name(rel).c_str(), AT_REMOVEDIR) != 0 &&
        errno != ENOTEMPTY && errno != ENOENT)
      return sys_fail("remove copied-up directory " + upper + "/" + rel);
    return {};
  }
  return {};  // in no lower: created by the command, keep it
}

}  // namespace

Status remove_placeholders(const std::vector<std::string>& lower_dirs, const std::string& upper_dir,
                           const std::vector<std::string>& stubs) {
  if (stubs.empty()) return {};
  UniqueFd upper_fd = TRY(open_file(upper_dir, O_PATH | O_DIRECTORY));
  std::set<std::string> created;
  for (const std::string& s : stubs) created.insert(s.substr(s.find_first_not_of('/')));
  // Deepest first, so a directory's placeholders are gone before the directory is looked at.
  for (auto it = created.rbegin(); it != created.rend(); ++it)
    TRY(remove_stub(upper_fd.get(), upper_dir, *it));
  std::set<std::string, std::greater<>> ancestors;
  for (const std::string& s : created)
    for (std::string a = dir_name(s); !a.empty(); a = dir_name(a))
      if (!created.contains(a)) ancestors.insert(a);
  for (const std::string& a : ancestors)
    TRY(remove_copied_up(lower_dirs, upper_fd.get(), upper_dir, a));
  return {};
}

}  // namespace bonsai::sys::sandbox_internal
