// Internals shared by the copy_*.cc files (and users.cc): resolving paths inside a TreeFs,
// expanding COPY sources and walking them. Not part of the build module's interface.
//
// Both hash_copy_sources and copy_files go through plan_sources and walk_source, so what is
// hashed is exactly what is copied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "build/copy.h"
#include "dockerfile/dockerignore.h"
#include "util/error.h"
#include "util/fs.h"

namespace bonsai::build::copy_detail {

// The non-empty components of a '/'-separated path.
std::vector<std::string> split_path(std::string_view path);
// "a" + "b" => "a/b"; either side may be "" (the root).
std::string join_path(std::string_view a, std::string_view b);
// "a/b/c" => "a/b"; "a" => "".
std::string_view parent_path(std::string_view path);
// "a/b/c" => "c".
std::string_view base_name(std::string_view path);
// Any path ("/x", "./a/../b/", "") as the clean relative path a TreeFs takes: ".." stops at
// the root, the root is "".
std::string clean_tree_path(std::string_view path);

// True when a path component holds an unescaped filepath.Match wildcard (* ? or [).
bool has_wildcards(std::string_view component);

// Resolves path (clean, see clean_tree_path) in fs the way RESOLVE_IN_ROOT does: every symlink
// met on the way is followed inside the root (an absolute target starts again at the root,
// ".." stops there), the last component too when follow_last. Returns a clean path that holds
// no symlink (but for an unfollowed last component); the components from the first missing one
// on are kept as written. Fails after 40 symlinks (ELOOP) or below a non-directory (ENOTDIR).
util::Result<std::string> resolve_in_root(util::TreeFs& fs, std::string_view path,
                                          bool follow_last);

// Which source paths (relative to the source root, symlinks resolved) a COPY leaves out: the
// --exclude patterns and the build context's .dockerignore.
class SourceFilter {
 public:
  SourceFilter(const dockerfile::IgnoreMatcher* excludes, const dockerfile::IgnoreMatcher* ignore)
      : excludes_(excludes), ignore_(ignore) {}
  // Left out of the copy: .dockerignore matches path (in the context); --exclude matches rel,
  // the path below the matched source, as BuildKit's copier does, and never the source itself.
  bool excluded(std::string_view path, std::string_view rel) const;
  // Absent from the build context (the .dockerignore matches it): named as a source, it is not
  // found. A directory stays visible while exception patterns may bring back something in it.
  bool ignored(std::string_view path, const util::FileInfo& info) const;
  // Some pattern is an exception, so an excluded directory must still be walked.
  bool has_exceptions() const;

 private:
  const dockerfile::IgnoreMatcher* excludes_;
  const dockerfile::IgnoreMatcher* ignore_;
};

// One path a COPY source names or matched.
struct MatchedSource {
  std::string path;     // in the source tree, clean, symlinks resolved
  std::string logical;  // as written or matched, cleaned, before following symlinks
  std::string name;     // the last component of logical (a followed link's own name)
  std::string kept;     // --parents: the path kept below the destination
  util::FileInfo info;
};

struct SourcePlan {
  std::vector<MatchedSource> sources;  // in the order of the request, each source's matches sorted
};

// Expands request.sources (wildcards, symlinks, --parents pivots). A source naming nothing, or a
// pattern matching nothing, is kNotFound; a malformed pattern kInvalidArgument.
util::Result<SourcePlan> plan_sources(util::TreeFs& src, const CopyRequest& request,
                                      const SourceFilter& filter);

// One entry below a matched source, in walk order (a directory before what it holds).
struct SourceEntry {
  std::string path;  // in the source tree
  std::string rel;   // below the source: "" for the source itself
  util::FileInfo info;
};

// The source itself and, for a directory, everything below it, symlinks not followed, minus
// what the filter leaves out. An excluded directory is left out whole unless the filter has
// exceptions; it is then walked and kept only when something below it is kept.
util::Result<std::vector<SourceEntry>> walk_source(util::TreeFs& src, const MatchedSource& source,
                                                   const SourceFilter& filter);

// The --exclude patterns compiled, or nullopt when there are none.
util::Result<std::optional<dockerfile::IgnoreMatcher>> compile_excludes(const CopyRequest& request);

// ADD: whether the regular file at path is a tar archive, plain or compressed with gzip, zstd,
// xz or bzip2 (detected by content).
util::Result<bool> is_tar_archive(util::TreeFs& src, const std::string& path);
// Extracts the archive at path into the directory dest_dir of dst, keeping the archive's owners
// and modes (archive::apply_layer confined to dest_dir).
util::Status extract_archive(util::TreeFs& src, const std::string& path, util::TreeFs& dst,
                             const std::string& dest_dir);

}  // namespace bonsai::build::copy_detail
