// COPY and ADD on file trees: which source files a COPY names, what they hash to for the build
// cache, and copying them into the image, with the rules of the reference builder (BuildKit).
//
// Both trees are util::TreeFs, so a source can never escape its root through a symlink (the
// build context and other stages are opened as sys::RootFs) and the destination is the image's
// merged overlay view. Rules implemented here (docs/build.md lists them with examples):
//
// - Sources are relative to the source root ("/x" and "x" are the same; ".." stops at the root).
//   A source may hold Go filepath.Match wildcards (* ? [a-z] [^a-z] \x) in any component; matches
//   are sorted. A source that matches nothing is kNotFound naming it.
// - A symlink named directly as a source is followed (inside the root); symlinks found while
//   walking a directory are copied as symlinks. Hard links inside one COPY stay hard links.
// - A directory source copies its contents, not the directory itself (unless parents is set).
// - The destination is a directory when it ends in '/', when it already is one (a symlink to a
//   directory counts), or when there is more than one source match; otherwise a single file
//   source is copied to exactly that path. A directory source onto an existing non-directory is
//   an error.
// - Missing parent directories of the destination are created 0755, owned by chown when given,
//   else root.
// - Copied entries keep their permission bits (07777) and mtime. Owners become chown when
//   given, else 0:0 for the build context (preserve_owners false) or the source's own owners
//   (COPY --from: preserve_owners true). chmod, when given, sets the permission bits of every
//   copied file and directory (see ChmodSpec).
// - excludes (--exclude) are .dockerignore-syntax patterns matched against each entry's path
//   below the source that named it (for `COPY --exclude=*.md docs/ /d/`, "a.md" in docs/), never
//   against the source itself, as BuildKit's copier matches them; ignore (.dockerignore, build
//   context only) is matched against the path in the context. An excluded directory is skipped
//   whole unless the matcher has exception patterns.
// - parents (--parents): the source's path below the root is kept under the destination; a
//   "/./" in a source marks where the kept part starts.
// - unpack_archives (ADD): a regular-file source that is a tar archive (plain, gzip, bzip2, xz or
//   zstd; detected by content, not name) is extracted into the destination directory instead of
//   copied, keeping the owners and modes in the archive.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/dockerignore.h"
#include "util/error.h"
#include "util/fs.h"

namespace bonsai::build {

// --chmod: octal bits ("0755"), which replace each file's permission bits, or chmod(1)
// symbolic clauses ("u+x,go-w", "a=rX", "+x"), applied to each file's own bits as BuildKit
// (Dockerfile 1.14) applies them. Who defaults to a (no umask); X adds execute to directories
// and to files that already have an execute bit; the permission may also copy another class
// ("g=u").
class ChmodSpec {
 public:
  static util::Result<ChmodSpec> parse(std::string_view text);
  static ChmodSpec octal(uint32_t bits);
  uint32_t apply(uint32_t mode, bool is_dir) const;  // the new permission bits (07777)

 private:
  struct Action {
    uint32_t who = 0;      // mask of the classes: 04700 u, 02070 g, 00007 o (+ 01000 for t)
    char op = '+';         // + - =
    uint32_t perms = 0;    // r w x s t as bits over all classes (0 when copying a class)
    bool exec_if = false;  // X
    char copy = 0;         // u g o: the permission is that class's current bits
  };
  std::optional<uint32_t> octal_;
  std::vector<Action> actions_;
};

struct CopyRequest {
  std::vector<std::string> sources;  // as written after expansion, relative to the source root
  std::string dest;                  // absolute path in the image (WORKDIR already applied)
  std::optional<uint32_t> uid, gid;  // --chown, resolved to numbers
  std::optional<ChmodSpec> chmod;    // --chmod
  bool preserve_owners = false;      // true for COPY --from
  std::vector<std::string> excludes;
  bool parents = false;
  bool unpack_archives = false;
  const dockerfile::IgnoreMatcher* ignore = nullptr;  // .dockerignore of the build context
};

// A cache of content digests of files that have not changed, keyed by what stat tells: the
// build keeps one per build context in the metadata database, so that a rebuild re-reads only
// files whose size, mtime or inode changed.
class ContentHashCache {
 public:
  virtual ~ContentHashCache() = default;
  // The sha256 hex of the file's content when it was hashed with exactly this path and info.
  virtual std::optional<std::string> get(const std::string& path, const util::FileInfo& info) = 0;
  virtual void put(const std::string& path, const util::FileInfo& info,
                   const std::string& sha256_hex) = 0;
};

// The sha256 hex digest of everything the COPY would read: for each entry, in a fixed order, its
// path relative to the destination, type, permission bits, owners (only when preserve_owners),
// size, link target and content digest. mtimes are left out, as BuildKit leaves them out.
// Errors as copy_files would report them (a missing source, a bad pattern).
util::Result<std::string> hash_copy_sources(util::TreeFs& src, const CopyRequest& request,
                                            ContentHashCache* cache = nullptr);

// Performs the COPY from src into dst. Errors name the source or destination path.
util::Status copy_files(util::TreeFs& src, util::TreeFs& dst, const CopyRequest& request);

// Go's filepath.Match for one '/'-separated path (a * never crosses '/'). A malformed pattern
// is kInvalidArgument.
util::Result<bool> match_pattern(std::string_view pattern, std::string_view name);

}  // namespace bonsai::build
