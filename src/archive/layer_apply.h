// Applying an image layer (a tar stream) to a directory tree: the OCI image-spec changeset
// semantics with Docker's and containerd's replacement rules, made safe for hostile layers.
//
// The tree is a util::TreeFs, whose implementations confine every path to the tree's root
// (sys::RootFs uses openat2 with RESOLVE_IN_ROOT), so a symlink written by the layer can be
// followed on the way to a later entry but never leads outside. On top of that this module
// rejects entries that only a hostile or broken layer contains. docs/layer-apply.md is the full
// description; in short:
//
//  * Paths are cleaned lexically: "a/../b" is "b"; a path or hard-link target whose ".."
//    climbs above the root, or whose cleaned form is the root, is a kCorrupt error. A leading
//    "/" on a hard-link target means the layer root ("/etc/passwd" links to etc/passwd).
//  * The root entry ("./") is ignored when it is a directory, as Docker and containerd do; a
//    root entry of any other type (a symlink to "/", say) is a kCorrupt error.
//  * "<dir>/.wh.<name>" deletes <name> as the lower layers had it; "<dir>/.wh..wh..opq" deletes
//    everything the lower layers had under <dir>. Entries of this layer are never deleted by a
//    whiteout of this layer, whatever the order of the entries. Whiteout entries are not
//    created. Other ".wh..wh." names, ".wh." naming "." or "..", and ".wh." names used as a
//    directory are kCorrupt errors.
//  * An entry replaces whatever is at its path (the whole tree, for a directory), except that a
//    directory entry over a directory only updates the directory's metadata.
//  * Missing parent directories are created with mode 0755.
//  * Metadata is applied in the order the kernel needs: owner, xattrs, mode (after chown, which
//    clears setuid and security.capability), then mtime; directory mtimes at finish(), after
//    their children are in place.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "archive/tar.h"
#include "util/fs.h"

namespace bonsai::archive {

struct ApplyOptions {
  // lchown each entry to its numeric uid/gid. Turn off where most ids cannot be mapped.
  bool preserve_owners = true;
  // Character and block devices are skipped (and counted) instead of created: mknod of a device
  // fails with EPERM inside a user namespace. Fifos are always created.
  bool skip_devices = false;
  // Writes the layer as an overlayfs lower directory instead of applying it to the tree below:
  // "<dir>/.wh.<name>" becomes a 0:0 character device <name>, and "<dir>/.wh..wh..opq" sets
  // trusted.overlay.opaque=y on <dir>, so that a read-only overlay mount of such directories
  // (top layer first) shows the image. REQUIRES: the tree is empty (one directory per layer);
  // nothing is deleted. A whiteout and an entry of the same layer at one path keep the entry,
  // made opaque if it is a directory. The layer's own "trusted.overlay.*" xattrs are dropped
  // (counted in xattrs_skipped) so a layer cannot steer the overlay. Setting the opaque xattr
  // needs CAP_SYS_ADMIN and is never best effort; an opaque marker at the layer root cannot be
  // expressed (overlayfs ignores it on a layer root) and is a kUnsupported error.
  bool overlay_whiteouts = false;
  // Bomb guards, ErrorKind::kLimit when exceeded: entries in the layer, and bytes of regular
  // file contents written. (Header sizes are bounded by TarLimits; decompression is bounded by
  // the decompressor.)
  uint64_t max_entries = 4'000'000;
  uint64_t max_bytes = uint64_t{256} << 30;
};

struct ApplyStats {
  uint64_t entries = 0;      // entries seen, whiteouts and skipped ones included
  uint64_t files = 0;        // regular files written
  uint64_t directories = 0;  // directory entries created or updated
  uint64_t symlinks = 0;
  uint64_t hardlinks = 0;
  uint64_t nodes = 0;           // devices and fifos created
  uint64_t whiteouts = 0;       // ".wh.<name>" entries
  uint64_t opaque_dirs = 0;     // ".wh..wh..opq" entries
  uint64_t skipped = 0;         // root directory entries and skipped devices
  uint64_t xattrs_skipped = 0;  // see LayerApplier::apply
  uint64_t bytes = 0;           // regular file bytes written
};

// Applies entries one at a time; apply_layer() drives it from a TarReader. Other producers of
// entries (a build's COPY) can drive it directly.
//
// Thread-safety: none; one applier per tree at a time.
class LayerApplier {
 public:
  // fs must outlive the applier.
  explicit LayerApplier(util::TreeFs& fs, ApplyOptions options = {});

  // Applies one entry. body yields a kFile entry's contents (entry.size bytes); it is read only
  // for regular files that are written. Errors read "layer entry <index> (<path>): ..." with the
  // 0-based index of the entry in this applier.
  //
  // Extended attributes are best effort where the target cannot hold them: ENOTSUP/EOPNOTSUPP
  // for any name, and EPERM for "security.*" and "trusted.*" names (unprivileged or
  // user-namespace unpacking), are counted in xattrs_skipped; any other failure is an error.
  // On error the tree may hold part of the layer; callers unpack into a fresh snapshot and
  // discard it on failure.
  Status apply(const TarEntry& entry, util::Reader& body);

  // Sets the deferred directory mtimes and returns the counts. Call once, after the last entry.
  Result<ApplyStats> finish();

 private:
  Status apply_entry(const TarEntry& entry, const std::string& path, util::Reader& body);
  Status apply_whiteout(const std::string& entry_path);
  Status apply_opaque(const std::string& dir);
  // The overlay_whiteouts forms of the two above.
  Status write_whiteout_node(const std::string& target);
  Status mark_opaque(const std::string& dir);
  Status set_opaque_xattr(const std::string& dir);
  // Removes what the lower layers have at path, keeping this layer's own entries below it.
  Status remove_lower(const std::string& path);
  bool written_by_layer(const std::string& path) const;
  Status ensure_parents(const std::string& path);
  // What make_room found at an entry's path.
  enum class Room { kEmpty, kMerge, kReplaced };
  // Removes what is at path unless the entry may merge with it.
  Result<Room> make_room(const TarEntry& entry, const std::string& path);
  Status create(const TarEntry& entry, const std::string& path, util::Reader& body);
  Status write_file(const TarEntry& entry, const std::string& path, util::Reader& body);
  Status make_hard_link(const TarEntry& entry, const std::string& path);
  Status make_node(const TarEntry& entry, const std::string& path);
  Status apply_metadata(const TarEntry& entry, const std::string& path, bool is_symlink);
  Status apply_xattrs(const TarEntry& entry, const std::string& path);
  void record(const std::string& path);
  void forget_below(const std::string& path);

  util::TreeFs& fs_;
  ApplyOptions options_;
  ApplyStats stats_;
  // Paths this layer created, and every directory above them: whiteouts must spare them.
  std::set<std::string> written_;
  std::set<std::string> ancestors_;
  // Directory mtimes to set in finish(), by path.
  std::map<std::string, std::pair<int64_t, uint32_t>> dir_mtimes_;
};

// Reads every entry of tar and applies it to fs (see LayerApplier). On success returns the
// counts; on failure the first error, naming the entry index and path.
Result<ApplyStats> apply_layer(TarReader& tar, util::TreeFs& fs, const ApplyOptions& options = {});

// Cleans a layer path lexically: drops empty and "." components, resolves ".." and a leading
// "/", giving a path util::TreeFs accepts. Fails with kCorrupt if ".." climbs above the root.
Result<std::string> clean_layer_path(std::string_view path);

}  // namespace bonsai::archive
