#include "sys/overlay_diff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "sys/fd.h"
#include "sys/root_fs.h"

namespace bonsai::sys {

using util::FileInfo;
using util::FileType;
using util::sys_fail;

namespace {

constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

struct Found {
  std::string rel;  // path in the upper directory
  struct stat st;
};

FileInfo info_of(const struct stat& st, const DiffOptions& options) {
  FileInfo info = file_info_of(st);
  if (options.clamp_mtime && info.mtime_sec >= *options.clamp_mtime) {
    info.mtime_sec = *options.clamp_mtime;
    info.mtime_nsec = 0;
  }
  return info;
}

// Every entry below dir, depth first, sorted afterwards by the caller.
util::Status walk(const std::string& root, const std::string& rel, const DiffOptions& options,
                  std::vector<Found>& out) {
  std::string dir_path = rel.empty() ? root : root + "/" + rel;
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return sys_fail("opendir " + dir_path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return sys_fail("readdir " + dir_path, err);
  for (const std::string& name : names) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    if (options.exclude.contains(child)) continue;
    Found f{child, {}};
    if (::lstat((root + "/" + child).c_str(), &f.st) != 0)
      return sys_fail("lstat " + root + "/" + child);
    bool is_dir = S_ISDIR(f.st.st_mode);
    out.push_back(std::move(f));
    if (is_dir) TRY(walk(root, child, options, out));
  }
  return {};
}

util::Result<std::map<std::string, std::string>> read_xattrs(const std::string& path) {
  std::map<std::string, std::string> xattrs;
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) return xattrs;
  if (n < 0) return sys_fail("llistxattr " + path);
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) return sys_fail("llistxattr " + path);
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    if (name.empty() || name.starts_with(kOverlayXattrPrefix)) continue;
    ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) return sys_fail("lgetxattr " + name + " " + path);
    std::string value(static_cast<size_t>(len), '\0');
    len = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) return sys_fail("lgetxattr " + name + " " + path);
    value.resize(static_cast<size_t>(len));
    xattrs.emplace(std::move(name), std::move(value));
  }
  return xattrs;
}

bool is_opaque_dir(const std::string& path) {
  char value[4];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", value, sizeof value);
  return n == 1 && value[0] == 'y';
}

std::string whiteout_name(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return ".wh." + rel;
  return rel.substr(0, slash + 1) + ".wh." + rel.substr(slash + 1);
}

// Builds the entry (or entries, for an opaque directory) of one upper-directory file.
util::Result<std::vector<DiffEntry>> entries_for(const std::string& root, const Found& f,
                                                 const DiffOptions& options) {
  std::string path = root + "/" + f.rel;
  DiffEntry e;
  e.path = f.rel;
  e.info = info_of(f.st, options);
  bool whiteout = S_ISCHR(f.st.st_mode) && f.st.st_rdev == makedev(0, 0);
  if (whiteout) {
    e.path = whiteout_name(f.rel);
    e.kind = DiffEntryKind::kWhiteout;
    e.info.mode = e.info.uid = e.info.gid = 0;
    e.info.type = FileType::kRegular;
    e.info.size = 0;
    return std::vector<DiffEntry>{std::move(e)};
  }
  e.xattrs = TRY(read_xattrs(path));
  switch (f.st.st_mode & S_IFMT) {
    case S_IFDIR:
      e.kind = DiffEntryKind::kDirectory;
      break;
    case S_IFLNK: {
      e.kind = DiffEntryKind::kSymlink;
      std::string target(static_cast<size_t>(f.st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return sys_fail("readlink " + path);
      target.resize(static_cast<size_t>(n));
      e.link_target = std::move(target);
      break;
    }
    case S_IFCHR:
      e.kind = DiffEntryKind::kCharDevice;
      break;
    case S_IFBLK:
      e.kind = DiffEntryKind::kBlockDevice;
      break;
    case S_IFIFO:
      e.kind = DiffEntryKind::kFifo;
      break;
    case S_IFREG:
      e.kind = DiffEntryKind::kRegular;
      break;
    default:
      return std::vector<DiffEntry>{};  // sockets: not representable in a layer
  }
  std::vector<DiffEntry> out{e};
  if (e.kind == DiffEntryKind::kDirectory && is_opaque_dir(path)) {
    DiffEntry marker;
    marker.path = f.rel + "/.wh..wh..opq";
    marker.kind = DiffEntryKind::kOpaque;
    marker.info.mtime_sec = e.info.mtime_sec;
    marker.info.mtime_nsec = e.info.mtime_nsec;
    out.push_back(std::move(marker));
  }
  return out;
}

}  // namespace

util::Status diff_overlay_upper(const std::string& upper_dir, const DiffOptions& options,
                                const DiffSink& sink) {
  // Step 1: collect and build every entry, then sort by layer path.
  std::vector<Found> found;
  TRY(walk(upper_dir, "", options, found));
  std::vector<DiffEntry> entries;
  for (const Found& f : found)
    for (DiffEntry& e : TRY(entries_for(upper_dir, f, options))) entries.push_back(std::move(e));
  std::sort(entries.begin(), entries.end(),
            [](const DiffEntry& a, const DiffEntry& b) { return a.path < b.path; });

  // Step 2: emit, turning later paths of a multiply-linked inode into hard links to the first.
  std::map<std::pair<uint64_t, uint64_t>, std::string> first_path;
  for (DiffEntry& e : entries) {
    if (e.kind == DiffEntryKind::kRegular && e.info.nlink > 1) {
      auto [it, inserted] = first_path.try_emplace({e.info.dev, e.info.ino}, e.path);
      if (!inserted) {
        e.kind = DiffEntryKind::kHardLink;
        e.link_target = it->second;
        e.info.size = 0;
      }
    }
    if (e.kind != DiffEntryKind::kRegular) {
      TRY(sink(e, nullptr));
      continue;
    }
    std::string path = upper_dir + "/" + e.path;
    UniqueFd fd = TRY(open_file(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
    FdReader reader(fd.get(), path);
    util::LimitedReader body(reader, e.info.size);
    TRY(sink(e, &body));
  }
  return {};
}

}  // namespace bonsai::sys
