// Paths inside a TreeFs for COPY: cleaning, resolving symlinks inside the root, and walking a
// source with its exclude filter.
#include <algorithm>
#include <cerrno>

#include "build/copy_internal.h"

namespace bonsai::build::copy_detail {

using util::FileInfo;
using util::FileType;
using util::Result;

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel (and RESOLVE_IN_ROOT) allows

std::string join_parts(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string join_path(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  out += '/';
  out += b;
  return out;
}

std::string_view parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string clean_tree_path(std::string_view path) {
  std::string rooted = dockerfile::clean_path("/" + std::string(path));
  return rooted.substr(1);
}

Result<std::string> resolve_in_root(util::TreeFs& fs, std::string_view path, bool follow_last) {
  std::vector<std::string> done;
  std::vector<std::string> todo = split_path(path);
  std::reverse(todo.begin(), todo.end());  // a stack: the next component at the back
  int links = 0;
  bool missing = false;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(part));
    if (missing) continue;
    std::string cur = join_parts(done);
    std::optional<FileInfo> info = TRY(fs.lstat(cur));
    if (!info) {
      missing = true;  // the rest cannot hold symlinks: keep it as written
      continue;
    }
    if (info->type == FileType::kSymlink && (follow_last || !todo.empty())) {
      if (++links > kMaxSymlinks) return util::sys_fail("resolve " + std::string(path), ELOOP);
      std::string target = TRY(fs.read_link(cur));
      done.pop_back();
      if (target.starts_with('/')) done.clear();
      std::vector<std::string> more = split_path(target);
      todo.insert(todo.end(), more.rbegin(), more.rend());
      continue;
    }
    if (info->type != FileType::kDirectory && !todo.empty())
      return util::sys_fail("resolve " + std::string(path), ENOTDIR);
  }
  return join_parts(done);
}

bool SourceFilter::excluded(std::string_view path, std::string_view rel) const {
  return (excludes_ && !rel.empty() && excludes_->excluded(rel)) ||
         (ignore_ && ignore_->excluded(path));
}

bool SourceFilter::ignored(std::string_view path, const FileInfo& info) const {
  if (!ignore_ || !ignore_->excluded(path)) return false;
  return !(info.type == FileType::kDirectory && ignore_->has_exceptions());
}

bool SourceFilter::has_exceptions() const {
  return (excludes_ && excludes_->has_exceptions()) || (ignore_ && ignore_->has_exceptions());
}

namespace {

// Appends the entries below the directory `dir` (whose entry is already in out).
util::Status walk_dir(util::TreeFs& src, const std::string& dir, const std::string& rel,
                      const SourceFilter& filter, std::vector<SourceEntry>& out) {
  for (util::TreeFs::DirEntry& entry : TRY(src.list_info(dir))) {
    const std::string& name = entry.name;
    std::string path = join_path(dir, name);
    std::string entry_rel = join_path(rel, name);
    std::optional<FileInfo> info = entry.info;
    bool excluded = filter.excluded(path, entry_rel);
    if (excluded && (info->type != FileType::kDirectory || !filter.has_exceptions())) continue;
    size_t mark = out.size();
    out.push_back({path, std::move(entry_rel), *info});
    if (info->type != FileType::kDirectory) continue;
    // A copy: out grows (and may move) while the subdirectory is walked.
    std::string sub_rel = out.back().rel;
    TRY(walk_dir(src, path, sub_rel, filter, out));
    // An excluded directory walked only for its exceptions is kept only if they kept something.
    if (excluded && out.size() == mark + 1) out.pop_back();
  }
  return {};
}

}  // namespace

Result<std::vector<SourceEntry>> walk_source(util::TreeFs& src, const MatchedSource& source,
                                             const SourceFilter& filter) {
  std::vector<SourceEntry> out;
  bool excluded = filter.excluded(source.path, "");
  bool is_dir = source.info.type == FileType::kDirectory;
  if (excluded && (!is_dir || !filter.has_exceptions())) return out;
  out.push_back({source.path, "", source.info});
  if (!is_dir) return out;
  TRY_CTX(walk_dir(src, source.path, "", filter, out), "walk /" + source.path);
  if (excluded && out.size() == 1) out.clear();
  return out;
}

Result<std::optional<dockerfile::IgnoreMatcher>> compile_excludes(const CopyRequest& request) {
  if (request.excludes.empty()) return std::nullopt;
  return TRY_CTX(dockerfile::IgnoreMatcher::compile(request.excludes), "--exclude");
}

}  // namespace bonsai::build::copy_detail
