#include "sys/root_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bonsai::sys {

using util::ErrorKind;
using util::fail;
using util::FileInfo;
using util::FileType;
using util::sys_fail;

namespace {

// openat2 may fail with EAGAIN when a rename elsewhere on the system races with a ".." lookup
// under RESOLVE_IN_ROOT; the kernel asks callers to retry.
constexpr int kOpenat2Retries = 32;

// A regular file opened for reading, owning its descriptor.
class FileReader final : public util::Reader {
 public:
  FileReader(UniqueFd fd, std::string name)
      : fd_(std::move(fd)), reader_(fd_.get(), std::move(name)) {}
  Result<size_t> read(std::span<char> buf) override { return reader_.read(buf); }

 private:
  UniqueFd fd_;
  FdReader reader_;
};

// A new regular file being written, owning its descriptor; close() reports close(2) errors.
class FileWriter final : public util::Writer {
 public:
  FileWriter(UniqueFd fd, std::string name)
      : fd_(std::move(fd)), name_(std::move(name)), writer_(fd_.get(), name_) {}
  Status write(std::string_view data) override { return writer_.write(data); }
  Status close() override {
    if (!fd_.valid()) return {};
    if (::close(fd_.release()) != 0) return sys_fail("close " + name_);
    return {};
  }

 private:
  UniqueFd fd_;
  std::string name_;
  FdWriter writer_;
};

Status check_clean(std::string_view path, std::string_view op) {
  if (util::is_clean_tree_path(path)) return {};
  return fail(ErrorKind::kInvalidArgument,
              std::string(op) + " \"" + std::string(path) + "\": not a clean relative path");
}

}  // namespace

FileType file_type_of(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return FileType::kDirectory;
    case S_IFLNK:
      return FileType::kSymlink;
    case S_IFCHR:
      return FileType::kCharDevice;
    case S_IFBLK:
      return FileType::kBlockDevice;
    case S_IFIFO:
      return FileType::kFifo;
    case S_IFSOCK:
      return FileType::kSocket;
    default:
      return FileType::kRegular;
  }
}

FileInfo file_info_of(const struct stat& st) {
  FileInfo info;
  info.type = file_type_of(st.st_mode);
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_sec = st.st_mtim.tv_sec;
  info.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  info.nlink = st.st_nlink;
  info.dev = st.st_dev;
  info.ino = st.st_ino;
  info.rdev_major = major(st.st_rdev);
  info.rdev_minor = minor(st.st_rdev);
  return info;
}

Result<std::unique_ptr<RootFs>> RootFs::open(const std::string& dir) {
  UniqueFd fd = TRY(open_file(dir, O_PATH | O_DIRECTORY));
  return std::unique_ptr<RootFs>(new RootFs(std::move(fd), dir));
}

std::string RootFs::display(std::string_view path) const {
  if (path.empty()) return root_path_;
  return root_path_ + "/" + std::string(path);
}

Result<UniqueFd> RootFs::open_in_root(std::string_view path, int flags, std::string_view op,
                                      std::string_view for_path) const {
  std::string rel = path.empty() ? std::string(".") : std::string(path);
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_.get(), rel.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || (errno == EAGAIN && attempt < kOpenat2Retries)) continue;
    return sys_fail(std::string(op) + " " + display(for_path));
  }
}

Result<RootFs::Parent> RootFs::parent_of(std::string_view path, std::string_view op) const {
  TRY(check_clean(path, op));
  size_t slash = path.rfind('/');
  std::string_view dir =
      slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
  std::string name = path.empty()                      ? std::string(".")
                     : slash == std::string_view::npos ? std::string(path)
                                                       : std::string(path.substr(slash + 1));
  UniqueFd fd = TRY(open_in_root(dir, O_PATH | O_DIRECTORY, op, path));
  return Parent{std::move(fd), std::move(name)};
}

Result<UniqueFd> RootFs::open_dir(std::string_view path, std::string_view op) const {
  Parent p = TRY(parent_of(path, op));
  int fd = ::openat(p.dir.get(), p.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return sys_fail(std::string(op) + " " + display(path));
  return UniqueFd(fd);
}

Result<std::optional<FileInfo>> RootFs::lstat(std::string_view path) {
  auto parent = parent_of(path, "stat");
  if (!parent && parent.error().sys_errno() == ENOENT) return std::nullopt;
  if (!parent) return std::unexpected(std::move(parent).error());
  struct stat st;
  if (::fstatat(parent->dir.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return sys_fail("stat " + display(path));
  }
  return file_info_of(st);
}

Result<std::vector<std::string>> RootFs::list(std::string_view dir) {
  UniqueFd fd = TRY(open_dir(dir, "list"));
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return sys_fail("list " + display(dir));
  fd.release();  // owned by d now
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return sys_fail("list " + display(dir), err);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<util::TreeFs::DirEntry>> RootFs::list_info(std::string_view dir) {
  UniqueFd fd = TRY(open_dir(dir, "list"));
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return sys_fail("list " + display(dir));
  fd.release();  // owned by d now
  std::vector<util::TreeFs::DirEntry> out;
  int err = 0;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      err = errno;
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      err = errno;
      break;
    }
    out.push_back({std::string(name), file_info_of(st)});
  }
  ::closedir(d);
  if (err != 0) return sys_fail("list " + display(dir), err);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::string> RootFs::read_link(std::string_view path) {
  Parent p = TRY(parent_of(path, "readlink"));
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(p.dir.get(), p.name.c_str(), buf.data(), buf.size());
    if (n < 0) return sys_fail("readlink " + display(path));
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result<std::unique_ptr<util::Reader>> RootFs::open_read(std::string_view path) {
  Parent p = TRY(parent_of(path, "open"));
  // O_NONBLOCK keeps a fifo from blocking the open; it is refused below anyway.
  int fd = ::openat(p.dir.get(), p.name.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return sys_fail("open " + display(path));
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_fail("stat " + display(path));
  if (!S_ISREG(st.st_mode))
    return fail(ErrorKind::kInvalidArgument, "open " + display(path) + ": not a regular file");
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    return sys_fail("fcntl " + display(path));
  return std::unique_ptr<util::Reader>(new FileReader(std::move(owned), display(path)));
}

Status RootFs::mkdir(std::string_view path, uint32_t mode) {
  Parent p = TRY(parent_of(path, "mkdir"));
  if (::mkdirat(p.dir.get(), p.name.c_str(), mode & 07777) != 0)
    return sys_fail("mkdir " + display(path));
  return {};
}

Result<std::unique_ptr<util::Writer>> RootFs::create_file(std::string_view path, uint32_t mode) {
  Parent p = TRY(parent_of(path, "create"));
  int fd = ::openat(p.dir.get(), p.name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, mode & 07777);
  if (fd < 0) return sys_fail("create " + display(path));
  return std::unique_ptr<util::Writer>(new FileWriter(UniqueFd(fd), display(path)));
}

Status RootFs::symlink(std::string_view target, std::string_view path) {
  Parent p = TRY(parent_of(path, "symlink"));
  if (::symlinkat(std::string(target).c_str(), p.dir.get(), p.name.c_str()) != 0)
    return sys_fail("symlink " + display(path));
  return {};
}

Status RootFs::link(std::string_view existing, std::string_view path) {
  Parent from = TRY(parent_of(existing, "link"));
  Parent to = TRY(parent_of(path, "link"));
  // No AT_SYMLINK_FOLLOW: a symlink at `existing` is linked itself.
  if (::linkat(from.dir.get(), from.name.c_str(), to.dir.get(), to.name.c_str(), 0) != 0)
    return sys_fail("link " + display(path) + " to " + display(existing));
  return {};
}

Status RootFs::mknod(std::string_view path, FileType type, uint32_t mode, uint32_t major,
                     uint32_t minor) {
  mode_t kind = 0;
  switch (type) {
    case FileType::kCharDevice:
      kind = S_IFCHR;
      break;
    case FileType::kBlockDevice:
      kind = S_IFBLK;
      break;
    case FileType::kFifo:
      kind = S_IFIFO;
      break;
    default:
      return fail(ErrorKind::kInvalidArgument, "mknod " + display(path) + ": cannot make a " +
                                                   std::string(util::file_type_name(type)));
  }
  Parent p = TRY(parent_of(path, "mknod"));
  if (::mknodat(p.dir.get(), p.name.c_str(), kind | (mode & 07777), makedev(major, minor)) != 0)
    return sys_fail("mknod " + display(path));
  return {};
}

Status RootFs::remove(std::string_view path) {
  if (path.empty()) return fail(ErrorKind::kInvalidArgument, "remove " + display(path) + ": root");
  Parent p = TRY(parent_of(path, "remove"));
  struct stat st;
  if (::fstatat(p.dir.get(), p.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_fail("remove " + display(path));
  int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
  if (::unlinkat(p.dir.get(), p.name.c_str(), flags) != 0)
    return sys_fail("remove " + display(path));
  return {};
}

Status RootFs::remove_children(int dir_fd, const std::string& path) {
  // Read all names first: removing while iterating a directory stream may skip entries.
  std::vector<std::pair<std::string, bool>> children;
  {
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_fail("list " + display(path));
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return sys_fail("list " + display(path));
    }
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") children.emplace_back(name, e->d_type == DT_DIR);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return sys_fail("list " + display(path), err);
  }
  for (auto& [name, is_dir] : children) {
    std::string child = path.empty() ? name : path + "/" + name;
    if (::unlinkat(dir_fd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) == 0) continue;
    if (errno == ENOENT) continue;
    // d_type may be DT_UNKNOWN; a non-empty directory needs its children removed first.
    if (errno != EISDIR && errno != ENOTEMPTY && errno != EEXIST)
      return sys_fail("remove " + display(child));
    int sub = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return sys_fail("open " + display(child));
    UniqueFd sub_fd(sub);
    TRY(remove_children(sub_fd.get(), child));
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return sys_fail("remove " + display(child));
  }
  return {};
}

Status RootFs::remove_all(std::string_view path) {
  if (path.empty())
    return fail(ErrorKind::kInvalidArgument,
                "remove " + display(path) + ": cannot remove the root");
  auto parent = parent_of(path, "remove");
  if (!parent && parent.error().sys_errno() == ENOENT) return {};
  if (!parent) return std::unexpected(std::move(parent).error());
  struct stat st;
  if (::fstatat(parent->dir.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sys_fail("remove " + display(path));
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(parent->dir.get(), parent->name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_fail("open " + display(path));
    UniqueFd dir_fd(fd);
    TRY(remove_children(dir_fd.get(), std::string(path)));
  }
  int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
  if (::unlinkat(parent->dir.get(), parent->name.c_str(), flags) != 0 && errno != ENOENT)
    return sys_fail("remove " + display(path));
  return {};
}

Status RootFs::set_owner(std::string_view path, uint32_t uid, uint32_t gid) {
  Parent p = TRY(parent_of(path, "chown"));
  if (::fchownat(p.dir.get(), p.name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_fail("chown " + display(path) + " to " + std::to_string(uid) + ":" +
                    std::to_string(gid));
  return {};
}

Status RootFs::set_mode(std::string_view path, uint32_t mode) {
  Parent p = TRY(parent_of(path, "chmod"));
  // glibc opens the name O_PATH|O_NOFOLLOW, refuses a symlink with EOPNOTSUPP, and changes the
  // mode of exactly the inode it opened.
  if (::fchmodat(p.dir.get(), p.name.c_str(), mode & 07777, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == EOPNOTSUPP)
      return fail(ErrorKind::kUnsupported, "chmod " + display(path) + ": a symlink has no mode");
    return sys_fail("chmod " + display(path));
  }
  return {};
}

Status RootFs::set_mtime(std::string_view path, int64_t sec, uint32_t nsec) {
  Parent p = TRY(parent_of(path, "set mtime of"));
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = sec;
  ts[0].tv_nsec = ts[1].tv_nsec = nsec;
  if (::utimensat(p.dir.get(), p.name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_fail("set mtime of " + display(path));
  return {};
}

Status RootFs::set_xattr(std::string_view path, std::string_view name, std::string_view value) {
  Parent p = TRY(parent_of(path, "setxattr"));
  // The magic link names the directory handle already resolved inside the root; lsetxattr does
  // not follow the last component.
  std::string via_proc = "/proc/self/fd/" + std::to_string(p.dir.get()) + "/" + p.name;
  if (::lsetxattr(via_proc.c_str(), std::string(name).c_str(), value.data(), value.size(), 0) != 0)
    return sys_fail("setxattr " + std::string(name) + " on " + display(path));
  return {};
}

}  // namespace bonsai::sys
