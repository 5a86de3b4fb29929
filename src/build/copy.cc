// copy_files: writing a COPY's sources into the image tree with BuildKit's rules (fsutil's
// copy.Copy with CopyDirContents, FollowLinks and CreateDestPath), over two TreeFs so that
// neither tree can be left through a symlink. docs/copy.md describes the rules with examples.
//
// Passes: expand the sources (copy_sources.cc); resolve the destination and decide whether it
// is a directory; per source, pick its target path, create missing parents and copy its
// entries in walk order (a directory before its contents); last, set the modes and mtimes of
// the directories written, which adding their children would otherwise have changed.
#include <map>

#include "build/copy_internal.h"

namespace bonsai::build {

using util::ErrorKind;
using util::FileInfo;
using util::FileType;
using util::Result;
using util::Status;

namespace {

using copy_detail::join_path;
using copy_detail::MatchedSource;
using copy_detail::SourceEntry;

class Copier {
 public:
  Copier(util::TreeFs& src, util::TreeFs& dst, const CopyRequest& request)
      : src_(src), dst_(dst), request_(request) {}

  Status run(const copy_detail::SourcePlan& plan, const copy_detail::SourceFilter& filter) {
    std::string logical = copy_detail::clean_tree_path(request_.dest);
    bool slash = logical.empty() || request_.dest.ends_with('/') || request_.dest.ends_with("/.");
    dest_ =
        TRY_CTX(copy_detail::resolve_in_root(dst_, logical, true), "destination " + request_.dest);
    std::optional<FileInfo> info = TRY(dst_.lstat(dest_));
    bool want_dir = slash || plan.sources.size() > 1 || request_.parents;
    if (want_dir) TRY(make_dirs(dest_));
    dest_is_dir_ = want_dir || (info && info->type == FileType::kDirectory);
    for (const MatchedSource& source : plan.sources) {
      std::vector<SourceEntry> entries = TRY(copy_detail::walk_source(src_, source, filter));
      if (!entries.empty()) TRY(copy_source(source, entries));
    }
    return finish();
  }

 private:
  // Directory metadata set once everything is written.
  struct DirMeta {
    std::optional<uint32_t> mode;  // unset: an existing destination keeps its mode
    int64_t mtime_sec = 0;
    uint32_t mtime_nsec = 0;
  };

  Status copy_source(const MatchedSource& source, const std::vector<SourceEntry>& entries) {
    if (request_.unpack_archives && source.info.type == FileType::kRegular &&
        TRY(copy_detail::is_tar_archive(src_, source.path))) {
      TRY(make_dirs(dest_));
      return copy_detail::extract_archive(src_, source.path, dst_, dest_);
    }
    std::string target;
    bool merge_into_dest = false;  // a directory's contents into the destination itself
    if (request_.parents) {
      target = join_path(dest_, source.kept);
      merge_into_dest = source.kept.empty();  // "./" keeps nothing: the contents, as without
      TRY(make_kept_dirs(source));
    } else if (source.info.type == FileType::kDirectory) {
      target = dest_;
      merge_into_dest = true;
      TRY(make_dirs(copy_detail::parent_path(dest_)));
    } else {
      target = dest_is_dir_ ? join_path(dest_, source.name) : dest_;
      TRY(make_dirs(copy_detail::parent_path(target)));
    }
    for (const SourceEntry& e : entries) {
      TRY_CTX(copy_entry(e, join_path(target, e.rel), merge_into_dest && e.rel.empty()),
              "copy /" + e.path);
    }
    return {};
  }

  uint32_t mode_of(const FileInfo& info) const {
    return request_.chmod
               ? request_.chmod->apply(info.mode, info.type == util::FileType::kDirectory)
               : info.mode & 07777;
  }

  Status set_owner(const std::string& target, const FileInfo& info) {
    uint32_t uid = request_.preserve_owners ? info.uid : 0;
    uint32_t gid = request_.preserve_owners ? info.gid : 0;
    return dst_.set_owner(target, request_.uid.value_or(uid), request_.gid.value_or(gid));
  }

  static std::unexpected<util::Error> not_a_directory(const std::string& path,
                                                      const FileInfo& info) {
    return util::fail(
        ErrorKind::kAlreadyExists,
        "/" + path + " is a " + std::string(util::file_type_name(info.type)) + ", not a directory");
  }

  // mkdir -p: missing directories are created 0755, owned by --chown or root.
  Status make_dirs(std::string_view path) {
    std::string cur;
    for (const std::string& part : copy_detail::split_path(path)) {
      cur = join_path(cur, part);
      std::optional<FileInfo> info = TRY(dst_.lstat(cur));
      if (info && info->type == FileType::kDirectory) continue;
      if (info) return not_a_directory(cur, *info);
      TRY(dst_.mkdir(cur, 0755));
      TRY(dst_.set_owner(cur, request_.uid.value_or(0), request_.gid.value_or(0)));
      TRY(dst_.set_mode(cur, 0755));
    }
    return {};
  }

  // --parents: the directories between the destination and a source's kept path, created like
  // the source directories they stand for (mode, owners, mtime) when missing.
  Status make_kept_dirs(const MatchedSource& source) {
    std::vector<std::string> kept = copy_detail::split_path(source.kept);
    std::vector<std::string> logical = copy_detail::split_path(source.logical);
    if (kept.empty()) return {};
    std::string dir = dest_;
    std::string src_dir;
    for (size_t i = 0; i + kept.size() < logical.size(); ++i)
      src_dir = join_path(src_dir, logical[i]);
    for (size_t i = 0; i + 1 < kept.size(); ++i) {
      dir = join_path(dir, kept[i]);
      src_dir = join_path(src_dir, kept[i]);
      std::optional<FileInfo> info = TRY(dst_.lstat(dir));
      if (info && info->type == FileType::kDirectory) continue;
      if (info) return not_a_directory(dir, *info);
      std::string resolved = TRY(copy_detail::resolve_in_root(src_, src_dir, true));
      std::optional<FileInfo> like = TRY(src_.lstat(resolved));
      if (!like || like->type != FileType::kDirectory) {
        TRY(make_dirs(dir));
        continue;
      }
      TRY(dst_.mkdir(dir, 0700));
      TRY(set_owner(dir, *like));
      dirs_[dir] = {mode_of(*like), like->mtime_sec, like->mtime_nsec};
    }
    return {};
  }

  Status copy_entry(const SourceEntry& e, const std::string& target, bool merge_into_dest) {
    std::optional<FileInfo> existing = TRY(dst_.lstat(target));
    if (e.info.type == FileType::kDirectory) return copy_dir(e, target, existing, merge_into_dest);
    if (existing && existing->type == FileType::kDirectory) {
      return util::fail(ErrorKind::kAlreadyExists,
                        "cannot replace directory /" + target + " with a " +
                            std::string(util::file_type_name(e.info.type)));
    }
    if (existing) TRY(dst_.remove(target));
    switch (e.info.type) {
      case FileType::kRegular:
        if (TRY(copy_regular(e, target))) return {};  // a hard link shares the first's metadata
        break;
      case FileType::kSymlink: {
        std::string link = TRY(src_.read_link(e.path));
        TRY(dst_.symlink(link, target));
        break;
      }
      case FileType::kCharDevice:
      case FileType::kBlockDevice:
      case FileType::kFifo:
        TRY(dst_.mknod(target, e.info.type, mode_of(e.info), e.info.rdev_major, e.info.rdev_minor));
        break;
      case FileType::kSocket:
        return {};  // a socket cannot be copied (nor put in a layer): skipped, as Docker does
      case FileType::kDirectory:
        break;
    }
    // Owner before mode: chown clears setuid and setgid.
    TRY(set_owner(target, e.info));
    if (e.info.type != FileType::kSymlink) TRY(dst_.set_mode(target, mode_of(e.info)));
    return dst_.set_mtime(target, e.info.mtime_sec, e.info.mtime_nsec);
  }

  Status copy_dir(const SourceEntry& e, const std::string& target,
                  const std::optional<FileInfo>& existing, bool merge_into_dest) {
    if (existing && existing->type != FileType::kDirectory) {
      return util::fail(ErrorKind::kAlreadyExists,
                        "cannot copy a directory onto " +
                            std::string(util::file_type_name(existing->type)) + " /" + target);
    }
    if (existing && merge_into_dest) {
      // The destination directory keeps its metadata; its mtime is put back afterwards.
      dirs_.try_emplace(target, DirMeta{std::nullopt, existing->mtime_sec, existing->mtime_nsec});
      return {};
    }
    if (!existing) TRY(dst_.mkdir(target, 0700));  // exact mode in finish(), after the contents
    TRY(set_owner(target, e.info));
    dirs_[target] = {mode_of(e.info), e.info.mtime_sec, e.info.mtime_nsec};
    return {};
  }

  // Writes a regular file, or links it to the copy of an earlier path of the same inode.
  // Returns whether it was linked.
  Result<bool> copy_regular(const SourceEntry& e, const std::string& target) {
    auto key = std::make_pair(e.info.dev, e.info.ino);
    if (e.info.nlink > 1) {
      if (auto it = links_.find(key); it != links_.end()) {
        TRY(dst_.link(it->second, target));
        return true;
      }
    }
    std::unique_ptr<util::Reader> in = TRY(src_.open_read(e.path));
    std::unique_ptr<util::Writer> out = TRY(dst_.create_file(target, 0600));
    TRY(util::copy(*in, *out));
    TRY(out->close());
    if (e.info.nlink > 1) links_[key] = target;
    return false;
  }

  Status finish() {
    for (const auto& [path, meta] : dirs_) {
      if (meta.mode) TRY(dst_.set_mode(path, *meta.mode));
      TRY(dst_.set_mtime(path, meta.mtime_sec, meta.mtime_nsec));
    }
    return {};
  }

  util::TreeFs& src_;
  util::TreeFs& dst_;
  const CopyRequest& request_;
  std::string dest_;  // the destination, resolved in dst
  bool dest_is_dir_ = false;
  std::map<std::string, DirMeta> dirs_;
  // Source inodes with more than one link, by (dev, ino): the path of their first copy.
  std::map<std::pair<uint64_t, uint64_t>, std::string> links_;
};

}  // namespace

ChmodSpec ChmodSpec::octal(uint32_t bits) {
  ChmodSpec spec;
  spec.octal_ = bits & 07777;
  return spec;
}

Result<ChmodSpec> ChmodSpec::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return util::fail(ErrorKind::kInvalidArgument,
                      "--chmod=" + std::string(text) + ": " + std::string(why));
  };
  if (text.empty()) return bad("empty mode");
  if (text.find_first_not_of("01234567") == std::string_view::npos) {
    if (text.size() > 5) return bad("octal mode too large");
    uint32_t bits = 0;
    for (char c : text) bits = bits * 8 + static_cast<uint32_t>(c - '0');
    if (bits > 07777) return bad("octal mode too large");
    return octal(bits);
  }
  // clause := [ugoa]* (op [rwxXst]* | op [ugo])+ ; clauses separated by ','.
  ChmodSpec spec;
  size_t i = 0;
  while (true) {
    uint32_t who = 0;
    for (; i < text.size() && std::string_view("ugoa").find(text[i]) != std::string_view::npos; ++i)
      who |= text[i] == 'u' ? 04700u : text[i] == 'g' ? 02070u : text[i] == 'o' ? 01007u : 07777u;
    if (who == 0) who = 07777;
    if (i >= text.size() || std::string_view("+-=").find(text[i]) == std::string_view::npos)
      return bad("expected an octal mode or [ugoa][+-=][rwxXst] clauses, like u+x,go-w");
    while (i < text.size() && std::string_view("+-=").find(text[i]) != std::string_view::npos) {
      Action a;
      a.who = who;
      a.op = text[i++];
      if (i < text.size() && std::string_view("ugo").find(text[i]) != std::string_view::npos) {
        a.copy = text[i++];
      } else {
        for (;
             i < text.size() && std::string_view("rwxXst").find(text[i]) != std::string_view::npos;
             ++i) {
          switch (text[i]) {
            case 'r':
              a.perms |= 0444;
              break;
            case 'w':
              a.perms |= 0222;
              break;
            case 'x':
              a.perms |= 0111;
              break;
            case 'X':
              a.exec_if = true;
              break;
            case 's':
              a.perms |= 06000;
              break;
            case 't':
              a.perms |= 01000;
              break;
          }
        }
      }
      spec.actions_.push_back(a);
    }
    if (i == text.size()) break;
    if (text[i] != ',' || i + 1 == text.size())
      return bad("unexpected '" + std::string(1, text[i]) + "'");
    ++i;
  }
  return spec;
}

uint32_t ChmodSpec::apply(uint32_t mode, bool is_dir) const {
  if (octal_) return *octal_;
  uint32_t bits = mode & 07777;
  const bool had_exec = (mode & 0111) != 0;
  for (const Action& a : actions_) {
    uint32_t perms = a.perms;
    if (a.exec_if && (is_dir || had_exec)) perms |= 0111;
    if (a.copy) {
      uint32_t c = a.copy == 'u' ? (bits >> 6) & 7 : a.copy == 'g' ? (bits >> 3) & 7 : bits & 7;
      perms = c * 0111;
    }
    perms &= a.who;
    switch (a.op) {
      case '+':
        bits |= perms;
        break;
      case '-':
        bits &= ~perms;
        break;
      default:
        bits = (bits & ~a.who) | perms;
        break;
    }
  }
  return bits;
}

Status copy_files(util::TreeFs& src, util::TreeFs& dst, const CopyRequest& request) {
  std::optional<dockerfile::IgnoreMatcher> excludes = TRY(copy_detail::compile_excludes(request));
  copy_detail::SourceFilter filter(excludes ? &*excludes : nullptr, request.ignore);
  copy_detail::SourcePlan plan = TRY(copy_detail::plan_sources(src, request, filter));
  Copier copier(src, dst, request);
  return copier.run(plan, filter);
}

}  // namespace bonsai::build
