// Layer application, entry by entry. The order of checks for one entry:
//
//   count it (max_entries) -> clean its path -> the root entry? -> whiteout names ->
//   missing parents -> make room (replace or merge) -> create -> metadata
//
// Whiteouts act on the lower layers only. The applier remembers every path this layer wrote
// (and the directories above them), and a whiteout removes what it names except those paths,
// so that "a/.wh.b" and "a/b" in one layer leave a/b in place in either order, as the image
// spec requires, and an opaque marker spares the directory's entries from the same layer.
#include "archive/layer_apply.h"

#include <cerrno>
#include <vector>

#include "archive/whiteout.h"

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;
using util::FileInfo;
using util::FileType;

namespace {

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string_view type_name(EntryType type) {
  switch (type) {
    case EntryType::kFile:
      return "regular file";
    case EntryType::kHardLink:
      return "hard link";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kCharDevice:
      return "character device";
    case EntryType::kBlockDevice:
      return "block device";
    case EntryType::kDirectory:
      return "directory";
    case EntryType::kFifo:
      return "fifo";
  }
  return "entry";
}

bool is_device(EntryType type) {
  return type == EntryType::kCharDevice || type == EntryType::kBlockDevice;
}

// Names under which a failed setxattr is tolerated (see LayerApplier::apply).
bool xattr_is_best_effort(std::string_view name, int err) {
  if (err == ENOTSUP || err == EOPNOTSUPP) return true;
  return err == EPERM && (name.starts_with("security.") || name.starts_with("trusted."));
}

// Checks the whiteout rules that do not depend on the tree; see the header.
Status check_whiteout_names(const std::string& path) {
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view part = std::string_view(path).substr(start, slash - start);
    if (slash == std::string::npos) break;
    if (part.starts_with(kWhiteoutPrefix))
      return fail(ErrorKind::kCorrupt,
                  "whiteout name \"" + std::string(part) + "\" used as a directory");
    start = slash + 1;
  }
  std::string_view base = base_name(path);
  if (is_whiteout_meta(path) && !is_opaque(path))
    return fail(ErrorKind::kCorrupt, "reserved whiteout name \"" + std::string(base) +
                                         "\" (only .wh..wh..opq is valid)");
  if (base == kWhiteoutPrefix) return fail(ErrorKind::kCorrupt, "whiteout names nothing");
  if (is_whiteout(path)) {
    std::string_view target = base.substr(kWhiteoutPrefix.size());
    if (target == "." || target == "..")
      return fail(ErrorKind::kCorrupt,
                  "whiteout of \"" + std::string(target) + "\" (names no entry of its directory)");
  }
  return {};
}

constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

// An overlayfs whiteout: a character device with device number 0:0.
bool is_whiteout_node(const FileInfo& info) {
  return info.type == FileType::kCharDevice && info.rdev_major == 0 && info.rdev_minor == 0;
}

bool has_dot_dot(std::string_view path) {
  return path == ".." || path.starts_with("../") || path.ends_with("/..") ||
         path.find("/../") != std::string_view::npos;
}

}  // namespace

Result<std::string> clean_layer_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      return fail(ErrorKind::kCorrupt, "path \"" + std::string(path) + "\" escapes the root");
    } else {
      parts.pop_back();
    }
  }
  std::string out;
  for (std::string_view part : parts) {
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

LayerApplier::LayerApplier(util::TreeFs& fs, ApplyOptions options) : fs_(fs), options_(options) {}

Status LayerApplier::apply(const TarEntry& entry, util::Reader& body) {
  uint64_t index = stats_.entries++;
  std::string where = "layer entry " + std::to_string(index) + " (" + entry.path + ")";
  if (stats_.entries > options_.max_entries)
    return fail(ErrorKind::kLimit, where + ": more than " + std::to_string(options_.max_entries) +
                                       " entries in the layer");
  std::string path = TRY_CTX(clean_layer_path(entry.path), where);
  if (path.empty() && has_dot_dot(entry.path))
    return fail(ErrorKind::kCorrupt, where + ": path resolves to the layer root");
  TRY_CTX(apply_entry(entry, path, body), where);
  return {};
}

Status LayerApplier::apply_entry(const TarEntry& entry, const std::string& path,
                                 util::Reader& body) {
  if (path.empty()) {
    // The root entry ("./"): the root already exists and is not the layer's to replace.
    if (entry.type != EntryType::kDirectory)
      return fail(ErrorKind::kCorrupt, "the root entry is a " + std::string(type_name(entry.type)) +
                                           "; it must be a directory");
    ++stats_.skipped;
    return {};
  }
  TRY(check_whiteout_names(path));
  if (options_.overlay_whiteouts && is_opaque(path)) return mark_opaque(*opaque_dir(path));
  if (options_.overlay_whiteouts && is_whiteout(path))
    return write_whiteout_node(*whiteout_target(path));
  if (is_opaque(path)) return apply_opaque(*opaque_dir(path));
  if (is_whiteout(path)) return apply_whiteout(path);
  if (is_device(entry.type) && options_.skip_devices) {
    ++stats_.skipped;
    return {};
  }
  TRY(ensure_parents(path));
  Room room = TRY(make_room(entry, path));
  if (room != Room::kMerge) TRY(create(entry, path, body));
  // In overlay form nothing below is deleted, so a directory that replaces a non-directory of
  // this layer (which replaced whatever the lower layers had) must hide the lower directory.
  if (options_.overlay_whiteouts && room == Room::kReplaced && entry.type == EntryType::kDirectory)
    TRY(set_opaque_xattr(path));
  TRY(apply_metadata(entry, path, entry.type == EntryType::kSymlink));
  record(path);
  return {};
}

// --- Whiteouts ------------------------------------------------------------------------------

Status LayerApplier::apply_whiteout(const std::string& entry_path) {
  ++stats_.whiteouts;
  std::string target = *whiteout_target(entry_path);
  // Nothing to delete under a parent that is missing or not a directory; a whiteout never
  // creates parents.
  auto parent = fs_.lstat(parent_of(target));
  if (!parent && parent.error().sys_errno() == ENOTDIR) return {};
  if (!parent) return std::unexpected(std::move(parent).error());
  if (!*parent) return {};
  if ((*parent)->type != FileType::kDirectory && (*parent)->type != FileType::kSymlink) return {};
  auto removed = remove_lower(target);
  // A symlinked parent that leads to a non-directory: nothing there either.
  if (!removed && removed.error().sys_errno() == ENOTDIR) return {};
  return removed;
}

Status LayerApplier::apply_opaque(const std::string& dir) {
  ++stats_.opaque_dirs;
  auto info = TRY(fs_.lstat(dir));
  if (!info || info->type != FileType::kDirectory) return {};
  for (const std::string& name : TRY(fs_.list(dir))) TRY(remove_lower(join(dir, name)));
  return {};
}

// --- Whiteouts in overlayfs form -----------------------------------------------------------

Status LayerApplier::write_whiteout_node(const std::string& target) {
  ++stats_.whiteouts;
  if (written_by_layer(target)) {
    // This layer's own entry stays; as a directory it must still hide the lower one.
    auto info = TRY(fs_.lstat(target));
    if (info && info->type == FileType::kDirectory) return set_opaque_xattr(target);
    return {};
  }
  // As in apply_whiteout: under a parent that is not a directory the whiteout names nothing.
  auto parent = fs_.lstat(parent_of(target));
  if (!parent && parent.error().sys_errno() == ENOTDIR) return {};
  if (!parent) return std::unexpected(std::move(parent).error());
  if (*parent && (*parent)->type != FileType::kDirectory && (*parent)->type != FileType::kSymlink &&
      !is_whiteout_node(**parent))
    return {};
  TRY(ensure_parents(target));
  // Anything already there is a whiteout of this layer (the tree started empty).
  if (TRY(fs_.lstat(target))) return {};
  return fs_.mknod(target, FileType::kCharDevice, 0, 0, 0);
}

Status LayerApplier::mark_opaque(const std::string& dir) {
  ++stats_.opaque_dirs;
  if (dir.empty())
    return fail(ErrorKind::kUnsupported,
                "an opaque marker at the layer root has no overlayfs lower-dir form");
  auto info = fs_.lstat(dir);
  if (!info && info.error().sys_errno() == ENOTDIR) return {};
  if (!info) return std::unexpected(std::move(info).error());
  if (*info && (*info)->type != FileType::kDirectory && !is_whiteout_node(**info)) return {};
  // A missing directory is created (its entry, if any, merges later); a whiteout node of this
  // layer becomes an opaque directory in ensure_parents.
  TRY(ensure_parents(join(dir, std::string(kOpaqueWhiteout))));
  return set_opaque_xattr(dir);
}

Status LayerApplier::set_opaque_xattr(const std::string& dir) {
  // Never best effort: without it the lower directory's entries would show through.
  return fs_.set_xattr(dir, kOverlayOpaqueXattr, "y");
}

bool LayerApplier::written_by_layer(const std::string& path) const {
  return written_.contains(path) || ancestors_.contains(path);
}

Status LayerApplier::remove_lower(const std::string& path) {
  if (!written_by_layer(path)) {
    forget_below(path);
    return fs_.remove_all(path);
  }
  auto info = TRY(fs_.lstat(path));
  if (!info || info->type != FileType::kDirectory) return {};
  for (const std::string& name : TRY(fs_.list(path))) TRY(remove_lower(join(path, name)));
  return {};
}

// --- Creating entries -----------------------------------------------------------------------

Status LayerApplier::ensure_parents(const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    auto info = TRY(fs_.lstat(dir));
    if (!info) {
      TRY(fs_.mkdir(dir, 0755));
      continue;
    }
    if (options_.overlay_whiteouts && is_whiteout_node(*info)) {
      // This layer whited out dir and then puts entries in it: an opaque directory.
      TRY(fs_.remove(dir));
      TRY(fs_.mkdir(dir, 0755));
      TRY(set_opaque_xattr(dir));
      continue;
    }
    // A symlink is followed (inside the root) on the way to the entry, as Docker does.
    if (info->type != FileType::kDirectory && info->type != FileType::kSymlink)
      return fail(ErrorKind::kCorrupt, "parent " + dir + " is a " +
                                           std::string(util::file_type_name(info->type)) +
                                           ", not a directory");
  }
  return {};
}

Result<LayerApplier::Room> LayerApplier::make_room(const TarEntry& entry, const std::string& path) {
  if (entry.type == EntryType::kHardLink) {
    std::string target = TRY(clean_layer_path(entry.link_target));
    if (target == path) return fail(ErrorKind::kCorrupt, "hard link to itself");
  }
  auto info = TRY(fs_.lstat(path));
  if (!info) return Room::kEmpty;
  if (info->type == FileType::kDirectory && entry.type == EntryType::kDirectory)
    return Room::kMerge;
  forget_below(path);
  TRY(fs_.remove_all(path));
  return Room::kReplaced;
}

Status LayerApplier::create(const TarEntry& entry, const std::string& path, util::Reader& body) {
  switch (entry.type) {
    case EntryType::kFile:
      return write_file(entry, path, body);
    case EntryType::kDirectory:
      return fs_.mkdir(path, 0700);
    case EntryType::kSymlink:
      ++stats_.symlinks;
      return fs_.symlink(entry.link_target, path);
    case EntryType::kHardLink:
      return make_hard_link(entry, path);
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
    case EntryType::kFifo:
      return make_node(entry, path);
  }
  return fail(ErrorKind::kInternal, "unknown entry type");
}

Status LayerApplier::write_file(const TarEntry& entry, const std::string& path,
                                util::Reader& body) {
  if (entry.size > options_.max_bytes - stats_.bytes)
    return fail(ErrorKind::kLimit,
                "layer contents exceed " + std::to_string(options_.max_bytes) + " bytes");
  // Owner-only until metadata is applied; the final mode comes after chown.
  auto out = TRY(fs_.create_file(path, 0600));
  util::LimitedReader limited(body, entry.size);
  uint64_t copied = TRY(util::copy(limited, *out));
  TRY(out->close());
  if (copied != entry.size)
    return fail(ErrorKind::kCorrupt, "body has " + std::to_string(copied) + " of " +
                                         std::to_string(entry.size) + " bytes");
  stats_.bytes += copied;
  ++stats_.files;
  return {};
}

Status LayerApplier::make_hard_link(const TarEntry& entry, const std::string& path) {
  std::string target =
      TRY_CTX(clean_layer_path(entry.link_target), "hard link target " + entry.link_target);
  if (target.empty()) return fail(ErrorKind::kCorrupt, "hard link to the layer root");
  auto info = TRY(fs_.lstat(target));
  if (!info) return fail(ErrorKind::kNotFound, "hard link target " + target + " does not exist");
  if (info->type == FileType::kDirectory)
    return fail(ErrorKind::kCorrupt, "hard link target " + target + " is a directory");
  ++stats_.hardlinks;
  return fs_.link(target, path);
}

Status LayerApplier::make_node(const TarEntry& entry, const std::string& path) {
  FileType type = entry.type == EntryType::kCharDevice    ? FileType::kCharDevice
                  : entry.type == EntryType::kBlockDevice ? FileType::kBlockDevice
                                                          : FileType::kFifo;
  auto made = fs_.mknod(path, type, entry.mode & 0777, entry.dev_major, entry.dev_minor);
  if (!made && made.error().sys_errno() == EPERM && is_device(entry.type))
    return std::unexpected(std::move(made).error().context(
        "device nodes need CAP_MKNOD outside a user namespace (ApplyOptions::skip_devices "
        "skips them)"));
  if (!made) return made;
  ++stats_.nodes;
  return {};
}

// --- Metadata -------------------------------------------------------------------------------

Status LayerApplier::apply_metadata(const TarEntry& entry, const std::string& path,
                                    bool is_symlink) {
  if (entry.type == EntryType::kHardLink) {
    // A hard link's header describes the linked inode (as Docker and containerd apply it);
    // that inode may itself be a symlink.
    auto info = TRY(fs_.lstat(path));
    is_symlink = info && info->type == FileType::kSymlink;
  }
  if (options_.preserve_owners) TRY(fs_.set_owner(path, entry.uid, entry.gid));
  TRY(apply_xattrs(entry, path));
  if (!is_symlink) TRY(fs_.set_mode(path, entry.mode & 07777));
  if (entry.type == EntryType::kDirectory) {
    ++stats_.directories;
    dir_mtimes_[path] = {entry.mtime_sec, entry.mtime_nsec};
    return {};
  }
  return fs_.set_mtime(path, entry.mtime_sec, entry.mtime_nsec);
}

Status LayerApplier::apply_xattrs(const TarEntry& entry, const std::string& path) {
  for (const auto& [name, value] : entry.xattrs) {
    if (options_.overlay_whiteouts && name.starts_with(kOverlayXattrPrefix)) {
      ++stats_.xattrs_skipped;
      continue;
    }
    auto set = fs_.set_xattr(path, name, value);
    if (set) continue;
    if (xattr_is_best_effort(name, set.error().sys_errno())) {
      ++stats_.xattrs_skipped;
      continue;
    }
    return set;
  }
  return {};
}

// --- Bookkeeping ----------------------------------------------------------------------------

void LayerApplier::record(const std::string& path) {
  written_.insert(path);
  for (std::string dir = parent_of(path); !dir.empty(); dir = parent_of(dir)) {
    if (!ancestors_.insert(dir).second) break;
  }
}

void LayerApplier::forget_below(const std::string& path) {
  dir_mtimes_.erase(path);
  std::string prefix = path + "/";
  auto it = dir_mtimes_.lower_bound(prefix);
  while (it != dir_mtimes_.end() && it->first.starts_with(prefix)) it = dir_mtimes_.erase(it);
}

Result<ApplyStats> LayerApplier::finish() {
  for (const auto& [path, mtime] : dir_mtimes_) {
    // A later entry may have replaced the directory through a symlinked parent; only
    // directories get a directory's mtime.
    auto info = TRY(fs_.lstat(path));
    if (!info || info->type != FileType::kDirectory) continue;
    TRY_CTX(fs_.set_mtime(path, mtime.first, mtime.second), "layer directory " + path);
  }
  dir_mtimes_.clear();
  return stats_;
}

Result<ApplyStats> apply_layer(TarReader& tar, util::TreeFs& fs, const ApplyOptions& options) {
  LayerApplier applier(fs, options);
  for (;;) {
    std::optional<TarEntry> entry = TRY(tar.next());
    if (!entry) break;
    TRY(applier.apply(*entry, tar.body()));
  }
  return applier.finish();
}

}  // namespace bonsai::archive
