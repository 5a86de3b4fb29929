// Turning an overlayfs upper directory into the changes of an image layer.
//
// After a RUN step the upper directory holds exactly what the command changed, in overlayfs'
// own encoding; diff_overlay_upper() walks it and emits the layer's entries in the OCI encoding:
//
//   upper directory                                   layer entries
//   ------------------------------------------------  ----------------------------------------
//   character device 0:0 "d/x" (a deletion)           kWhiteout "d/.wh.x"
//   directory "d" with trusted.overlay.opaque="y"     kDirectory "d", then kOpaque
//     (a directory that replaced a lower one)           "d/.wh..wh..opq"
//   directory copied up to hold a change ("d")        kDirectory "d" (as Docker does)
//   regular file, symlink, device, fifo               the same, with numeric owner and xattrs
//   second path of an inode (same dev and inode)      kHardLink to the first path in order
//
// Entries come in byte-wise order of their paths (so a directory precedes its contents), which
// makes the layer deterministic. xattrs named trusted.overlay.* are overlayfs' bookkeeping and
// are dropped; sockets cannot be stored in a layer and are skipped. Paths are relative, without
// a leading "./". The root directory itself is not emitted.
//
// This module sits below archive/, so entries are handed to a callback rather than a
// TarWriter; archive-level code maps a DiffEntry to a TarEntry one to one (kWhiteout and
// kOpaque as empty regular files named by `path`).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "util/error.h"
#include "util/fs.h"
#include "util/io.h"

namespace bonsai::sys {

enum class DiffEntryKind {
  kRegular,
  kDirectory,
  kSymlink,
  kHardLink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kWhiteout,  // path is "<dir>/.wh.<name>"
  kOpaque,    // path is "<dir>/.wh..wh..opq"
};

struct DiffEntry {
  std::string path;
  DiffEntryKind kind = DiffEntryKind::kRegular;
  // Of the file in the upper directory (mtime clamped if asked). For kWhiteout and kOpaque:
  // mode 0, owner 0, the mtime of the whiteout or of the opaque directory.
  util::FileInfo info;
  std::string link_target;  // kSymlink: the target as stored; kHardLink: the first path
  std::map<std::string, std::string> xattrs;
};

struct DiffOptions {
  // Layer paths left out with everything below them.
  std::set<std::string> exclude;
  // SOURCE_DATE_EPOCH: later mtimes are reported as this, with no fraction.
  std::optional<int64_t> clamp_mtime;
};

// Receives each entry; body is the content of a kRegular entry (info.size bytes), null for every
// other kind. An error stops the walk and is returned by diff_overlay_upper().
using DiffSink = std::function<util::Status(const DiffEntry& entry, util::Reader* body)>;

// Walks upper_dir (never following symlinks) and emits its entries to sink as described above.
// Errors name the operation and the path.
util::Status diff_overlay_upper(const std::string& upper_dir, const DiffOptions& options,
                                const DiffSink& sink);

}  // namespace bonsai::sys
